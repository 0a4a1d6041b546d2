"""The pictures the editor's page shows: each photo upright, in sRGB, small, as a JPEG made in memory.

They are made from the source photo itself, not taken from the output folder: the page shows
skipped photos too, which a run does not render, and what a run leaves in the output folder is the
run's business. The page is only ever sent these renders, never a file's own bytes, so nothing but
a decodable image of a photo of the plan can reach the browser.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from ..config.sections import Config
from .colour import apply_orientation, flatten, to_output_colour
from .ingest import open_image
from .metadata import read_metadata
from .render import decode

SIZES = {"thumbnail": 480, "large": 1600}  # long edge in pixels: sharp at twice the page's size
QUALITY = 82


def render_preview(path: Path, config: Config, edge: int) -> bytes:
    """The photo at `path` fitted in `edge` x `edge` pixels, as the published outputs show it.

    Raises PhotoError when it cannot be opened, and whatever a damaged file makes Pillow raise.
    """
    with open_image(path, config) as image:
        metadata = read_metadata(image, path, texts=False)
        pixels = decode(image, (edge, edge))  # as rendering decodes: a 200-MP HEIF costs no 1.4 GB here either
        pixels.thumbnail((edge, edge), Image.Resampling.LANCZOS, reducing_gap=3.0)
    colour = to_output_colour(pixels, metadata.icc, config.metadata)
    upright = flatten(apply_orientation(colour.image, metadata.orientation), config.metadata.background)
    encoded = io.BytesIO()
    upright.save(encoded, "JPEG", quality=QUALITY, icc_profile=colour.icc_profile)
    return encoded.getvalue()
