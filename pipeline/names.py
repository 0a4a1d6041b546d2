"""Names: what turns text from people, cameras or file systems into a file name or a URL (the set's
slug, each photo's stem and output files, their URLs), and a file name or untrusted text into text
that is safe to write (`display_name`, `utf8_text`: valid UTF-8 with `\\xNN` for undecodable bytes;
`one_line`: one line of a terminal). Every command names a set and its files the same way.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

from .model import Role


def slugify(text: str) -> str:
    """A file-name stem safe in URLs and on every file system: `Trade Mission 2024` -> `trade-mission-2024`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:100].rstrip("-") or "photos"


def display_name(path: Path) -> str:
    """A file or folder name as text for people and markup: valid UTF-8, NFC.

    Linux names are bytes; bytes that are not UTF-8 (a camera card, an old archive) are written as
    `\\xNN`, so the name stays valid UTF-8 in every manifest, page and TOML file and still tells
    the file apart from its neighbours.
    """
    return as_text(path.name)


def display_path(path: Path) -> str:
    """A whole path as text, by the rule of `display_name`: for JSON and messages that name a file."""
    return as_text(str(path))


def as_text(name: str) -> str:
    """A name from the file system (surrogate escapes for undecodable bytes) as valid UTF-8 text, NFC."""
    return unicodedata.normalize("NFC", utf8_text(name))


def utf8_text(text: str) -> str:
    """Text that can be written as UTF-8: undecodable bytes of a name (Python's surrogate escapes) as
    `\\xNN`, everything else as it was."""
    if not _SURROGATE.search(text):
        return text
    try:
        data = os.fsencode(text)
    except UnicodeEncodeError:  # a surrogate that no file system decoding made: keep its code point
        data = text.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "backslashreplace")


def one_line(text: str) -> str:
    """Untrusted text made safe for one line of a terminal or a comment.

    Control characters (line breaks, escape sequences, DEL, C1), line and paragraph separators,
    bidirectional overrides and undecodable bytes are written as `\\xNN` or `\\uNNNN`, so a file
    name or a camera's text cannot forge a line, recolour a terminal or reorder what it shows.
    """
    if not _NEEDS_ESCAPE.search(text):
        return text
    return "".join(_ESCAPES.get(ch, ch) for ch in utf8_text(text))


_UNICODE_CONTROLS = ("\u2028", "\u2029", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)))
_ESCAPES = {chr(code): f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES |= {ch: f"\\u{ord(ch):04x}" for ch in _UNICODE_CONTROLS}
_SURROGATE = re.compile("[\\ud800-\\udfff]")
_NEEDS_ESCAPE = re.compile(f"[{re.escape(''.join(_ESCAPES))}\\ud800-\\udfff]")


def default_title(folder_name: str) -> str:
    """`trade_mission-japan` -> `Trade mission japan`: a readable title when none is configured."""
    words = re.sub(r"[_\-]+", " ", folder_name).strip()
    return words[:1].upper() + words[1:] if words else "Photos"


def output_stem(name: str, number: int, count: int) -> str:
    """`name-07`: two digits at least, wider when a set has more than 99 photos."""
    return f"{name}-{number:0{max(2, len(str(count)))}d}"


def output_filename(stem: str, role: Role, width: int, extension: str) -> str:
    """`stem.jpeg` (main), `stem-0960w.webp` (variant), `stem-thumb.webp` (thumbnail).

    Variant widths are zero-padded to four digits so names sort by size; the three suffixes never
    overlap, so no two outputs of a set can share a name.
    """
    suffix = {"main": "", "variant": f"-{width:04d}w", "thumbnail": "-thumb"}[role]
    return f"{stem}{suffix}{extension}"


def output_url(prefix: str, filename: str) -> str:
    """Join the configured prefix (may hold Liquid such as `{{ site.baseurl }}`) and a file name.

    A URL always uses forward slashes, whatever the platform's path separator. An empty prefix
    gives a URL relative to the page (a Hugo page bundle's images sit beside the page).
    """
    if not prefix:
        return quote(filename)
    return f"{prefix.replace(chr(92), '/').rstrip('/')}/{quote(filename)}"
