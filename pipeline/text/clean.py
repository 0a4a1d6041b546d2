"""Untrusted text made publishable: one line, no control characters, capped; camera boilerplate
and file names are not descriptions (the list is camera_boilerplate.txt beside this module)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from ..model import PhotoText

MAX_TEXT = 1000  # characters kept of any one text; alt text is linted far below this
# What cameras, phones and their software write into a photo's description by themselves: a list
# kept as data (one entry per line, with where it was seen), shipped inside the package.
BOILERPLATE_FILE = "camera_boilerplate.txt"
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
