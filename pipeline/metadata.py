"""Stage 2, metadata: orientation, capture time, colour profiles and what metadata is published.

Metadata is untrusted input: every read here tolerates malformed EXIF and reports it instead of
failing, because the pixels of a photo with broken EXIF are usually fine.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache

from PIL import Image, ImageCms

from .config import MetadataSettings

ORIENTATION = 0x0112
DATETIME = 0x0132
EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003
DATETIME_DIGITIZED = 0x9004
OFFSET_TIME = 0x9010
OFFSET_TIME_ORIGINAL = 0x9011
OFFSET_TIME_DIGITIZED = 0x9012
SUBSEC_TIME_ORIGINAL = 0x9291

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def read_exif(image: Image.Image) -> Image.Exif | None:
    """The image's EXIF as Pillow parses it, or None when it is missing or unreadable.

    pillow-heif has already applied a HEIF's irot/imir and reset Orientation to 1 here, so the
    value read from this object never rotates a HEIF photo a second time.
    """
    try:
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
    """Collapse Pillow's many modes to the few LittleCMS and our encoders handle.

    16-bit greyscale is scaled to 8 bits (Pillow's plain convert would clip it); palette images
    keep their transparency as alpha.
    """
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "CMYK"):
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        high = 65535 if mode.startswith("I;16") else max(image.getextrema()[1], 1)  # type: ignore[index]
        return image.convert("I").point(lambda value: value * (255 / high)).convert("L")
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


def output_exif(exif: Image.Exif | None, settings: MetadataSettings) -> bytes | None:
    """EXIF bytes to embed in an output under the metadata policy; None writes no EXIF at all."""
    if settings.policy == "strip" or exif is None:
        return None
    raise NotImplementedError(f"metadata policy {settings.policy!r}")
