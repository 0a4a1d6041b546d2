"""Pixels as browsers should see them: upright, in sRGB (or the kept profile), in a mode encoders take.

Everything here works on decoded pixels; what a file's headers say comes from `metadata`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from PIL import Image, ImageCms, ImageMath

from ..config.sections import MetadataSettings

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def apply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    """Bake an EXIF orientation (1-8) into the pixels, exactly once."""
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image


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


def _apply_png_gamma(image: Image.Image, info: dict[str | tuple[int, int], Any]) -> Image.Image:
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
        high = 65535 if mode.startswith("I;16") else max(cast("tuple[float, float]", image.getextrema())[1], 1)
        wide = image.convert("I")
        grey = wide.point(lambda value: value * (255 / high)).convert("L")
        if not isinstance(key, int):
            return grey
        opaque = ImageMath.lambda_eval(lambda channels: (channels["a"] != key) * 255, a=wide)
        return Image.merge("RGBA", (grey, grey, grey, opaque.convert("L")))
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
