"""`gallery preview`: one HTML contact sheet to review a set before it is published.

Per photo it shows every output (pixel size, bytes, file), the alt/title/caption with the alt-text
lint, the placeholder colour and LQIP, and what metadata the source had against what the published
files carry. The page is a single file with inline CSS and script; images are referenced by
relative paths, so it works opened from disk beside the outputs. Every text is escaped: alt text
and file names come from people and cameras.

The sheet tells which originals carried GPS or serials, so it is written into gallery's private
folder in the user's cache (`run.private_folder`), never where a site publishes. A folder is
previewed through the same plan and run as `gallery process` (`publish=False`): its renders go to
that private folder too, the set keeps its recorded name, and no published file is touched.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..config.sections import Config
from ..errors import OutputError
from ..files import make_folder, write_atomically
from ..image.facts import read_facts
from ..model import OutputFile, PhotoResult, Problem
from ..names import display_name, slugify
from ..publish.manifest import read_manifest
from ..publish.markup import DATA_URI, HEX_COLOUR
from ..run import private_folder, process
from ..text.clean import clean_text
from ..text.lint import lint_alt
from .review import ReviewedPhoto, judged

# Rows of the metadata table; "yes" in a published file for the first three is flagged.
PRIVATE_ROWS = ("GPS position", "serial numbers", "maker notes")
ROWS = (*PRIVATE_ROWS, "camera", "EXIF tags", "XMP", "IPTC", "colour profile")


@dataclass(frozen=True)
class Preview:
    """The page written (None when there was no photo to show) and the photos that could not be shown."""

    page: Path | None
    failures: tuple[Problem, ...]


def preview(target: Path, config: Config, out_dir: str | None = None, output: Path | None = None) -> Preview:
    """Write the contact sheet; say where, and which photos failed.

    `target` is a source folder (run as `gallery process` would without publishing: cheap when
    cached; the post and manifest are not touched) or a manifest (images looked up in `out_dir`,
    default the manifest's folder). A name or title in the settings wins over the manifest's.
    """
    failures: tuple[Problem, ...] = ()
    if target.is_dir():
        config = config.with_overrides(output__post_file="", output__dir=out_dir)
        result = process(target, config, publish=False)
        photos, title, name, at_hand, failures = list(result.photos), result.title, result.name, True, result.failures
        reviewed = judged(result, result.plan, config).photos if result.plan else ()
        curated = {photo.source.name: photo for photo in reviewed}
        notes = [str(note) for note in result.plan.captions.notes] if result.plan else []
    else:
        images = Path(out_dir) if out_dir else target.parent
        title, name, photos = read_manifest(target, images)
        title, name = config.text.title or title, slugify(config.output.name or name)
        at_hand, curated, notes = False, {}, []
        config = config.with_overrides(output__dir=str(images))
    if not photos:
        return Preview(None, failures)
    private = output is None  # the page tells which originals carry GPS positions: for its owner alone
    output = output or private_folder(config) / f"{name}-preview.html"
    page = contact_sheet(photos, title, output.parent, config, at_hand, curated, notes)
    try:
        make_folder(output.parent, private)
        write_atomically(output, page.encode("utf-8"))
    except OSError as error:
        raise OutputError(f"cannot write the page {output}: {error.strerror or error}") from None
    return Preview(output, failures)


def metadata_summary(path: Path, config: Config) -> dict[str, str]:
    """What metadata a file carries, as `gallery inspect` reads it: one short value per row of ROWS."""
    facts = read_facts(path, config)
    if facts.error:
        return dict.fromkeys(ROWS, f"unreadable ({facts.error})")
    return {
        "GPS position": "yes" if facts.gps else "no",
        "serial numbers": "yes" if facts.serials or facts.xmp_serials else "no",
        "maker notes": "yes" if facts.maker_notes else "no",
        "camera": clean_text(facts.camera or "") or "—",
        "EXIF tags": str(facts.exif_tags) if facts.exif else "none",
        "XMP": "yes" if facts.xmp else "no",
        "IPTC": "yes" if facts.iptc else "no",
        "colour profile": clean_text(facts.icc_profile or "") or "none",
    }


def _published_summary(outputs: tuple[OutputFile, ...], config: Config) -> dict[str, str]:
    """Every output checked; a row shows one value when all files agree, else each distinct value."""
    summaries = [metadata_summary(o.path, config) for o in outputs if o.path.is_file()]
    if not summaries:
        return dict.fromkeys(ROWS, "files missing")
    return {row: " / ".join(dict.fromkeys(s[row] for s in summaries)) for row in ROWS}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _kilobytes(count: int) -> str:
    return f"{count / 1000:.1f} kB"


def contact_sheet(
    photos: list[PhotoResult],
    title: str,
    page_dir: Path,
    config: Config,
    sources_at_hand: bool = True,
    curated: dict[str, ReviewedPhoto] | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The whole page as one string: an overview of thumbnails grouped by burst, then a section per
    photo. Without the sources at hand (a manifest) their metadata is not shown. A large set's
    images load as they scroll into view, so the page stays light for hundreds of photos. `notes`
    are shown at the top (captions.toml entries that match no photo)."""
    problems = lint_alt([(display_name(p.source), p.alt) for p in photos])
    lint = {name: message for name, message in problems if name}
    set_notes = [message for name, message in problems if not name] + list(notes)
    total = sum(o.bytes for p in photos for o in p.outputs)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Preview: {_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p>{len(photos)} photos, "
        f"{sum(len(p.outputs) for p in photos)} files, {_kilobytes(total)}. "
        "Check the texts of each photo and the metadata column before publishing.</p>",
        *(f'<p class="warn">{_e(note)}</p>' for note in set_notes),
        "</header>",
        _overview(photos, curated or {}, page_dir),
    ]
    for photo in photos:
        parts.append(_photo_section(photo, lint.get(display_name(photo.source)), page_dir, config, sources_at_hand))
    if len(photos) > EAGER_PHOTOS:
        parts = [part.replace("<img ", '<img loading="lazy" ') for part in parts]
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    return "\n".join(parts)


def _overview(photos: list[PhotoResult], curated: dict[str, ReviewedPhoto], page_dir: Path) -> str:
    """Every photo's thumbnail, a burst's frames side by side, with review's flags and picks."""
    cells: dict[object, list[str]] = {}
    for photo in photos:
        found = curated.get(photo.source.name)
        thumbnail = photo.thumbnail
        notes = [
            f"{photo.number:02d}",
            *(found.flags if found else ()),
            *(["pick"] if found and found.pick and found.group else []),
        ]
        src = quote(os.path.relpath(thumbnail.path, page_dir))
        cell = (
            f'<a href="#photo-{photo.number:02d}"><img src="{_e(src)}" alt="" width="{thumbnail.width}" '
            f'height="{thumbnail.height}" data-expected="{thumbnail.width}x{thumbnail.height}"></a>'
            f"<figcaption>{_e(' · '.join(notes))}</figcaption>"
        )
        cells.setdefault(found.group if found and found.group else ("alone", photo.number), []).append(
            f"<figure>{cell}</figure>"
        )
    blocks = [
        f'<div class="burst" title="burst">{"".join(group)}</div>' if len(group) > 1 else group[0]
        for group in cells.values()
    ]
    return f'<nav class="overview">{"".join(blocks)}</nav>'


def _photo_section(photo: PhotoResult, lint: str | None, page_dir: Path, config: Config, at_hand: bool) -> str:
    captured = photo.captured.isoformat(sep=" ", timespec="seconds") if photo.captured else ""
    colour = photo.color if HEX_COLOUR.fullmatch(photo.color) else ""
    lqip = photo.placeholder if DATA_URI.fullmatch(photo.placeholder) else ""
    figures = []
    for output in photo.outputs:
        src = quote(os.path.relpath(output.path, page_dir))
        state = "" if output.path.is_file() else ' <strong class="warn">missing</strong>'
        figures.append(
            f'<figure><img src="{_e(src)}" alt="" data-expected="{output.width}x{output.height}" '
            f'style="aspect-ratio:{output.width}/{output.height}">'
            f"<figcaption>{_e(output.role)} {_e(output.format)} {output.width}x{output.height} px, "
            f"{_kilobytes(output.bytes)}<br><code>{_e(output.path.name)}</code>{state}<br>"
            f'<span class="decoded">not decoded</span></figcaption></figure>'
        )
    if lqip or colour:
        swatch = f'<span class="swatch" style="background:{colour}"></span> {_e(colour)}' if colour else ""
        tiny = f'<img class="lqip" src="{_e(lqip)}" alt="" data-expected="">' if lqip else ""
        figures.append(f"<figure><figcaption>placeholder</figcaption>{tiny}<p>{swatch}</p></figure>")
    source_meta = metadata_summary(photo.source, config) if at_hand else dict.fromkeys(ROWS, "—")
    published = _published_summary(photo.outputs, config)
    rows = []
    for row in ROWS:
        flagged = row in PRIVATE_ROWS and "yes" in published[row]
        status = ' class="warn"' if flagged else ""
        rows.append(f"<tr><th>{_e(row)}</th><td>{_e(source_meta[row])}</td><td{status}>{_e(published[row])}</td></tr>")
    texts_html = "".join(
        f"<dt>{name}</dt><dd>{_e(value) if value else '<em>none</em>'}</dd>"
        for name, value in (("alt", photo.alt), ("title", photo.title), ("caption", photo.caption))
    )
    warning = f'<p class="warn">{_e(lint)}</p>' if lint else ""
    source_note = "" if at_hand else "<caption>source not at hand (preview of a manifest)</caption>"
    return (
        f'<section id="photo-{photo.number:02d}">'
        f"<h2>{photo.number:02d} · {_e(display_name(photo.source))}{' · ' + _e(captured) if captured else ''}</h2>"
        f"<dl>{texts_html}</dl>{warning}"
        f'<div class="outputs">{"".join(figures)}</div>'
        f"<table>{source_note}<tr><th>metadata</th><th>source</th><th>published files</th></tr>{''.join(rows)}</table>"
        "</section>"
    )


EAGER_PHOTOS = 60  # above this many photos, images load lazily (as they scroll into view)
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1rem 2rem;color:#222;background:#fafafa}
section{border-top:1px solid #ccc;padding:.5rem 0 1rem}
h2{font-size:1.1rem;margin:.5rem 0}
dl{display:grid;grid-template-columns:5rem 1fr;margin:0}dt{font-weight:600}dd{margin:0}
.outputs{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end;margin:.5rem 0}
figure{margin:0;max-width:240px}
figure img{display:block;max-width:240px;max-height:200px;width:auto;height:auto;background:#ddd}
figure img.lqip{width:64px;image-rendering:pixelated}
figcaption{font-size:12px;color:#444}code{font-size:11px;word-break:break-all}
.swatch{display:inline-block;width:1.5rem;height:1.5rem;vertical-align:middle;border:1px solid #999}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}
.warn{color:#b00020;font-weight:600}.decoded.bad{color:#b00020}
.overview{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}.overview figure img{max-width:120px;max-height:120px}
.burst{display:flex;gap:.25rem;padding:.25rem;border:2px solid #e0a000;border-radius:4px}
"""

# Marks each image as decoded at its real pixel size, or flags it; runs only in the page.
_SCRIPT = """
for (const img of document.images) {
  const mark = () => {
    const label = img.parentElement.querySelector('.decoded');
    const size = img.naturalWidth + 'x' + img.naturalHeight;
    img.dataset.decoded = img.naturalWidth ? size : 'failed';
    if (!label) return;
    const ok = img.naturalWidth && size === img.dataset.expected;
    label.textContent = ok ? 'decoded ' + size : 'NOT decoded as ' + img.dataset.expected + ' (' + size + ')';
    label.classList.toggle('bad', !ok);
  };
  if (img.complete) mark(); else { img.addEventListener('load', mark); img.addEventListener('error', mark); }
}
"""
