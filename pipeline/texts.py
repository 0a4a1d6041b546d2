"""Where each photo's alt, title and caption text come from, and a lint for alt text.

Per photo and per field, the first non-empty text wins: the sidecar `captions.toml` a person
wrote in the source folder, then text embedded in the photo (XMP, EXIF, IPTC), then the
templates of `[text]` in the config. Embedded text is untrusted input from cameras and editors:
it is cleaned (control characters removed, whitespace collapsed, length capped) and camera
boilerplate such as "OLYMPUS DIGITAL CAMERA" is ignored (the list is data/camera_boilerplate.txt).
captions.toml's entries are matched to the photos they mean here too, for every command.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from importlib import resources
from pathlib import Path

from .errors import ConfigError
from .model import TEXT_FIELDS, Captions, PhotoResult, PhotoText, Problem
from .names import display_name, one_line

CAPTIONS_FILE = "captions.toml"
ORDER_KEY = "order"  # top level: file names published first, in this order
SKIP_KEY = "skip"  # per photo: true leaves it out of everything published
FIELDS = TEXT_FIELDS
MAX_TEXT = 1000  # characters kept of any one text; alt text is linted far below this
ALT_LIMIT = 150  # screen readers read alt text in one go; longer belongs in the caption

# What cameras, phones and their software write into a photo's description by themselves: a list
# kept as data (one entry per line, with where it was seen), shipped inside the package.
BOILERPLATE_FILE = "data/camera_boilerplate.txt"
PATTERN_PREFIX = "re:"


def _folded(text: str) -> str:
    """The form texts are compared in: case folded, whitespace runs as one space."""
    return " ".join(text.split()).casefold()


def _read_boilerplate(text: str) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """The entries of the boilerplate list: exact texts (folded) and `re:` patterns (whole text,
    any case). Lines starting with `#` say where an entry was seen."""
    exact, patterns = set(), []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry.startswith(PATTERN_PREFIX):
            patterns.append(re.compile(entry.removeprefix(PATTERN_PREFIX).strip(), re.IGNORECASE))
        else:
            exact.add(_folded(entry))
    return frozenset(exact), tuple(patterns)


_BOILERPLATE, _BOILERPLATE_PATTERNS = _read_boilerplate(
    resources.files(__package__).joinpath(BOILERPLATE_FILE).read_text(encoding="utf-8")
)


def is_boilerplate(text: str) -> bool:
    """Whether a description is what a camera writes when nobody wrote anything."""
    folded = _folded(text)
    return folded in _BOILERPLATE or any(pattern.fullmatch(folded) for pattern in _BOILERPLATE_PATTERNS)


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
    if not text or is_boilerplate(text) or looks_like_file_name(text, ""):
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


class _NoDate:
    """`{date}` of a photo without a capture date: empty, whatever the format spec asks for (and
    `{date.year}` too, so a template that works for dated photos works for all)."""

    def __format__(self, spec: str) -> str:
        return ""

    def __getattr__(self, name: str) -> _NoDate:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __str__(self) -> str:
        return ""


NO_DATE = _NoDate()
# What each placeholder is, for checking templates before a run: `{title:.40}` and `{filename}` are
# text, `{number:02d}` and `{count}` whole numbers, `{date:%d %B %Y}` a date (`{date}`: 2024-06-23).
TEMPLATE_SAMPLE: dict[str, object] = {
    "title": "Trade mission",
    "number": 7,
    "count": 12,
    "filename": "IMG_0007.JPG",
    "date": date(2024, 6, 23),
}
TEMPLATE_HELP = (
    "{title} and {filename} are text, {number} and {count} whole numbers ({number:02d} gives 07), "
    "{date} the capture date ({date:%d %B %Y} gives 23 June 2024)"
)


def fill_template(template: str, **values: object) -> str:
    """Fill `{title}`-style placeholders, with Python's format specs (`{number:02d}`); a misspelt
    placeholder or a spec its value cannot take is a config error, not a crash."""
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as error:
        raise ConfigError(f"text template {template!r} is invalid ({_reason(error)}); {TEMPLATE_HELP}") from None


def check_template(setting: str, template: str) -> None:
    """Fill a template with values of each placeholder's type, so that a wrong one fails before the
    run starts, with a message that names the setting."""
    try:
        template.format_map(TEMPLATE_SAMPLE)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as error:
        raise ConfigError(f"{setting} = {template!r} cannot be filled: {_reason(error)}; {TEMPLATE_HELP}") from None


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"there is no placeholder {{{error.args[0]}}}"
    return str(error) or type(error).__name__


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


def match_captions(written: Captions, source: Path, photos: Collection[str], others: Collection[str]) -> Captions:
    """captions.toml's entries keyed by the photos they mean, with notes on the entries that needed
    a guess or matched nothing. Texts, `skip` and `order` are all matched here, for every command.

    `photos` and `others` are display names (names.display_name) of the photos of the plan and of
    the folder's other files. An entry means the file of exactly its name; else the one file whose
    name differs from it only in case or Unicode form (with a note, since the entry is misspelt);
    two such files make the entry ambiguous: it means neither. An entry for another file (a photo
    that cannot be read, a duplicate) means nothing, without a note: that file's own message says
    why. Every other entry matches nothing, which is said: above all for `skip`, where the photo the
    person wanted left out would otherwise be published without a word.
    """
    path, wanted = source / CAPTIONS_FILE, frozenset(photos)
    exact: dict[str, list[str]] = defaultdict(list)
    loose: dict[str, list[str]] = defaultdict(list)
    for name in sorted({*photos, *others}):
        exact[name].append(name)
        loose[_loose(name)].append(name)
    notes: list[Problem] = []

    def meant(entry: str, unmatched: str, claimed: Collection[str] = ()) -> str | None:
        found = exact.get(unicodedata.normalize("NFC", entry)) or loose.get(_loose(entry), [])
        if not found:
            notes.append(Problem(path, unmatched))
            return None
        if len(found) > 1:
            files = " and ".join(found)
            ambiguous = f"entry {entry!r} could mean {files}, whose names differ only in case; it is used for neither"
            notes.append(Problem(path, f"{ambiguous}: write the file name exactly as it is"))
            return None
        name = found[0]
        if name in claimed:
            notes.append(Problem(path, f"entry {entry!r} means {name}, which has an entry of its own; it is ignored"))
            return None
        if name != unicodedata.normalize("NFC", entry):
            notes.append(Problem(path, f"entry {entry!r} is taken to mean {name}; write the name as the file has it"))
        return name if name in wanted else None

    texts: dict[str, PhotoText] = {}
    skip = set()
    # Entries that name a file exactly come first: a misspelt second entry never displaces one.
    by_exact_name = sorted(written.texts.items(), key=lambda item: unicodedata.normalize("NFC", item[0]) not in exact)
    for entry, text in by_exact_name:
        left_out = ": nothing was left out (skip = true)" if entry in written.skip else ""
        matched = meant(entry, f"entry {entry!r} matches no photo in the folder (renamed?){left_out}", texts)
        if matched is not None:
            texts[matched] = text
            if entry in written.skip:
                skip.add(matched)
    order = (meant(entry, f"order: {entry!r} matches no photo in the folder (renamed?)") for entry in written.order)
    return Captions(texts, frozenset(skip), tuple(name for name in order if name), tuple(notes))


def _loose(name: str) -> str:
    """A file name as a person may write it: any case, any Unicode normal form."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", name).casefold())


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
    """The alt-text lint as problems for stderr, then what matching captions.toml's entries to the
    photos found (entries that match no photo, or needed a guess: see `match_captions`)."""
    problems = [
        Problem(source / filename if filename else source, message)
        for filename, message in lint_alt([(display_name(photo.source), photo.alt) for photo in photos])
    ]
    return problems + list(captions.notes)
