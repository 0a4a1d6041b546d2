"""The output formats: one record each, read by settings, render and markup alike.

A record says everything gallery needs to know about a format: its file extension, Pillow's name
for it, its MIME type, the `[quality]` settings it reads (with their defaults) and how they become
encoder options, whether it keeps transparency, where it goes in `<picture>` and `srcset`, and the
largest width and height it can hold (the plan makes larger outputs smaller to fit). To
add a format, add a record here (and tests); nothing else lists formats. This module imports no
image library: a codec that Pillow does not ship is named by its plugin module and loaded by render.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

Options = Callable[[Any], dict[str, Any]]  # the [quality] section -> keyword arguments of Image.save
EXIF_HEADER = b"Exif\x00\x00"


def _exif_block(block: bytes) -> object:
    """`Exif\\0\\0` + TIFF, as Pillow's JPEG and WebP savers store it unchanged."""
    return block


def _exif_verbatim(block: bytes) -> object:
    """Pillow's AVIF saver re-serialises EXIF that holds an Orientation tag (ours always says 1),
    retyping tags on the way (`exiftool -validate` then warns). An Exif object that serialises to
    our own bytes gets them stored byte for byte."""
    from PIL import Image  # loaded only when encoding

    class VerbatimExif(Image.Exif):
        def tobytes(self, offset: int = 8) -> bytes:
            return block

    exif = VerbatimExif()
    exif.load(block)
    return exif


def _exif_with_offset(block: bytes) -> object:
    """JPEG XL's Exif box starts with a 4-byte offset to the TIFF header (ISO 18181-2), which the
    plugin leaves to the caller."""
    return b"\x00\x00\x00\x00" + block.removeprefix(EXIF_HEADER)


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    pillow_name: str
    mime: str
    settings: Mapping[str, int | bool]  # [quality] keys this format reads, with their defaults
    options: Options
    alpha: bool  # False: transparent pixels are flattened onto metadata.background first
    picture_rank: int | None  # order of its <source> in <picture>, lowest first; None: no <source>
    srcset_rank: int | None  # preference for a lone <img srcset> (kramdown), lowest first; None: never
    max_dimension: int  # the largest width or height its encoder writes and decoders open
    exif: Callable[[bytes], object] = _exif_block  # our EXIF block -> what the saver stores byte for byte
    keeps_icc: bool = True  # False: the encoder tags every output sRGB, so colours must be converted
    plugin: str | None = None  # module that registers the codec with Pillow, when Pillow lacks it
    package: str | None = None  # the distribution that provides it (gallery's extra of the format's name)


JPEG = Format(
    name="jpeg",
    extension=".jpeg",
    pillow_name="JPEG",
    mime="image/jpeg",
    settings={"jpeg": 82, "jpeg_optimize": False},
    options=lambda q: {"quality": q.jpeg, "progressive": True, "optimize": q.jpeg_optimize},
    alpha=False,
    picture_rank=None,  # the <img> fallback itself, decoded by everything
    srcset_rank=1,
    max_dimension=65500,  # libjpeg's JPEG_MAX_DIMENSION; 65501 fails to encode
)
WEBP = Format(
    name="webp",
    extension=".webp",
    pillow_name="WEBP",
    mime="image/webp",
    settings={"webp": 80, "webp_method": 4},
    options=lambda q: {"quality": q.webp, "method": q.webp_method},
    alpha=True,
    picture_rank=3,
    srcset_rank=0,  # decoded by every current browser and smaller than JPEG
    max_dimension=16383,  # the format's 14-bit sizes; 16384 fails to encode
)
AVIF = Format(
    name="avif",
    extension=".avif",
    pillow_name="AVIF",
    mime="image/avif",
    settings={"avif": 60, "avif_speed": 8},
    options=lambda q: {"quality": q.avif, "speed": q.avif_speed},
    alpha=True,
    picture_rank=2,
    srcset_rank=2,
    # libavif encodes up to 65536, but its decoder (Pillow's, browsers') refuses more than 32768 by default.
    max_dimension=32768,
    exif=_exif_verbatim,
)
JXL = Format(
    name="jxl",
    extension=".jxl",
    pillow_name="JXL",
    mime="image/jxl",
    settings={"jxl": 75, "jxl_effort": 7},
    # `exif=b""` unless we pass some: the plugin would otherwise copy the image's own EXIF, and
    # `lossless_jpeg=False` keeps it from re-encoding the source file instead of our pixels.
    options=lambda q: {"quality": q.jxl, "effort": q.jxl_effort, "exif": b"", "lossless_jpeg": False},
    alpha=True,
    picture_rank=1,  # smallest for the quality; browsers without it fall through to AVIF and WebP
    srcset_rank=None,  # too few browsers decode it for an <img> without a type switch
    max_dimension=1 << 30,  # the codestream's limit (2^30); the plugin round-trips 1048576 x 1
    exif=_exif_with_offset,
    keeps_icc=False,
    plugin="pillow_jxl",
    package="pillow-jxl-plugin",
)

FORMATS: dict[str, Format] = {f.name: f for f in (JPEG, WEBP, AVIF, JXL)}
# [quality] keys that hold a 1-100 quality (the others are effort, speed or on/off switches).
QUALITY_KEYS = tuple(f.name for f in FORMATS.values())


def get(name: str) -> Format:
    """The record of a format named in the settings; a ConfigError names the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(f"unknown output format {name!r}; choose from {', '.join(FORMATS)}") from None


def quality_defaults() -> dict[str, int | bool]:
    """Every format's [quality] settings with their defaults, in registry order."""
    return {key: value for f in FORMATS.values() for key, value in f.settings.items()}


def check_colour(name: str, color: str) -> None:
    """Refuse to keep a photo's own colour profile in a format whose encoder cannot store one."""
    if color == "preserve" and not get(name).keeps_icc:
        raise ConfigError(
            f'metadata.color = "preserve" cannot be used with {name}: its encoder stores no colour profile'
        )


def check_available(name: str) -> None:
    """Refuse an opt-in format whose codec is not installed, saying how to install it."""
    fmt = get(name)
    if fmt.plugin and importlib.util.find_spec(fmt.plugin) is None:
        raise ConfigError(
            f"the {fmt.name} format needs the Python package {fmt.package} (gallery's `{fmt.name}` extra): "
            f"pip install {fmt.package}"
        )
