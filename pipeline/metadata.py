"""Stage 2, metadata: orientation, capture time, colour profiles and what metadata is published.

Metadata is untrusted input: every read here tolerates malformed EXIF and reports it instead of
failing, because the pixels of a photo with broken EXIF are usually fine.
"""

from __future__ import annotations

import difflib
import io
import re
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from PIL import ExifTags, Image, ImageCms, ImageMath, TiffImagePlugin, TiffTags

from .config import ConfigError, MetadataSettings

ORIENTATION = 0x0112
DATETIME = 0x0132
EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003
DATETIME_DIGITIZED = 0x9004
OFFSET_TIME = 0x9010
OFFSET_TIME_ORIGINAL = 0x9011
OFFSET_TIME_DIGITIZED = 0x9012
SUBSEC_TIME_ORIGINAL = 0x9291
GPS_IFD = 0x8825
INTEROP_IFD = 0xA005
MAKER_NOTE = 0x927C
JPEG_THUMBNAIL_OFFSET = 0x0201
JPEG_THUMBNAIL_LENGTH = 0x0202
# BodySerialNumber, LensSerialNumber, and DNG's CameraSerialNumber.
SERIAL_TAGS = frozenset({0xA431, 0xA435, 0xC62F})
_POINTERS = frozenset({EXIF_IFD, GPS_IFD, INTEROP_IFD})
# Tags that describe a TIFF's layout (strips, tiles, samples) or carry other metadata blocks in IFD0
# (XMP 0x02BC, IPTC 0x83BB, Photoshop 0x8649, ICC 0x8773, PrintIM 0xC4A5, DNG private 0xC634).
# They are wrong or unsafe in a new file, whatever the policy.
_NEVER_COPIED = frozenset(
    {
        0x00FE,
        0x00FF,
        *range(0x0100, 0x010B),
        0x0111,
        *range(0x0115, 0x011A),
        0x011C,
        *range(0x0120, 0x0126),
        0x012D,
        0x013D,
        *range(0x0140, 0x0160),
        *range(0x0200, 0x020A),
        0x0212,
        0x02BC,
        0x83BB,
        0x8649,
        0x8773,
        0xC4A5,
        0xC634,
    }
)
# Where exiftool's tag names differ from the EXIF specification's (which Pillow uses); both work.
EXIFTOOL_ALIASES = {
    "SerialNumber": "BodySerialNumber",
    "OwnerName": "CameraOwnerName",
    "ISO": "ISOSpeedRatings",
    "PhotographicSensitivity": "ISOSpeedRatings",
    "ExposureCompensation": "ExposureBiasValue",
    "CreateDate": "DateTimeDigitized",
    "ModifyDate": "DateTime",
    "PixelXDimension": "ExifImageWidth",
    "PixelYDimension": "ExifImageHeight",
    "FocalLengthIn35mmFormat": "FocalLengthIn35mmFilm",
    "LensInfo": "LensSpecification",
}

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


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


def orientation(exif: Image.Exif | None) -> int:
    """EXIF orientation 1-8; anything else (missing, 0, garbage) means 'as stored'."""
    value = exif.get(ORIENTATION) if exif is not None else None
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def swaps_axes(exif: Image.Exif | None) -> bool:
    """Orientations 5-8 turn the stored image by 90 degrees, so width and height trade places."""
    return orientation(exif) >= 5


def apply_orientation(image: Image.Image, exif: Image.Exif | None) -> Image.Image:
    """Bake the EXIF orientation into the pixels (exactly once)."""
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation(exif))
    return image.transpose(method) if method is not None else image


def capture_time(exif: Image.Exif | None) -> datetime | None:
    """When the photo was taken: DateTimeOriginal with sub-seconds and offset where present.

    Falls back to DateTimeDigitized and then DateTime. With an offset the result is aware;
    without one it is the camera's wall-clock time, naive.
    """
    if exif is None:
        return None
    sub = exif.get_ifd(EXIF_IFD)
    for stamp_tag, offset_tag, ifd in (
        (DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, sub),
        (DATETIME_DIGITIZED, OFFSET_TIME_DIGITIZED, sub),
        (DATETIME, OFFSET_TIME, exif),
    ):
        moment = _parse_exif_time(ifd.get(stamp_tag))
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


