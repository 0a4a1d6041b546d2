"""What a page shows while a photo loads: its dominant colour and a tiny blurred preview (LQIP).

Both are computed in the render worker from the smallest output, already resized in memory, so
they cost no extra decode; the state record keeps them, so cached re-runs still have them.
"""

from __future__ import annotations

import base64
import io

from PIL import Image

from ..model import Placeholder
from .colour import flatten

LQIP_EDGE = 16  # pixels on the long edge; the browser blurs it up (CSS filter: blur)
LQIP_QUALITY = 50
PALETTE_EDGE = 64
PALETTE_COLOURS = 8


def make_placeholder(image: Image.Image, background: str, key: str) -> Placeholder:
    """Dominant colour and LQIP of an RGB/RGBA image (transparent areas on the JPEG background)."""
    opaque = flatten(image, background).convert("RGB")
    small = opaque.copy()
    small.thumbnail((PALETTE_EDGE, PALETTE_EDGE), Image.Resampling.BOX)
    palette = small.quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    counts = palette.getcolors() or [(1, 0)]
    _, index = max(counts, key=lambda item: (item[0], -item[1]))
    assert isinstance(index, int)  # a palette image's colours are palette indices
    entries = palette.getpalette() or [0, 0, 0]
    red, green, blue = entries[3 * index : 3 * index + 3]
    tiny = opaque.copy()
    tiny.thumbnail((LQIP_EDGE, LQIP_EDGE), Image.Resampling.BOX)
    buffer = io.BytesIO()
    tiny.save(buffer, "WEBP", quality=LQIP_QUALITY, method=6)
    lqip = "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return Placeholder(f"#{red:02x}{green:02x}{blue:02x}", lqip, key)
