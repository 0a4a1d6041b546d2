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
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, IptcImagePlugin

from .config import ConfigError

CAPTIONS_FILE = "captions.toml"
FIELDS = ("alt", "title", "caption")
MAX_TEXT = 1000  # characters kept of any one text; alt text is linted far below this
MAX_XMP = 1 << 20  # bytes of XMP parsed; a larger packet is not a description anyone wrote
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
_DC = "{http://purl.org/dc/elements/1.1/}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_IPTC_CAPTION = (2, 120)
_IPTC_OBJECT_NAME = (2, 5)
_IPTC_CHARSET = (1, 90)
_UTF8_ESCAPE = b"\x1b%G"
# Looks like a camera file name: IMG_1234, DSC01234, P1010001, 20240623_101512, PXL_20240623_101512123.jpg
_FILE_NAME_LIKE = re.compile(r"[A-Za-z_]{0,8}[_-]?\d{4,}(?:[_-]\w*)?(?:\.[A-Za-z0-9]{2,5})?")
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}


@dataclass(frozen=True)
class PhotoText:
    """Alt, title and caption of one photo; an empty field means 'not known here'."""

    alt: str = ""
    title: str = ""
    caption: str = ""

    def or_else(self, fallback: PhotoText) -> PhotoText:
        """Per field, this text when non-empty, else the fallback's."""
        return PhotoText(*(getattr(self, name) or getattr(fallback, name) for name in FIELDS))

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> PhotoText:
        """Back from `as_dict` (the state record); anything unexpected reads as empty."""
        return cls(*(value if isinstance(value := values.get(name), str) else "" for name in FIELDS))


def clean_text(value: object) -> str:
    """Untrusted text made safe to publish: one line, no control or format characters, capped."""
    if isinstance(value, bytes):
        text = _decode(value)
    elif isinstance(value, str):
        text = value
    else:
        return ""
    visible = "".join(" " if unicodedata.category(ch) in _INVISIBLE else ch for ch in text)
    return " ".join(visible.split())[:MAX_TEXT].strip()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _repair_latin1(text: object) -> object:
    """EXIF strings are often UTF-8 that was read as Latin-1; repair them when the bytes say so."""
    if not isinstance(text, str):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


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


def embedded_text(image: Image.Image, exif: Image.Exif | None) -> PhotoText:
    """Description and title embedded in a photo, read from its header without decoding pixels.

    Description: XMP dc:description, else EXIF ImageDescription, else IPTC Caption-Abstract; it
    becomes alt text and caption. Title: XMP dc:title, else IPTC ObjectName.
    """
    xmp_description, xmp_title = _xmp_texts(image)
    iptc = _iptc(image)
    exif_description = _repair_latin1(exif.get(0x010E)) if exif is not None else None
    description = _first_meaningful(xmp_description, exif_description, iptc.get(_IPTC_CAPTION))
    title = _first_meaningful(xmp_title, iptc.get(_IPTC_OBJECT_NAME))
    return PhotoText(alt=description, title=title, caption=description)


def _first_meaningful(*values: object) -> str:
    return next((text for text in map(meaningful, map(clean_text, values)) if text), "")


def _xmp_texts(image: Image.Image) -> tuple[str, str]:
    packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    if not isinstance(packet, bytes) or len(packet) > MAX_XMP:
        return "", ""
    try:
        root = ElementTree.fromstring(packet.strip(b"\x00 \t\r\n"))
    except ElementTree.ParseError:
        return "", ""
    return _xmp_alternative(root, "description"), _xmp_alternative(root, "title")


def _xmp_alternative(root: ElementTree.Element, name: str) -> str:
    """The x-default (else the first) language alternative of dc:NAME."""
    for element in root.iter(f"{_DC}{name}"):
        items = list(element.iter(f"{_RDF}li"))
        preferred = [li for li in items if li.get(_XML_LANG) == "x-default"] or items
        for li in preferred:
            if li.text and li.text.strip():
                return li.text
        if element.text and element.text.strip():
            return element.text
    return ""


def _iptc(image: Image.Image) -> dict[tuple[int, int], str]:
    try:
        raw = IptcImagePlugin.getiptcinfo(image) or {}
    except Exception:  # malformed IPTC blocks raise anything from SyntaxError to IndexError
        return {}
    utf8 = raw.get(_IPTC_CHARSET) == _UTF8_ESCAPE
    texts = {}
    for key in (_IPTC_CAPTION, _IPTC_OBJECT_NAME):
        value = raw.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, bytes):
            texts[key] = value.decode("utf-8", "replace") if utf8 else _decode(value)
    return texts


# captions.toml ------------------------------------------------------------------------------


def load_captions(source: Path) -> dict[str, PhotoText]:
    """What a person wrote in SOURCE/captions.toml, keyed by original file name ({} without one).

    A malformed file is a ConfigError that names the file and the line, so nothing is published
    with half of the captions silently missing.
    """
    path = source / CAPTIONS_FILE
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"{path} cannot be read: {error.strerror or error}") from None
    try:
        text = raw_bytes.decode("utf-8")
        document = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    captions = {}
    for name, entry in document.items():
        where = f"{path}, line {_line_of(text, name)}"
        if not isinstance(entry, dict):
            raise ConfigError(f'{where}: {name!r} must be a table such as ["{name}"] with alt, title, caption')
        for key, value in entry.items():
            if isinstance(value, dict):  # [IMG_1.jpg] unquoted is the table "IMG_1" holding a table "jpg"
                raise ConfigError(f'{where}: put file names in quotes: ["{name}.{key}"]')
            if key not in FIELDS:
                raise ConfigError(f"{where}: unknown key {key!r} for {name!r}; known: {', '.join(FIELDS)}")
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {name!r} {key} must be text in quotes, got {value!r}")
        captions[name] = PhotoText(*(clean_text(entry.get(field, "")) for field in FIELDS))
    return captions


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


def captions_entry(name: str, known: PhotoText, note: str) -> str:
    """One `["file.jpg"]` table, pre-filled with what is known."""
    lines = [f"[{toml_string(name)}]  # {note}" if note else f"[{toml_string(name)}]"]
    lines += [f"{field} = {toml_string(getattr(known, field))}" for field in FIELDS]
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