@cache
def srgb_profile() -> bytes:
    """A compact (588-byte) sRGB profile to tag converted outputs with.

    LittleCMS stamps the creation time into the ICC header (bytes 24-35); a fixed date keeps the
    outputs of a re-run byte-identical, whichever worker process made them.
    """
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = bytes.fromhex("07e8 0001 0001 0000 0000 0000")  # 2024-01-01 00:00:00
    return bytes(profile)


@dataclass(frozen=True)
class ColourResult:
    """Pixels in an output-ready mode and the ICC profile to embed with them (None: untagged)."""

    image: Image.Image
    icc_profile: bytes | None
    warning: str | None = None


def to_output_colour(image: Image.Image, icc: bytes | None, settings: MetadataSettings) -> ColourResult:
    """Bring any decoded mode to RGB or RGBA, converting through the embedded ICC profile.

    With color = "srgb" (default) pixels are converted to sRGB and tagged as such, so wide-gamut
    phone photos (Display P3) keep their look in browsers. With "preserve" the original profile is
    embedded unchanged. An untagged RGB source is already web sRGB and stays untagged.
    """
    if not icc:
        return ColourResult(_to_rgb(image), None)
    if settings.color == "preserve":
        if image.mode in ("RGB", "RGBA"):
            return ColourResult(image, icc)
        return ColourResult(
            _to_rgb(image), None, "its colour profile is not RGB and cannot be preserved; converted to sRGB"
        )
    output_mode = "RGBA" if "A" in image.getbands() else "RGB"
    try:
        source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image,
            source_profile,
            ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode=output_mode,
        )
    except (ImageCms.PyCMSError, OSError, ValueError) as error:
        return ColourResult(_to_rgb(image), None, f"its colour profile is unusable ({error}); colours taken as sRGB")
    assert converted is not None
    return ColourResult(converted, srgb_profile())


def normalise_mode(image: Image.Image) -> Image.Image:
    """Collapse Pillow's many modes to the few LittleCMS and our encoders handle, looking as browsers show them.

    16-bit greyscale is scaled to 8 bits (Pillow's plain convert would clip it). A PNG transparency
    key (tRNS: "this grey or RGB value is transparent") and a palette's transparency become alpha.
    A PNG's gAMA chunk is applied when no colour profile or sRGB chunk overrides it.
    """
    return _apply_png_gamma(_collapse_mode(image), image.info)


def _apply_png_gamma(image: Image.Image, info: dict) -> Image.Image:
    """Re-encode samples stored with gamma `g` (sample = light ** g) for sRGB's ~1/2.2."""
    gamma = info.get("gamma")
    if not gamma or info.get("icc_profile") or "srgb" in info or abs(gamma * 2.2 - 1) < 0.02:
        return image
    exponent = 1 / (gamma * 2.2)
    curve = [round(255 * (value / 255) ** exponent) for value in range(256)]
    colour = len(image.getbands()) - (1 if "A" in image.getbands() else 0)
    return image.point(curve * colour + list(range(256)) * (len(image.getbands()) - colour))


def _collapse_mode(image: Image.Image) -> Image.Image:
    mode = image.mode
    key = image.info.get("transparency")
    if mode in ("L", "RGB") and key is not None:
        return image.convert("RGBA")
    if mode in ("RGB", "RGBA", "L", "CMYK"):
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        high = 65535 if mode.startswith("I;16") else max(image.getextrema()[1], 1)  # type: ignore[index]
        wide = image.convert("I")
        grey = wide.point(lambda value: value * (255 / high)).convert("L")
        if not isinstance(key, int):
            return grey
        opaque = ImageMath.lambda_eval(lambda channels: (channels["a"] != key) * 255, a=wide)
        return Image.merge("RGBA", (grey, grey, grey, opaque.convert("L")))  # type: ignore[union-attr]
    if mode == "F":
        return image.convert("L")
    if mode in ("P", "PA"):
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if mode == "1":
        return image.convert("L")
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


def _to_rgb(image: Image.Image) -> Image.Image:
    return image if image.mode in ("RGB", "RGBA") else image.convert("RGB")


def flatten(image: Image.Image, background: str) -> Image.Image:
    """JPEG has no alpha: composite onto the configured background instead of dropping it."""
    if image.mode != "RGBA":
        return image
    base = Image.new("RGB", image.size, background)
    base.paste(image, mask=image.getchannel("A"))
    return base


