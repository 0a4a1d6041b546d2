"""A minimal Python site builder on top of gallery: one HTML page with responsive, blur-up images.

    python examples/site_builder.py PHOTOS_DIR SITE_DIR

gallery does the image work (order, orientation, sizes, texts, placeholders) and returns typed
results; the builder only writes HTML. Texts are escaped here because this is HTML, not Markdown.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

import pipeline


def build(photos: Path, site: Path) -> Path:
    config = pipeline.load_config(output__dir=str(site / "img"), output__url_prefix="img", output__manifest="")
    result = pipeline.process(photos, config)
    for failure in result.failures:
        print(f"skipped {failure.path.name}: {failure.message}", file=sys.stderr)
    figures = []
    for photo in result.photos:
        main = photo.main
        srcset = ", ".join(f"img/{o.path.name} {o.width}w" for o in photo.outputs if o.role == "variant")
        figures.append(
            f'<figure><img src="img/{main.path.name}" srcset="{srcset}" sizes="(min-width: 50em) 50em, 100vw" '
            f'width="{main.width}" height="{main.height}" alt="{escape(photo.alt)}" title="{escape(photo.title)}" '
            f'loading="lazy" style="background: {photo.color} url({photo.placeholder}) center / cover">'
            f"<figcaption>{escape(photo.caption)}</figcaption></figure>"
        )
    page = site / "index.html"
    page.write_text(
        '<!doctype html><meta charset="utf-8"><title>Photos</title>\n' + "\n".join(figures) + "\n", encoding="utf-8"
    )
    return page


if __name__ == "__main__":
    print(build(Path(sys.argv[1]), Path(sys.argv[2])))
