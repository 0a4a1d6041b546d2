"""Whether a file that stopped growing holds a whole image: watch mode's last check before a file
counts as arrived."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ..config.sections import Config
from ..errors import PhotoError
from . import ingest

# How a complete file of each format ends (trailing zero padding aside).
_LAST_BYTES = {"jpeg": b"\xff\xd9", "png": b"IEND\xaeB`\x82", "gif": b";"}


def is_whole_image(path: Path, config: Config) -> bool:
    """Whether a file that stopped growing holds a whole image rather than the start of an upload.

    Files that are not images by content pass: `process` says what they are. Most formats show
    completeness in their structure: JPEG ends with its end-of-image marker, PNG with its IEND
    chunk, GIF with its trailer; WebP's header and HEIF/AVIF's boxes give the file's length.
    Anything else (TIFF, a JPEG with data appended such as a motion photo) is decoded, JPEG at
    1/8 scale, which still reads every byte of the compressed data.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(64)
            handle.seek(max(0, size - 64))
            tail = handle.read(64)
        kind = ingest.sniff(head)
        if kind is None:
            return True
        if kind in ("heif", "avif"):
            return _boxes_fill_file(path)
        if kind == "webp":
            return int.from_bytes(head[4:8], "little") + 8 <= size
        ending = _LAST_BYTES.get(kind)
        if ending and tail.rstrip(b"\x00").endswith(ending):
            return True
        if kind == "gif":
            return False  # Pillow decodes only the first frame: no proof that the others are there
        with ingest.open_image(path, config) as image:
            image.draft(image.mode, (image.width // 8, image.height // 8))
            image.load()
        return True
    except (PhotoError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return False


def _boxes_fill_file(path: Path) -> bool:
    """An ISO-BMFF file (HEIF, AVIF) is a chain of sized boxes; a cut-off file ends inside the last one."""
    size = path.stat().st_size
    offset = 0
    with path.open("rb") as handle:
        while offset < size:
            handle.seek(offset)
            header = handle.read(16)
            if len(header) < 8:
                return False
            length = int.from_bytes(header[:4], "big")
            if length == 1 and len(header) == 16:
                length = int.from_bytes(header[8:16], "big")
            elif length == 0:
                return True  # the last box runs to the end of the file
            if length < 8:
                return False
            offset += length
    return offset == size
