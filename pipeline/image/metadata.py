"""The one metadata reader: what a file's headers say (EXIF, XMP, IPTC, ICC), without decoding pixels.

Ingest (orientation, capture time, embedded texts), render (the EXIF to publish), `inspect`, `audit`
and `preview` all read through here. Metadata is untrusted input: every read tolerates malformed
data and reports it as missing instead of failing, because the pixels of such a photo are usually fine.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import Image, IptcImagePlugin

from ..exif_tags import (
    BODY_SERIAL_NUMBER,
    DATETIME,
    DATETIME_DIGITIZED,
    DATETIME_ORIGINAL,
    EXIF_IFD,
    IMAGE_DESCRIPTION,
    MAKE,
    MODEL,
    OFFSET_TIME,
    OFFSET_TIME_DIGITIZED,
    OFFSET_TIME_ORIGINAL,
    ORIENTATION,
    SUBSEC_TIME_ORIGINAL,
)
from ..text.clean import decode_text
from . import xmp

IPTC_OBJECT_NAME = (2, 5)
IPTC_CAPTION = (2, 120)
_IPTC_CHARSET = (1, 90)
_UTF8_ESCAPE = b"\x1b%G"
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class FileMetadata:
    """Everything one file's headers carry, parsed once.

    `exif` is Pillow's parse (None when missing or unreadable) and `exif_block` the raw block it
    came from; `xmp` joins every packet (a JPEG's extended XMP included); `iptc` maps IIM
    (record, dataset) to its values; `orientation` is what to apply to the decoded pixels, and
    `stored_orientation` what the file declares (pillow-heif applies a HEIF's own rotation on open).
    """

    exif: Image.Exif | None
    exif_block: bytes | None
    xmp: xmp.Xmp | None
    iptc: dict[tuple[int, int], list[bytes]] = field(default_factory=dict)
    icc: bytes | None = None
    orientation: int = 1
    stored_orientation: int | None = None

    @property
    def exif_unreadable(self) -> bool:
        """An EXIF block is there but Pillow could not parse a single tag from it."""
        return not self.exif and bool(self.exif_block)

    def iptc_text(self, key: tuple[int, int]) -> str | None:
        """The first value of an IPTC dataset as text, in the block's declared character set."""
        values = self.iptc.get(key)
        if not values:
            return None
        utf8 = _UTF8_ESCAPE in self.iptc.get(_IPTC_CHARSET, [b""])[0]
        return values[0].decode("utf-8", "replace") if utf8 else decode_text(values[0])

    def xmp_text(self, namespace: str, name: str) -> str:
        return self.xmp.text(namespace, name) if self.xmp else ""

    def descriptions(self) -> tuple[object, ...]:
        """Where a description may be, most trusted first: XMP dc:description, EXIF, IPTC caption."""
        exif_description = _repair_latin1(self.exif.get(IMAGE_DESCRIPTION)) if self.exif is not None else None
        return (self.xmp_text(xmp.DC, "description"), exif_description, self.iptc_text(IPTC_CAPTION))

    def camera(self) -> str:
        """`Canon EOS R5`: the model, prefixed by the make unless the model already names it."""
        make, model = (exif_text(self.exif.get(tag)) if self.exif is not None else "" for tag in (MAKE, MODEL))
        return model if model.casefold().startswith(make.casefold().split(" ")[0]) else f"{make} {model}".strip()

    def serial(self) -> str:
        """A digest of the camera body's serial number ("" without one): enough to match
        `time.offsets`, and the number itself is never kept, not even in the record."""
        return serial_digest(exif_text(ifd(self.exif, EXIF_IFD).get(BODY_SERIAL_NUMBER)))

    def titles(self) -> tuple[object, ...]:
        """Where a title may be: XMP dc:title, IPTC ObjectName."""
        return (self.xmp_text(xmp.DC, "title"), self.iptc_text(IPTC_OBJECT_NAME))


def read_metadata(image: Image.Image, path: Path, texts: bool = True) -> FileMetadata:
    """Read an opened image's headers; `path` is read again only to find XMP that Pillow does not expose.

    Without `texts`, XMP and IPTC (descriptions, titles, places) are left unread: rendering needs
    only the EXIF, the orientation and the colour profile, and is spared reading the file again.
    """
    exif = read_exif(image)
    block = image.info.get("exif")
    original = image.info.get("original_orientation")  # HEIF: pillow-heif applied irot and reset EXIF
    stored = original if isinstance(original, int) else (orientation(exif) if exif else None)
    return FileMetadata(
        exif=exif,
        exif_block=block if isinstance(block, bytes) else None,
        xmp=_read_xmp(image, path) if texts else None,
        iptc=_read_iptc(image) if texts else {},
        icc=image.info.get("icc_profile") or None,
        orientation=orientation(exif),
        stored_orientation=stored,
    )


def read_exif(image: Image.Image) -> Image.Exif | None:
    """The image's EXIF as Pillow parses it, or None when it is missing or unreadable.

    pillow-heif has already applied a HEIF's irot/imir and reset Orientation to 1 here, so the
    value read from this object never rotates a HEIF photo a second time.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about damage it skips; callers report it
            exif = image.getexif()
            exif.get_ifd(EXIF_IFD)  # parse the sub-IFD now, so damage shows up here and not later
    except Exception:
        return None
    return exif


def ifd(exif: Image.Exif | None, tag: int) -> dict[int, Any]:
    """One sub-IFD of the EXIF as a dict; {} when absent or damaged."""
    try:
        return dict(exif.get_ifd(tag)) if exif is not None else {}
    except Exception:
        return {}


def _read_xmp(image: Image.Image, path: Path) -> xmp.Xmp | None:
    """A JPEG's standard and extended XMP from its segments; Pillow's packet for other formats; else
    a search of the file's bytes (GIF and others whose XMP Pillow does not expose)."""
    if image.format in ("JPEG", "MPO"):
        app1 = (payload for marker, payload in getattr(image, "applist", []) if marker == "APP1")
        packets: Sequence[bytes | str] = xmp.packets(app1)
    else:
        packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
        packets = [packet] if isinstance(packet, (bytes, str)) and packet else []
    if not packets:
        try:
            packets = xmp.find_packets(path.read_bytes())
        except OSError:
            return None
    return xmp.parse_all(packets)


def _read_iptc(image: Image.Image) -> dict[tuple[int, int], list[bytes]]:
    try:
        raw = IptcImagePlugin.getiptcinfo(image) or {}  # type: ignore[arg-type]  # typed for ImageFile; reads any image's info
    except Exception:  # malformed IPTC blocks raise anything from SyntaxError to IndexError
        return {}
    found: dict[tuple[int, int], list[bytes]] = {}
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        found[key] = [v for v in values if isinstance(v, bytes)]
    return found


def serial_digest(serial: str) -> str:
    return hashlib.blake2b(serial.strip().casefold().encode(), digest_size=8).hexdigest() if serial.strip() else ""


def exif_text(value: object) -> str:
    """An EXIF value as text, trimmed of the padding and NULs cameras leave in it; bytes are read as
    UTF-8 and a list of values is joined, since cameras store text in all three forms."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif isinstance(value, (tuple, list)):
        value = " ".join(exif_text(item) for item in value)
    return str(value).replace("\x00", "").strip() if value is not None else ""


def _repair_latin1(text: object) -> object:
    """EXIF strings are often UTF-8 that was read as Latin-1; repair them when the bytes say so."""
    if not isinstance(text, str):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def orientation(exif: Image.Exif | None) -> int:
    """EXIF orientation 1-8; anything else (missing, 0, garbage) means 'as stored'."""
    value = exif.get(ORIENTATION) if exif is not None else None
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def swaps_axes(orientation: int) -> bool:
    """Orientations 5-8 turn the stored image by 90 degrees, so width and height trade places."""
    return orientation >= 5


def capture_time(exif: Image.Exif | None) -> datetime | None:
    """When the photo was taken: DateTimeOriginal with sub-seconds and offset where present.

    Falls back to DateTimeDigitized and then DateTime. With an offset the result is aware;
    without one it is the camera's wall-clock time, naive.
    """
    if exif is None:
        return None
    sub = ifd(exif, EXIF_IFD)
    for stamp_tag, offset_tag, directory in (
        (DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, sub),
        (DATETIME_DIGITIZED, OFFSET_TIME_DIGITIZED, sub),
        (DATETIME, OFFSET_TIME, exif),
    ):
        moment = _parse_exif_time(directory.get(stamp_tag))
        if moment is None:
            continue
        if stamp_tag == DATETIME_ORIGINAL:
            fraction = str(sub.get(SUBSEC_TIME_ORIGINAL) or "").strip().rstrip("\x00")
            if fraction.isdigit():
                moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
        offset = _parse_offset(sub.get(offset_tag))
        return moment.replace(tzinfo=offset) if offset is not None else moment
    return None


def _parse_exif_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other placeholders


def _parse_offset(value: object) -> timezone | None:
    match = _OFFSET.match(value.strip().rstrip("\x00")) if isinstance(value, str) else None
    if not match:
        return None
    sign = -1 if match[1] == "-" else 1
    return timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
