"""A visible mark on published images: a line of text or a logo, in a corner, partly transparent.

The mark is made once per photo and scaled to each output, so every size carries the same mark at
the same share of its width. Off by default; thumbnails only when asked. Its settings (and the
logo file's content) are part of the cache key, so changing the mark renders the outputs again.
"""

from __future__ import annotations

import math

from PIL import Image, ImageDraw, ImageFont

from .config import WatermarkSettings

REFERENCE_FONT_SIZE = 200  # text is drawn once at this size, then scaled to each output
MARGIN = 0.02  # of the image's width, between the mark and the image's edges


def make_mark(settings: WatermarkSettings) -> Image.Image | None:
    """The mark as an RGBA image at full opacity, or None when watermarking is off."""
    if settings.logo:
        with Image.open(settings.logo) as logo:
            return logo.convert("RGBA")
    if not settings.text:
        return None
    font = ImageFont.load_default(size=REFERENCE_FONT_SIZE)
    stroke = REFERENCE_FONT_SIZE // 20
    left, top, right, bottom = font.getbbox(settings.text, stroke_width=stroke)
    mark = Image.new("RGBA", (math.ceil(right - left), math.ceil(bottom - top)))
    # White with a dark outline: readable on light and dark parts of a photo alike.
    ImageDraw.Draw(mark).text(
        (-left, -top),
        settings.text,
        font=font,
        fill=(255, 255, 255, 255),
        stroke_width=stroke,
        stroke_fill=(0, 0, 0, 255),
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
