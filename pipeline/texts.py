"""Where each photo's alt, title and caption text come from, and a lint for alt text.

Per photo and per field, the first non-empty text wins: the sidecar `captions.toml` a person
wrote in the source folder, then text embedded in the photo (XMP, EXIF, IPTC), then the
templates of `[text]` in the config. Embedded text is untrusted input from cameras and editors:
it is cleaned (control characters removed, whitespace collapsed, length capped) and camera
boilerplate such as "OLYMPUS DIGITAL CAMERA" is ignored.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import ConfigError
from .model import TEXT_FIELDS, Captions, PhotoResult, PhotoText, Problem
from .names import display_name, one_line

CAPTIONS_FILE = "captions.toml"
ORDER_KEY = "order"  # top level: file names published first, in this order
SKIP_KEY = "skip"  # per photo: true leaves it out of everything published
FIELDS = TEXT_FIELDS
TEMPLATE_FIELDS = ("title", "number", "count", "filename", "date")
MAX_TEXT = 1000  # characters kept of any one text; alt text is linted far below this
ALT_LIMIT = 150  # screen readers read alt text in one go; longer belongs in the caption

# Descriptions cameras and phones write by themselves. Compared case-insensitively, whitespace collapsed.
CAMERA_BOILERPLATE = frozenset(
    {
        "olympus digital camera",
        "sony dsc",
        "digital camera",
        "konica minolta digital camera",
        "minolta digital camera",
        "kodak digital still camera",
        "fujifilm digital camera",
        "hp digital camera",
        "exif_jpeg_picture",
        "samsung",
        "lg electronics",
        "default",
        "camera",
        "image",
        "picture",
        "photo",
        "untitled",
    }
)
# Looks like a camera file name: IMG_1234, DSC01234, P1010001, 20240623_101512, PXL_20240623_101512123.jpg
_FILE_NAME_LIKE = re.compile(r"[A-Za-z_]{0,8}[_-]?\d{4,}(?:[_-]\w*)?(?:\.[A-Za-z0-9]{2,5})?")
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}


def clean_text(value: object) -> str:
    """Untrusted text made safe to publish: one line, no control or format characters, capped."""
    if isinstance(value, bytes):
        text = decode_text(value)
    elif isinstance(value, str):
        text = value
    else:
        return ""
    visible = "".join(" " if unicodedata.category(ch) in _INVISIBLE else ch for ch in text)
    return " ".join(visible.split())[:MAX_TEXT].strip()


def decode_text(data: bytes) -> str:
    """Bytes from a file's metadata as text: UTF-8 when they are, else Latin-1 (never fails)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def meaningful(text: str) -> str:
    """The text, or "" when it is camera boilerplate or a file name rather than a description."""
    if not text or text.casefold() in CAMERA_BOILERPLATE or looks_like_file_name(text, ""):
        return ""
    return text if any(ch.isalnum() for ch in text) else ""


def looks_like_file_name(text: str, filename: str) -> bool:
    """`IMG_1234`, `DSC01234.JPG` or the photo's own file name: not a description of the photo."""
    stem = Path(filename).stem.casefold()
    folded = text.casefold()
    return bool(_FILE_NAME_LIKE.fullmatch(text)) or (bool(stem) and folded in (stem, filename.casefold()))


def embedded_text(descriptions: Sequence[object], titles: Sequence[object]) -> PhotoText:
    """Description and title a photo carries, from the places the metadata reader lists, most trusted
    first (XMP, then EXIF, then IPTC). The description becomes alt text and caption."""
    description = _first_meaningful(*descriptions)
    return PhotoText(alt=description, title=_first_meaningful(*titles), caption=description)


def _first_meaningful(*values: object) -> str:
    return next((text for text in map(meaningful, map(clean_text, values)) if text), "")


# templates and precedence -------------------------------------------------------------------


def fill_template(template: str, **values: object) -> str:
    """Fill `{title}`-style placeholders; a misspelt placeholder is a config error, not a crash."""
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"text template {template!r} is invalid ({error}); placeholders: "
            + ", ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
        ) from None


def photo_text(written: PhotoText, embedded: PhotoText, templates: tuple[str, str], **values: object) -> PhotoText:
    """Per field, the first text that exists: what a person wrote in captions.toml, then what the
    photo carries, then the `[text]` templates (alt, title) filled with `values`."""
    alt, title = (fill_template(template, **values) for template in templates)
    return written.or_else(embedded).or_else(PhotoText(alt, title))


# captions.toml ------------------------------------------------------------------------------