@dataclass(frozen=True)
class ExifResult:
    """EXIF bytes to embed (None: no EXIF at all) and a warning when the source's EXIF was dropped."""

    exif: bytes | None
    warning: str | None = None


def output_exif(exif: Image.Exif | None, settings: MetadataSettings, raw: bytes | None = None) -> ExifResult:
    """EXIF to embed in an output under the metadata policy.

    "keep" copies the EXIF minus what gives a person or a device away (GPS, serial numbers, maker
    notes, the embedded thumbnail — each unless allowed); "allow" copies only the named tags. The
    EXIF is rebuilt tag by tag from the source's IFDs, each value with its original TIFF type, so
    nothing travels that was not chosen: no TIFF structure, no XMP/IPTC/ICC blocks kept in IFD0,
    no thumbnail unless allowed. A kept Orientation becomes 1: the rotation is already in the
    pixels. `raw` is the source's EXIF block (TIFF sources have none: their IFD0 is the EXIF).
    """
    if settings.policy == "strip" or not exif:
        return ExifResult(None)
    try:
        tiff = _tiff_block(raw or exif.tobytes())
        keep_main, keep_gps = _kept_tags(settings)
        with warnings.catch_warnings(record=True) as damage:  # Pillow skips damaged entries with a warning
            warnings.simplefilter("always")
            ifd0 = _read_ifd(tiff, struct.unpack_from(_byte_order(tiff) + "L", tiff, 4)[0], keep_main)
            exif_ifd = _read_ifd(tiff, ifd0.pop(EXIF_IFD, (0, None))[1], keep_main)
            interop = _read_ifd(tiff, exif_ifd.pop(INTEROP_IFD, (0, None))[1], lambda tag: settings.policy == "keep")
            gps = _read_ifd(tiff, ifd0.pop(GPS_IFD, (0, None))[1], keep_gps)
        if ORIENTATION in ifd0:
            ifd0[ORIENTATION] = (ifd0[ORIENTATION][0], 1)
        thumbnail = exif_thumbnail(exif, raw) if settings.policy == "keep" and settings.thumbnail else None
        written = _write_exif(tiff[:4], ifd0, exif_ifd, interop, gps, thumbnail)
    except Exception:  # damage Pillow tolerated while reading but that cannot be written back
        return ExifResult(None, "its EXIF metadata could not be rewritten and was dropped")
    return ExifResult(written, "part of its EXIF metadata is unreadable and was left out" if damage else None)


_Entries = dict[int, tuple[int, Any]]  # tag -> (TIFF type, value)


def _tiff_block(exif: bytes) -> bytes:
    return re.sub(b"^(Exif\x00\x00)+", b"", exif)


def _byte_order(tiff: bytes) -> str:
    return "<" if tiff[:2] == b"II" else ">"


def _read_ifd(tiff: bytes, offset: object, keep: Callable[[int], bool]) -> _Entries:
    """The kept tags of one IFD with their types, read by Pillow's TIFF directory reader."""
    if not isinstance(offset, int) or not 8 <= offset < len(tiff):
        return {}
    directory = TiffImagePlugin.ImageFileDirectory_v2(tiff[:8])
    stream = io.BytesIO(tiff)
    stream.seek(offset)
    directory.load(stream)
    return {
        tag: (directory.tagtype[tag], directory[tag])
        for tag in directory
        if tag in (EXIF_IFD, GPS_IFD, INTEROP_IFD) or (tag not in _NEVER_COPIED and keep(tag))
    }


