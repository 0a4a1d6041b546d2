"""Markup styles without a renderer: which elements each style writes, from which files, and how
the CLI, config and `--post-file` carry the chosen style. Rendering is checked in
test_markup_properties.py (Jekyll's Liquid and kramdown) and test_markup_jekyll.py (a real build)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

import pipeline
from pipeline.config.sections import ConfigError

from .conftest import FIXTURES, block_of, run_gallery
from .support.rendered import read_html


@pytest.fixture(scope="module")
def two_photos(tmp_path_factory: pytest.TempPathFactory) -> pipeline.RunResult:
    """A real run with every kind of output: main JPEG, AVIF, WebP and JPEG variants, thumbnail."""
    work = tmp_path_factory.mktemp("markup")
    source = work / "in"
    source.mkdir()
    for name in ("DSCN0010.jpg", "canon_hdr_NO.jpg"):
        shutil.copy(FIXTURES / "event" / name, source)
    return pipeline.process(
        source,
        output__dir=str(work / "out"),
        output__name="m",
        output__url_prefix="/img",
        variants__widths=(480, 960),
        variants__formats=("avif", "webp", "jpeg"),
    )


def _block(result: pipeline.RunResult, **overrides: object) -> str:
    return block_of(result.photos, pipeline.Config().with_overrides(output__url_prefix="/img", **overrides))


def test_default_style_is_the_plain_markdown_block(two_photos: pipeline.RunResult) -> None:
    assert two_photos.markup == two_photos.markdown == _block(two_photos)
    assert two_photos.markup.splitlines()[0] == '![In](/img/m-01.jpeg "In")', "title from the folder's name"


def test_kramdown_line_is_the_markdown_line_plus_attributes(two_photos: pipeline.RunResult) -> None:
    plain = _block(two_photos).splitlines()
    lines = _block(two_photos, markup__style="kramdown").splitlines()
    assert [line[: len(base)] for line, base in zip(lines, plain, strict=True)] == plain
    first = lines[0][len(plain[0]) :]
    assert first == (
        '{: srcset="/img/m-01-0480w.webp 480w, /img/m-01-0640w.webp 640w" sizes="(max-width: 800px) 100vw, 800px"'
        ' width="640" height="480" fetchpriority="high" decoding="async"}'
    ), "WebP variants (not AVIF or JPEG) in srcset; the main image's size; the first photo is fetched first"
    assert 'loading="lazy"' in lines[1]


def test_html_picture_per_photo(two_photos: pipeline.RunResult) -> None:
    page = read_html(_block(two_photos, markup__style="html"))
    assert len(page.all("figure")) == len(page.all("picture")) == 2
    assert [s.attrs["type"] for s in page.all("source")] == ["image/avif", "image/webp"] * 2
    first = page.all("img")[0]
    assert first.attrs["src"] == "/img/m-01.jpeg"
    assert first.attrs["srcset"] == "/img/m-01-0480w.jpeg 480w, /img/m-01-0640w.jpeg 640w", "JPEG variants"
    assert not page.all("figcaption"), "no caption, no figcaption"


def test_html_without_figure_and_avif(two_photos: pipeline.RunResult) -> None:
    photos = [dataclasses.replace(p, caption="A caption") for p in two_photos.photos]
    config = pipeline.Config().with_overrides(markup__style="html", markup__figure=False)
    page = read_html(block_of(photos, config))
    assert not page.all("figure") and not page.all("figcaption")
    assert len(page.all("picture")) == 2
    with_figure = read_html(block_of(photos, config.with_overrides(markup__figure=True)))
    assert [f.text for f in with_figure.all("figcaption")] == ["A caption"] * 2
    webp_only = [dataclasses.replace(p, outputs=tuple(o for o in p.outputs if o.format != "avif")) for p in photos]
    assert [s.attrs["type"] for s in read_html(block_of(webp_only, config)).all("source")] == ["image/webp"] * 2


def test_grid_links_thumbnails_to_main_images(two_photos: pipeline.RunResult) -> None:
    page = read_html(_block(two_photos, markup__style="grid", markup__grid_class="photos wide"))
    (grid,) = page.all("div")
    assert grid.attrs["class"] == "photos wide"
    assert [a.attrs["href"] for a in page.all("a")] == ["/img/m-01.jpeg", "/img/m-02.jpeg"]
    assert [i.attrs["src"] for i in page.all("img")] == ["/img/m-01-thumb.webp", "/img/m-02-thumb.webp"]
    without_thumbnails = [
        dataclasses.replace(p, outputs=tuple(o for o in p.outputs if o.role != "thumbnail")) for p in two_photos.photos
    ]
    page = read_html(
        block_of(without_thumbnails, pipeline.Config().with_overrides(markup__style="grid", markup__figure=False))
    )
    assert not page.all("figure")
    assert all(i.attrs["width"] == "480" for i in page.all("img")), "without thumbnails, the smallest output"


def test_cli_prints_and_posts_the_chosen_style(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for name in ("DSCN0010.jpg", "kodak-dc240.jpg"):
        shutil.copy(FIXTURES / "event" / name, source)
    post = tmp_path / "post.md"
    post.write_text("---\ntitle: x\n---\n\nIntro.\n")
    completed = run_gallery("process", source, "--out", tmp_path / "out", "--markup", "html", "--post-file", post, "-q")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith('<figure>\n<picture>\n<source type="image/webp"')
    assert completed.stdout.count("<figure>") == 2
    assert f"Intro.\n\n<!-- gallery:start -->\n{completed.stdout}<!-- gallery:end -->\n" in post.read_text()


def test_bad_markup_settings_are_config_errors(tmp_path: Path) -> None:
    completed = run_gallery("process", FIXTURES / "event", "--out", tmp_path, "--markup", "rst")
    assert completed.returncode == 2
    assert "markup.style must be one of markdown, kramdown, html, grid, hugo, got 'rst'" in completed.stderr
    with pytest.raises(ConfigError, match=r"markup\.sizes"):
        pipeline.Config().with_overrides(markup__sizes='100vw" onload="x')
    with pytest.raises(ConfigError, match=r"markup\.grid_class"):
        pipeline.Config().with_overrides(markup__grid_class='g"><script>')


@pytest.mark.skipif(os.name != "posix", reason="needs a file system that stores undecodable names")
def test_undecodable_file_name_in_alt_text(tmp_path: Path) -> None:
    """A name that is not UTF-8 reaches Python as surrogates; the block must still print."""
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(FIXTURES / "event/DSCN0010.jpg", os.fsdecode(bytes(source) + b"/caf\xe9 {{ x }}.jpg"))
    completed = run_gallery("process", source, "--out", tmp_path / "out", "--alt", "{filename}", "-q")
    assert completed.returncode == 0, completed.stderr
    # The undecodable byte shows as the text `\xe9` (names.display_name), in the block and the manifest.
    assert completed.stdout.startswith("![caf&#92;xe9 &#123;&#123; x &#125;&#125;.jpg](")
    manifest = json.loads((tmp_path / "out/in.json").read_text(encoding="utf-8"))
    assert manifest["photos"][0]["source"] == "caf\\xe9 {{ x }}.jpg"