def load_captions(source: Path) -> Captions:
    """What a person wrote in SOURCE/captions.toml: texts keyed by original file name, the photos
    marked `skip = true`, and the top-level `order` list (all empty without a file).

    A malformed file is a ConfigError that names the file and the line, so nothing is published
    with half of the captions silently missing.
    """
    path = source / CAPTIONS_FILE
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        return Captions()
    except OSError as error:
        raise ConfigError(f"{path} cannot be read: {error.strerror or error}") from None
    try:
        text = raw_bytes.decode("utf-8")
        document = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    order = document.pop(ORDER_KEY, [])
    if not isinstance(order, list) or not all(isinstance(name, str) for name in order):
        raise ConfigError(
            f'{path}, line {_line_of(text, ORDER_KEY)}: order must be a list of file names, ["a.jpg", ...]'
        )
    captions, skip = {}, set()
    for name, entry in document.items():
        where = f"{path}, line {_line_of(text, name)}"
        if not isinstance(entry, dict):
            raise ConfigError(f'{where}: {name!r} must be a table such as ["{name}"] with alt, title, caption')
        for key, value in entry.items():
            if isinstance(value, dict):  # [IMG_1.jpg] unquoted is the table "IMG_1" holding a table "jpg"
                raise ConfigError(f'{where}: put file names in quotes: ["{name}.{key}"]')
            if key == SKIP_KEY:
                if not isinstance(value, bool):
                    raise ConfigError(f"{where}: {name!r} skip must be true or false, got {value!r}")
                continue
            if key not in FIELDS:
                known = ", ".join((*FIELDS, SKIP_KEY))
                raise ConfigError(f"{where}: unknown key {key!r} for {name!r}; known: {known}")
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {name!r} {key} must be text in quotes, got {value!r}")
        captions[name] = PhotoText(*(clean_text(entry.get(field, "")) for field in FIELDS))
        if entry.get(SKIP_KEY) is True:
            skip.add(name)
    return Captions(captions, frozenset(skip), tuple(order))


def _line_of(text: str, name: str) -> int:
    """Line of the first mention of a photo's name, to point the person at the entry."""
    for number, line in enumerate(text.splitlines(), start=1):
        if name in line:
            return number
    return 1


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = []
    for ch in text:
        if ch in '"\\':
            escaped.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            escaped.append(f"\\u{ord(ch):04x}")
        else:
            escaped.append(ch)
    return '"' + "".join(escaped) + '"'


CAPTIONS_HEADER = """\
# Alt text, title and caption per photo, keyed by file name. Written by `gallery captions`, which
# adds entries for new photos and never changes what is already here.
# alt:     what the photo shows, for people who cannot see it (one sentence, under 150 characters).
# title:   the tooltip; caption: visible text under the photo (with a caption style).
# An empty value falls back to text embedded in the photo, then to the [text] templates of the config.
"""


def captions_entry(name: str, known: PhotoText, note: str, skip: bool = False) -> str:
    """One `["file.jpg"]` table, pre-filled with what is known; `skip = true` when asked to leave it out.

    `name` is the photo's `display_name`. The note is a TOML comment, which ends at a line break: it is
    written through `one_line`, so no file name in it can start a line of its own (a key, a table).
    """
    lines = [f"[{toml_string(name)}]  # {one_line(note)}" if note else f"[{toml_string(name)}]"]
    lines += [f"{field} = {toml_string(getattr(known, field))}" for field in FIELDS]
    lines += [f"{SKIP_KEY} = true"] if skip else []
    return "\n".join(lines) + "\n"


def merge_captions(existing: str | None, entries: Iterable[tuple[str, str]]) -> str:
    """Append `(name, table)` entries to a captions file, keeping every existing byte as written."""
    text = existing if existing is not None else CAPTIONS_HEADER
    additions = "".join(f"\n{table}" for _, table in entries)
    if not additions:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + additions


# alt-text lint ------------------------------------------------------------------------------

HINT = "write one in captions.toml (`gallery captions SOURCE` creates it)"


def lint_alt(photos: list[tuple[str, str]]) -> list[tuple[str | None, str]]:
    """Problems with alt text as (file name or None for the whole set, one-line message with a hint).

    Checks: missing alt, alt that is a file name, alt over ALT_LIMIT characters, and the same alt
    on most photos of the set (the default, the post title on every photo, describes none of them).
    """
    problems: list[tuple[str | None, str]] = []
    for filename, alt in photos:
        if not alt.strip():
            problems.append((filename, f"no alt text; {HINT}"))
        elif looks_like_file_name(alt, filename):
            problems.append((filename, f"alt text {alt!r} is a file name, not a description; {HINT}"))
        elif len(alt) > ALT_LIMIT:
            problems.append(
                (
                    filename,
                    f"alt text is {len(alt)} characters (over {ALT_LIMIT}); shorten it and move the rest "
                    "to `caption` in captions.toml",
                )
            )
    counts = Counter(alt for _, alt in photos if alt.strip())
    if counts and len(photos) >= 2:
        alt, shared = counts.most_common(1)[0]
        if shared * 2 > len(photos) and shared >= 2:
            scope = "every photo" if shared == len(photos) else f"{shared} of {len(photos)} photos"
            problems.append(
                (
                    None,
                    f"the same alt text {alt!r} on {scope}; describe each photo in captions.toml "
                    "(`gallery captions SOURCE` creates it)",
                )
            )
    return problems


def alt_problems(photos: Sequence[PhotoResult], source: Path, captions: Captions) -> list[Problem]:
    """The alt-text lint as problems for stderr, plus captions.toml entries that match no photo."""
    problems = [
        Problem(source / filename if filename else source, message)
        for filename, message in lint_alt([(display_name(photo.source), photo.alt) for photo in photos])
    ]
    # A name that matches no photo would silently lose a person's text: usually a typo or a rename.
    present = {display_name(photo.source) for photo in photos} | captions.skip
    for filename in sorted((set(captions.texts) | set(captions.order)) - present):
        if (source / filename).exists():
            continue  # a photo that failed, or was left out: its own message says why
        problems.append(
            Problem(source / CAPTIONS_FILE, f"entry {filename!r} matches no photo in the folder (renamed?)")
        )
    return problems
