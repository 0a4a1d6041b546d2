"""Every markup style through a real `jekyll build`: the posts gallery writes, built offline by the
Debian jekyll, must reference files that exist with the sizes the markup claims, keep alt, title and
caption text intact, and never let a caption or file name inject HTML or run Liquid."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image

import pipeline
from pipeline.config.sections import MARKUP_STYLES
from pipeline.publish.post import update_post

from .conftest import block_of, fixture_photo, require_tool, run_gallery
from .support.rendered import Element, Page, read_html

# Hugo's shortcode is markup for Hugo only: tests/test_sites.py builds it with Hugo.
JEKYLL_STYLES = tuple(style for style in MARKUP_STYLES if style != "hugo")

TITLE = 'Tom\'s "{{ site.title }}" {% raw %} <b>bold</b> & [x](y) *z* \\ {%'
# In capture order (EXIF DateTimeOriginal 2008, 2015, 2019); the last name is hostile on purpose.
SOURCES = {
    "DSCN0010.jpg": "DSCN0010.jpg",
    "canon_hdr_NO.jpg": "canon_hdr_NO.jpg",
    "IMG_2682.heic": '{{ site.title }} & [iphone] "1" {% if %}.heic',
}
CAPTIONS = ["Caption with {{ site.title }} and {% raw %}", "<script>alert(1)</script> & &amp; \"q\" 'a'", ""]
BASEURL = "/blog"
SITE_CONFIG = "title: LEAKED-SITE-TITLE\nbaseurl: /blog\nplugins: []\nsafe: true\ndisable_disk_cache: true\n"
# Posts with captions: written through the library, as captions come from data, not flags.
CAPTIONED = ("html", "grid")


@dataclass(frozen=True)
class BuiltSite:
    root: Path  # Jekyll's _site
    pages: dict[str, Page]  # the built posts by style, parsed

    def file(self, url: str) -> Path:
        """The built file a URL points at; the URL must start with the baseurl Liquid produced."""
        assert url.startswith(f"{BASEURL}/assets/img/"), f"{url} does not start with the live baseurl"
        path = self.root / unquote(url.removeprefix(f"{BASEURL}/"))
        assert path.is_file(), f"{url} is not in the built site"
        return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    """One gallery run per style into one Jekyll site, one `jekyll build`; the built posts, parsed."""
    jekyll = require_tool("jekyll", "jekyll")
    work = tmp_path_factory.mktemp("jekyll")
    photos, source, built = work / "photos", work / "site", work / "_site"
    photos.mkdir()
    for fixture, name in SOURCES.items():
        shutil.copy(fixture_photo(fixture), photos / name)
    source.mkdir()
    (source / "_config.yml").write_text(SITE_CONFIG)
    common = ["--out", source / "assets/img", "--name", "trip", "--title", TITLE, "--alt", "{title} ({filename})"]
    common += ["--width", "480", "--width", "960", "--format", "webp", "--format", "avif", "--quiet"]
    for style in JEKYLL_STYLES:
        post = source / "_posts" / f"2024-06-23-{style}.md"
        completed = run_gallery("process", photos, *common, "--markup", style, "--post-file", post)
        assert completed.returncode == 0, completed.stderr
    for style in CAPTIONED:
        config = pipeline.load_config(None, output__dir=str(source / "assets/img"), output__name="trip")
        config = config.with_overrides(
            markup__style=style, variants__formats=("webp", "avif"), variants__widths=(480, 960)
        )
        result = pipeline.process(photos, config, text__title=TITLE, text__alt="{title} ({filename})")
        assert result.processed == 0, "the styles share one image set"
        captioned = [dataclasses.replace(p, caption=c) for p, c in zip(result.photos, CAPTIONS, strict=True)]
        post = update_post(None, block_of(captioned, config), TITLE, "2024-06-23")
        (source / "_posts" / f"2024-06-23-{style}-captions.md").write_text(post)
    completed = subprocess.run(
        [jekyll, "build", "--source", source, "--destination", built],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    pages = {}
    for post in sorted((source / "_posts").glob("*.md")):
        slug = post.stem.removeprefix("2024-06-23-")
        (built_post,) = built.glob(f"*/*/*/{slug}.html")  # Jekyll's /YYYY/MM/DD/slug.html
        html = built_post.read_text()
        assert "LEAKED" not in html, f"Liquid in user text executed in {slug}"
        pages[slug] = read_html(html)
    return BuiltSite(built, pages)


def _pixel_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _candidates(element: Element) -> list[tuple[str, int]]:
    pairs = [candidate.strip().rsplit(" ", 1) for candidate in element.attrs["srcset"].split(",")]
    return [(url, int(descriptor.removesuffix("w"))) for url, descriptor in pairs]


STYLE_PAGES = [*JEKYLL_STYLES, *(f"{style}-captions" for style in CAPTIONED)]


@pytest.mark.tool
@pytest.mark.parametrize("page", STYLE_PAGES)
def test_every_url_exists_with_the_sizes_the_markup_claims(site: BuiltSite, page: str) -> None:
    images = site.pages[page].all("img")
    assert len(images) == len(SOURCES)
    for element in images + site.pages[page].all("source"):
        if "src" in element.attrs:
            width, height = _pixel_size(site.file(element.attrs["src"]))
            if page != "markdown":  # the seed's one-liner carries no sizes
                assert (element.attrs["width"], element.attrs["height"]) == (str(width), str(height))
        if "srcset" in element.attrs:
            candidates = _candidates(element)
            assert [w for _, w in candidates] == sorted(w for _, w in candidates)
            for url, declared in candidates:
                assert _pixel_size(site.file(url))[0] == declared, url
            if element.tag == "source":
                with Image.open(site.file(candidates[0][0])) as image:
                    assert f"image/{image.format.lower()}" == element.attrs["type"]


@pytest.mark.tool
@pytest.mark.parametrize("page", STYLE_PAGES)
def test_alt_and_title_come_through_intact(site: BuiltSite, page: str) -> None:
    images = site.pages[page].all("img")
    assert [image.attrs["alt"] for image in images] == [f"{TITLE} ({name})" for name in SOURCES.values()]
    assert {image.attrs["title"] for image in images} == {TITLE}


@pytest.mark.tool
@pytest.mark.parametrize("page", STYLE_PAGES)
def test_no_markup_injected(site: BuiltSite, page: str) -> None:
    allowed = {"p", "img", "figure", "picture", "source", "figcaption", "div", "a"}
    assert {element.tag for element in site.pages[page].elements} <= allowed
    for element in site.pages[page].elements:
        if element.tag != "figcaption":
            assert not element.text.strip(), f"stray text in <{element.tag}>: {element.text!r}"
    assert site.pages[page].comments == [" gallery:start ", " gallery:end "]


@pytest.mark.tool
@pytest.mark.parametrize("style", CAPTIONED)
def test_captions_are_literal_text(site: BuiltSite, style: str) -> None:
    assert [element.text for element in site.pages[f"{style}-captions"].all("figcaption")] == [c for c in CAPTIONS if c]
    assert not site.pages[style].all("figcaption"), "no caption, no figcaption"


@pytest.mark.tool
def test_markdown_style_is_the_plain_one_liner(site: BuiltSite) -> None:
    for image in site.pages["markdown"].all("img"):
        assert set(image.attrs) == {"src", "alt", "title"}
        assert image.attrs["src"].endswith(".jpeg")


@pytest.mark.tool
@pytest.mark.parametrize("page", ["kramdown", "html", "grid"])
def test_responsive_attributes(site: BuiltSite, page: str) -> None:
    images = site.pages[page].all("img")
    assert "loading" not in images[0].attrs, "the first photo is likely above the fold: no lazy loading"
    assert all(image.attrs["loading"] == "lazy" for image in images[1:])
    assert all(image.attrs["decoding"] == "async" for image in images)
    if page == "kramdown":
        for image in images:
            assert {Path(url).suffix for url, _ in _candidates(image)} == {".webp"}
            assert image.attrs["sizes"] == pipeline.Config().markup.sizes


@pytest.mark.tool
def test_picture_sources_and_figures(site: BuiltSite) -> None:
    page = site.pages["html"]
    assert len(page.all("figure")) == len(page.all("picture")) == len(SOURCES)
    for picture_index in range(len(SOURCES)):
        sources = page.all("source")[2 * picture_index : 2 * picture_index + 2]
        assert [s.attrs["type"] for s in sources] == ["image/avif", "image/webp"]
        assert all(s.parents[-1] == "picture" for s in sources)
    for image in page.all("img"):
        assert image.parents[-2:] == ("figure", "picture")
        assert site.file(image.attrs["src"]).suffix == ".jpeg"


@pytest.mark.tool
def test_grid_thumbnails_link_to_full_size(site: BuiltSite) -> None:
    page = site.pages["grid"]
    links = page.all("a")
    assert len(links) == len(SOURCES)
    for link, image in zip(links, page.all("img"), strict=True):
        assert image.parents[-1] == "a" and "div" in image.parents
        thumbnail = _pixel_size(site.file(image.attrs["src"]))
        full = _pixel_size(site.file(link.attrs["href"]))
        assert thumbnail[0] == 320 and full[0] > thumbnail[0]
        assert abs(full[0] / full[1] - thumbnail[0] / thumbnail[1]) < 0.01
