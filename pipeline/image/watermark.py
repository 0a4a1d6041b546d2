"""A visible mark on published images: a line of text or a logo, in a corner, partly transparent.

The mark is made once per run (`make`), before any photo is decoded: the text drawn once, the
logo decoded once, and either reduced to the largest size any output of the run can need. Its cost
therefore grows with neither the length of the text (capped by the settings' MAX_WATERMARK_TEXT) nor the
size of the logo (capped by MAX_LOGO_PIXELS, checked before decoding). The render jobs receive it
as a small PNG, cheap to pickle to a worker, and scale it to each output, so every size carries
the same mark at the same share of its width. Off by default; thumbnails only when asked. Its
settings (and the logo file's content) are part of the cache key, so changing the mark renders the
outputs again.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from ..config.sections import Config, WatermarkSettings
from ..errors import ConfigError

REFERENCE_FONT_SIZE = 200  # text is drawn once at this size, then reduced to what the outputs need
MARGIN = 0.02  # of the image's width, between the mark and the image's edges
# A logo is a small picture: one that declares more pixels is refused before it is decoded (a
# 5000x5000 logo decodes to 100 MB, once per run). It is reduced to the largest mark an output needs.
MAX_LOGO_PIXELS = 25_000_000


@dataclass(frozen=True)
class Mark:
    """The run's mark, RGBA at full opacity, as PNG bytes: what a render job needs of it."""

    png: bytes

    def image(self) -> Image.Image:
        with Image.open(io.BytesIO(self.png)) as image:
            return image.convert("RGBA")


def make(config: Config) -> Mark | None:
    """The run's mark, made once before the run starts; None when watermarking is off.

    Raises ConfigError for a logo that is not an image or declares more than MAX_LOGO_PIXELS.
    """
    settings = config.watermark
    if settings.logo:
        mark = _logo(settings.logo)
    elif settings.text:
        mark = _text(settings.text)
    else:
        return None
    width = min(mark.width, largest_mark_width(config))
    if width < mark.width:
        height = max(1, round(mark.height * width / mark.width))
        mark = mark.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    encoded = io.BytesIO()
    mark.save(encoded, "PNG", compress_level=1)
    return Mark(encoded.getvalue())


def largest_mark_width(config: Config) -> int:
    """The widest mark any output of this config can carry: its share of the widest output."""
    widths = [*config.variants.widths, config.image.max_edge if config.image.enabled else 0]
    if config.watermark.thumbnails:
        widths.append(config.thumbnail.width)
    return max(1, math.ceil(max(widths) * config.watermark.size))


def _logo(path: str) -> Image.Image:
    """The logo decoded once, refused first when its header declares more than MAX_LOGO_PIXELS."""
    problem = f"watermark.logo {path}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            logo = Image.open(path)
    except UnidentifiedImageError:
        raise ConfigError(f"{problem} is not an image gallery can read (PNG with transparency works best)") from None
    except Image.DecompressionBombError:
        raise ConfigError(f"{problem} declares more pixels than an image may have (a damaged file?)") from None
    except OSError as error:
        raise ConfigError(f"{problem} cannot be read: {error.strerror or error}") from None
    width, height = logo.size
    try:
        if width * height > MAX_LOGO_PIXELS:
            raise ConfigError(
                f"{problem} is {width}x{height} pixels, over the {MAX_LOGO_PIXELS:,} a logo may have; "
                "save it smaller (it is shown at watermark.size of each image's width)"
            )
        logo.load()  # reads the file and closes it; an RGBA logo is used as it is, not copied again
    except ConfigError:
        logo.close()
        raise
    except (OSError, ValueError, SyntaxError) as error:
        logo.close()
        raise ConfigError(f"{problem} cannot be decoded: {error}") from None
    if logo.mode == "RGBA":
        return logo
    with logo:
        return logo.convert("RGBA")


def _text(text: str) -> Image.Image:
    font = ImageFont.load_default(size=REFERENCE_FONT_SIZE)
    stroke = REFERENCE_FONT_SIZE // 20
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    mark = Image.new("RGBA", (max(1, math.ceil(right - left)), max(1, math.ceil(bottom - top))))
    # White with a dark outline: readable on light and dark parts of a photo alike.
    ImageDraw.Draw(mark).text(
        (-left, -top), text, font=font, fill=(255, 255, 255, 255), stroke_width=stroke, stroke_fill=(0, 0, 0, 255)
    )
    return mark


def stamp(image: Image.Image, mark: Image.Image, settings: WatermarkSettings) -> Image.Image:
    """A copy of `image` with the mark in its corner, `settings.size` of its width wide."""
    width = max(1, round(image.width * settings.size))
    height = max(1, round(mark.height * width / mark.width))
    scaled = mark.resize((width, height), Image.Resampling.LANCZOS)
    alpha = scaled.getchannel("A").point(lambda value: round(value * settings.opacity))
    scaled.putalpha(alpha)
    margin = round(image.width * MARGIN)
    x = margin if settings.corner.endswith("left") else image.width - width - margin
    y = margin if settings.corner.startswith("top") else image.height - height - margin
    stamped = image.convert("RGBA")
    stamped.alpha_composite(scaled, (max(0, x), max(0, y)))
    return stamped if image.mode == "RGBA" else stamped.convert(image.mode)