def _write_exif(
    magic: bytes, ifd0: _Entries, exif_ifd: _Entries, interop: _Entries, gps: _Entries, thumbnail: bytes | None
) -> bytes | None:
    """Lay the IFDs out one after another, point to each, and append the thumbnail (IFD1) if any."""
    if interop and not exif_ifd:
        interop = {}
    order = _byte_order(magic)
    head = magic + struct.pack(order + "L", 8)
    links = [(ifd0, EXIF_IFD, exif_ifd), (exif_ifd, INTEROP_IFD, interop), (ifd0, GPS_IFD, gps)]
    for parent, pointer, child in links:
        if child:
            parent[pointer] = (TiffTags.LONG, 0)  # placeholder of the same size, filled below
    ifd1: _Entries = {}
    if thumbnail:
        ifd1 = {0x0103: (TiffTags.SHORT, 6), JPEG_THUMBNAIL_OFFSET: (TiffTags.LONG, 0)}
        ifd1[JPEG_THUMBNAIL_LENGTH] = (TiffTags.LONG, len(thumbnail))
    blocks = [entries for entries in (ifd0, exif_ifd, interop, gps, ifd1) if entries]
    if not blocks:
        return None
    offsets, position = [], 8
    for entries in blocks:
        offsets.append(position)
        position += len(_ifd_bytes(head, entries, position))
    offset_of = {id(entries): offset for entries, offset in zip(blocks, offsets, strict=True)}
    for parent, pointer, child in links:
        if child:
            parent[pointer] = (TiffTags.LONG, offset_of[id(child)])
    if ifd1:
        ifd1[JPEG_THUMBNAIL_OFFSET] = (TiffTags.LONG, position)
    tiff = bytearray(head + b"".join(_ifd_bytes(head, e, o) for e, o in zip(blocks, offsets, strict=True)))
    if ifd1:
        struct.pack_into(order + "L", tiff, 8 + 2 + 12 * len(ifd0), offset_of[id(ifd1)])  # IFD0's next IFD
        tiff += thumbnail
    return b"Exif\x00\x00" + bytes(tiff)


def _ifd_bytes(head: bytes, entries: _Entries, offset: int) -> bytes:
    directory = TiffImagePlugin.ImageFileDirectory_v2(head)
    for tag, (tag_type, value) in entries.items():
        directory.tagtype[tag] = tag_type
        directory[tag] = value
    return directory.tobytes(offset)


def _kept_tags(settings: MetadataSettings) -> tuple[Callable[[int], bool], Callable[[int], bool]]:
    """Two predicates over tag ids: kept in IFD0/Exif IFD, and kept in the GPS IFD."""
    if settings.policy == "allow":
        main, gps = allowed_tag_ids(settings.allow)
        return main.__contains__, gps.__contains__
    dropped = set(_NEVER_COPIED)
    if not settings.serials:
        dropped |= SERIAL_TAGS
    if not settings.maker_notes:
        dropped.add(MAKER_NOTE)
    return (lambda tag: tag not in dropped), (lambda tag: settings.gps)


def allowed_tag_ids(names: tuple[str, ...]) -> tuple[frozenset[int], frozenset[int]]:
    """Resolve `allow` names (EXIF or exiftool spelling, any case) to tag ids: (IFD0/Exif IFD, GPS).

    Raises ConfigError naming the first unknown tag, with the closest known names as a hint.
    """
    table = _tag_names()
    main: set[int] = set()
    gps: set[int] = set()
    for name in names:
        found = table.get(name.lower()) if isinstance(name, str) else None
        if found is None:
            hint = difflib.get_close_matches(str(name).lower(), table, n=3)
            suggestion = f"; did you mean {', '.join(table[h][2] for h in hint)}?" if hint else ""
            raise ConfigError(f"metadata.allow: unknown EXIF tag {name!r}{suggestion}")
        group, tag, spelling = found
        if group == "main" and tag in _NEVER_COPIED:
            raise ConfigError(f"metadata.allow: {spelling} describes the file's structure and is never copied")
        (gps if group == "gps" else main).add(tag)
    return frozenset(main), frozenset(gps)


@cache
def _tag_names() -> dict[str, tuple[str, int, str]]:
    """lower-case name -> (group, tag id, canonical spelling) for every EXIF and GPS tag name."""
    table = {name.lower(): ("main", tag, name) for tag, name in ExifTags.TAGS.items()}
    table.update({name.lower(): ("gps", tag, name) for tag, name in ExifTags.GPSTAGS.items()})
    for alias, name in EXIFTOOL_ALIASES.items():
        table[alias.lower()] = (*table[name.lower()][:2], alias)
    return table


def exif_thumbnail(exif: Image.Exif | None, raw: bytes | None) -> bytes | None:
    """The JPEG preview in IFD1, which often shows the uncropped, unedited original."""
    if exif is None:
        return None
    try:
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except Exception:
        return None
    start, length = ifd1.get(JPEG_THUMBNAIL_OFFSET), ifd1.get(JPEG_THUMBNAIL_LENGTH)
    if not raw or not isinstance(start, int) or not isinstance(length, int):
        return None
    tiff = re.sub(b"^(Exif\x00\x00)+", b"", raw)
    thumbnail = tiff[start : start + length]
    return thumbnail if thumbnail.startswith(b"\xff\xd8") else None
