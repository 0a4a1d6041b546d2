"""Names that reach paths and URLs: the set's slug, each photo's stem and output files, their URLs.

Everything that turns text from people, cameras or file systems into a file name or a URL is here,
so every command names a set and its files the same way.
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

    Linux names are bytes; one that is not UTF-8 (a camera card, an old archive) would otherwise
    carry surrogate escapes that cannot be written to a UTF-8 manifest or page.
    """
    return unicodedata.normalize("NFC", os.fsencode(path.name).decode("utf-8", "replace"))


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
