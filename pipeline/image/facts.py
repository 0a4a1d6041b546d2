"""What metadata an image file carries, read for `gallery inspect` and judged by `gallery audit`.

Files are read through the pipeline's one metadata reader (`metadata.read_metadata`: EXIF, XMP with
JPEG extended XMP, IPTC, ICC), and only headers: no pixel is decoded. Only regular files are
opened: a FIFO would block the reader forever, and a socket or a device is no image; each is
skipped with its reason.
"""

from __future__ import annotations

import io
import math
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageCms

from ..config.sections import Config
from ..errors import PhotoError
from ..exif_tags import EXIF_IFD, GPS_IFD, JPEG_THUMBNAIL_LENGTH, MAKER_NOTE, SERIAL_TAGS
from . import xmp
from .ingest import open_image, sniff
from .metadata import capture_time, exif_text, ifd, read_metadata

_XMP_LOCATION = re.compile(r"GPS|Latitude|Longitude|Location|City|Country|Sublocation|ProvinceState|^State$")
_XMP_SERIAL = re.compile(r"SerialNumber")
# IPTC IIM datasets that name a place: City, Sub-location, Province/State, Country code, Country.
_IPTC_LOCATION = {
    (2, 90): "City",
    (2, 92): "Sub-location",
    (2, 95): "Province-State",
    (2, 100): "Country-Code",
    (2, 101): "Country",
}


_XMP_PREFIXES = {
    xmp.DC: "dc",
    xmp.EXIF: "exif",
    xmp.EXIF_EX: "exifEX",
    xmp.AUX: "aux",
    xmp.TIFF: "tiff",
    xmp.XMP: "xmp",
    xmp.PHOTOSHOP: "photoshop",
    xmp.IPTC_CORE: "Iptc4xmpCore",
    xmp.IPTC_EXT: "Iptc4xmpExt",
}


_PHOTOSHOP_RESOURCES = 0x8649
_PHOTOSHOP_THUMBNAILS = {0x0409, 0x040C}


@dataclass(frozen=True)
class MetadataFacts:
    """What one file reveals; `error` is set when it could not be read at all."""

    path: str
    format: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    captured: str | None = None
    camera: str | None = None
    gps: list[str] = field(default_factory=list)
    location: str | None = None
    serials: list[str] = field(default_factory=list)
    maker_notes: bool = False
    thumbnail: bool = False
    icc_profile: str | None = None
    exif: bool = False
    exif_tags: int = 0
    xmp: bool = False
    xmp_location: list[str] = field(default_factory=list)
    xmp_serials: list[str] = field(default_factory=list)
    iptc: bool = False
    iptc_location: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    error: str | None = None


def read_facts(path: Path, config: Config) -> MetadataFacts:
    """Everything `inspect` shows and `audit` judges, from the file's headers."""
    if (kind := not_a_file(path)) is not None:
        return MetadataFacts(str(path), error=f"{kind}, not a regular file: skipped")
    try:
        with open_image(path, config) as image:
            return _facts(path, image)
    except PhotoError as error:
        return MetadataFacts(str(path), error=str(error))
    except OSError as error:
        return MetadataFacts(str(path), error=f"cannot be read: {error.strerror or error}")


def _facts(path: Path, image: Image.Image) -> MetadataFacts:
    metadata = read_metadata(image, path)
    exif = metadata.exif
    main = dict(exif or {})
    sub = ifd(exif, EXIF_IFD)
    gps = ifd(exif, GPS_IFD)
    gps.pop(0, None)  # GPSVersionID alone says nothing about a place
    serials = [
        f"{ExifTags.TAGS.get(tag, hex(tag))}={exif_text(value)}"
        for tag, value in (*main.items(), *sub.items())
        if tag in SERIAL_TAGS and exif_text(value)
    ]
    xmp_properties = metadata.xmp.properties() if metadata.xmp else []
    xmp_names = sorted({_xmp_name(namespace, name) for namespace, name, _ in xmp_properties})
    iptc = metadata.iptc
    icc = metadata.icc
    captured = capture_time(exif)
    strings = [exif_text(value) for value in (*main.values(), *sub.values(), *gps.values())]
    strings += [exif_text(value) for key, value in image.info.items() if key not in ("exif", "icc_profile", "xmp")]
    strings += [value for _, _, value in xmp_properties]
    strings += [exif_text(value) for value in iptc.values()]
    return MetadataFacts(
        path=str(path),
        format=image.format,
        width=image.width,
        height=image.height,
        orientation=metadata.stored_orientation,
        captured=captured.isoformat(sep=" ", timespec="milliseconds" if captured.microsecond else "seconds")
        if captured
        else None,
        camera=metadata.camera() or None,
        gps=sorted(ExifTags.GPSTAGS.get(tag, hex(tag)) for tag in gps),
        location=_coordinates(gps),
        serials=serials,
        maker_notes=MAKER_NOTE in sub,
        thumbnail=_has_thumbnail(exif, image),
        icc_profile=_profile_name(icc) if icc else None,
        exif=bool(exif),
        exif_tags=len(main) + len(sub) + len(ifd(exif, GPS_IFD)),
        xmp=metadata.xmp is not None,
        xmp_location=[name for name in xmp_names if _XMP_LOCATION.search(name.rpartition(":")[2])],
        xmp_serials=[name for name in xmp_names if _XMP_SERIAL.search(name)],
        iptc=bool(iptc),
        iptc_location=[label for key, label in _IPTC_LOCATION.items() if iptc.get(key)],
        text=[value for value in strings if value.strip()],
    )


def _xmp_name(namespace: str, name: str) -> str:
    """`exif:GPSLatitude`: a property under the prefix people know for its namespace, whatever the file used."""
    return f"{_XMP_PREFIXES.get(namespace, namespace)}:{name}"


def _has_thumbnail(exif: Image.Exif | None, image: Image.Image) -> bool:
    """An EXIF IFD1 preview, a Photoshop thumbnail, extra images in a JPEG's MPF block, or a HEIF thumbnail item."""
    if ifd(exif, ExifTags.IFD.IFD1).get(JPEG_THUMBNAIL_LENGTH):
        return True
    info = image.info
    photoshop = info.get("photoshop") or {}  # JPEG: Photoshop image resources by id
    tiff_resources = getattr(image, "tag_v2", {}).get(_PHOTOSHOP_RESOURCES)  # TIFF: the same, raw
    return (
        bool(_PHOTOSHOP_THUMBNAILS & set(photoshop))
        or (
            isinstance(tiff_resources, bytes)
            and any(b"8BIM" + r.to_bytes(2) in tiff_resources for r in _PHOTOSHOP_THUMBNAILS)
        )
        or bool(info.get("thumbnails"))
        or bool(info.get("mpoffset"))
    )


def _coordinates(gps: dict[int, Any]) -> str | None:
    """`48.85837 N, 2.29448 E`; None without two real coordinates (0/0 placeholders read as NaN)."""
    try:
        latitude, longitude = (_degrees(gps[tag]) for tag in (2, 4))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if math.isnan(latitude) or math.isnan(longitude):
        return None
    north, east = exif_text(gps.get(1)) or "N", exif_text(gps.get(3)) or "E"
    return f"{latitude:.5f} {north}, {longitude:.5f} {east}"


def _degrees(value: Any) -> float:
    degrees, minutes, seconds = (float(part) for part in value)
    return degrees + minutes / 60 + seconds / 3600


def _profile_name(icc: bytes) -> str:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.getProfileDescription(profile).strip() or "unnamed profile"
    except (ImageCms.PyCMSError, OSError, ValueError):
        return "unreadable profile"


def published_images(site: Path) -> Iterator[tuple[Path, str | None]]:
    """Image files under `site`, recognised by content, skipping dot-folders such as .git: `(path,
    None)` for each image, `(path, reason)` for a FIFO, socket or device, which is not opened."""
    for path in sorted(site.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(site).parts) or path.is_dir():
            continue
        if (kind := not_a_file(path)) is not None:
            yield path, f"{kind}, not a regular file: skipped"
            continue
        try:
            with path.open("rb") as handle:
                head = handle.read(64)
        except OSError as error:  # a broken link, a file this user may not read
            yield path, f"cannot be read: {error.strerror or error}; skipped"
            continue
        if sniff(head) is not None:
            yield path, None


def not_a_file(path: Path) -> str | None:
    """What `path` is when it is not a regular file ("a FIFO", ...); None for a regular file or
    one that cannot be found (its reader says why)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))
    return next((name for test, name in kinds if test(mode)), "a device")
