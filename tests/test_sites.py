"""gallery's output in real Hugo and Eleventy builds, and its grid under PhotoSwipe 5 in Chromium.

Each site starts as a new, empty one (its config and a layout, nothing of gallery's); gallery's own
`process --post-file` run from the site's root puts in the images, manifest, post (and, for Hugo,
its shortcode) where the builder looks for them: Hugo found by its hugo.toml, Eleventy named with
--site. Then the real builder runs, offline, and every built page is read back: every image URL must
resolve to a file of the size the markup claims, alt/title/caption text must arrive literally
(nothing executed as Liquid, Hugo shortcode or HTML, no typography applied, nothing dropped as
"raw HTML omitted"). Each main site renders its photos once; further posts in it copy that render
(with gallery's state file), so their runs are cached re-runs that render nothing.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from pipeline.record.state import STATE_FILE

from .conftest import fixture_photo, run_gallery
from .support.rendered import Element, Page
from .support.sites import (
    HUGO_SHORTCODE,
    BuiltPage,
    EleventySite,
    EleventyStarter,
    HugoSite,
    JekyllSite,
    bookkeeping_published,
    built_files,
    check_built_page,
    dump_dom,
    image_files,
    node_package,
    resolve,
    serve,
    srcset_candidates,
)

HOSTILE = (
    "Quotes \"x\" 'y' it's -- ... <<x>> <b>bold</b> {{ site.title }} {% raw %} {{< gallery >}} {{% x %}} "
    "*md* _md_ [l](u)"
)
SITE_TITLE = "LEAKED-SITE-TITLE"  # the site's title: it shows up only if text ran as a template
PHOTOS = ("kodak-dc240.jpg", "DSCN0010.jpg", "canon_hdr_NO.jpg")  # capture order: 1999, 2008, 2015
CAPTION = f"Caption {HOSTILE} & &amp; <script>alert(1)</script>"
SECOND_ALT = "Alt {{< gallery >}} {{% x %}} " + HOSTILE
CAPTIONS_TOML = f"""["kodak-dc240.jpg"]
caption = {json.dumps(CAPTION)}

["DSCN0010.jpg"]
alt = {json.dumps(SECOND_ALT)}
"""
# What the built pages must show, from what this test wrote (never from gallery's manifest): per photo
# in capture order, the alt and title text; the one caption.
ALTS = [HOSTILE, SECOND_ALT, HOSTILE]
TITLES = [HOSTILE] * 3
RENDER = ["--name", "trip", "--title", HOSTILE, "-w", "480", "-w", "960"]
RENDER += ["-f", "jxl", "-f", "avif", "-f", "webp", "-f", "jpeg"]
QUICK = ["--name", "one", "--title", HOSTILE, "-w", "480", "-f", "jpeg"]  # one photo, one variant
SOURCE_TYPES = ["image/jxl", "image/avif", "image/webp"]  # <source> order in <picture>
DEFAULT_SIZES = "(max-width: 800px) 100vw, 800px"
SIZES = "(min-width: 60rem) 50vw, 100vw"  # markup.sizes in a settings file: the shortcode's `sizes`
PICTURE_TAGS = {"figure", "picture", "source", "img", "figcaption"}
SHORTCODE_WRITTEN = "written: gallery's Hugo shortcode"
FRONT_MATTER = re.compile(r"---\ntitle: (?P<title>.*)\ndate: \d{4}-\d{2}-\d{2}\n---\n\n")
MARKERS = ("<!-- gallery:start -->\n", "<!-- gallery:end -->\n")


def gallery(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    """`gallery process ...` run from CWD (a site's root), which must succeed."""
    completed = run_gallery("process", *args, cwd=cwd)
    assert completed.returncode == 0, completed.stderr
    return completed


def copy_render(source: Path, target: Path) -> None:
    """A render's images and gallery's state file: gallery's run into TARGET then renders nothing."""
    target.mkdir(parents=True, exist_ok=True)
    for file in (*source.glob("trip-*"), source / STATE_FILE):
        shutil.copy2(file, target / file.name)


def post_block(post: Path) -> str:
    """What gallery wrote into a post it created: front matter (title, date, no layout), then the
    block between the markers and nothing else."""
    text = post.read_text()
    front = FRONT_MATTER.match(text)
    assert front, text
    assert json.loads(front["title"]) == HOSTILE
    body = text[front.end() :]
    assert body.startswith(MARKERS[0]) and body.endswith(MARKERS[1]), body
    return body.removeprefix(MARKERS[0]).removesuffix(MARKERS[1])


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three photos with hostile text in captions.toml."""
    folder = tmp_path_factory.mktemp("photos")
    for name in PHOTOS:
        shutil.copy(fixture_photo(name), folder / name)
    (folder / "captions.toml").write_text(CAPTIONS_TOML)
    return folder


@pytest.fixture(scope="module")
def one_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("one-photo")
    shutil.copy(fixture_photo(PHOTOS[1]), folder)
    return folder


def _inside_main(page: Page) -> list[Element]:
    """The elements of the page's content: inside <main>, after its <h1> title."""
    return [element for element in page.elements if "main" in element.parents and element.tag != "h1"]


def _assert_text_literal(built: BuiltPage, images: list[Element], alts: list[str] = ALTS) -> None:
    """Alt and title arrive as the test typed them (TITLES: the title, HOSTILE, for every photo)."""
    assert SITE_TITLE not in built.html, "text ran as a template"
    assert [image.attrs["alt"] for image in images] == alts
    assert [image.attrs.get("title") for image in images] == [HOSTILE] * len(alts)


def _assert_loading(images: list[Element]) -> None:
    """The first image is fetched first, the others lazily."""
    assert images[0].attrs.get("fetchpriority") == "high" and "loading" not in images[0].attrs
    assert all(image.attrs.get("loading") == "lazy" and "fetchpriority" not in image.attrs for image in images[1:])


def _assert_pictures(page: Page, around: frozenset[str] = frozenset()) -> None:
    """Per photo a figure > picture with JPEG XL, AVIF and WebP sources, the JPEG <img>, a caption if any.

    AROUND: tags the builder may put around the block, without text of their own.
    """
    inside = _inside_main(page)
    assert {element.tag for element in inside} <= PICTURE_TAGS | around
    for element in inside:
        if element.tag != "figcaption":
            assert not element.text.strip(), f"stray text in <{element.tag}>: {element.text!r}"
    assert len(page.all("picture")) == len(PHOTOS)
    for index in range(len(PHOTOS)):
        sources = page.all("source")[3 * index : 3 * index + 3]
        assert [source.attrs["type"] for source in sources] == SOURCE_TYPES
        assert {source.attrs["sizes"] for source in sources} == {DEFAULT_SIZES}
    images = page.all("img")
    _assert_loading(images)
    assert all(image.attrs["decoding"] == "async" and image.attrs["srcset"] for image in images)
    assert all(image.parents[-2:] == ("figure", "picture") for image in images)
    assert [element.text for element in page.all("figcaption")] == [CAPTION]


def test_checker_catches_wrong_sizes_missing_files_and_dropped_html(tmp_path: Path) -> None:
    """The checker itself: a lying w descriptor, a missing file, a wrong type and Goldmark's omission fail."""
    (tmp_path / "post").mkdir()
    Image.new("RGB", (48, 32)).save(tmp_path / "a.jpeg")  # /a.jpeg, site-absolute
    Image.new("RGB", (48, 32)).save(tmp_path / "post" / "a.webp")  # a.webp, relative to the page /post/
    good = '<picture><source type="image/webp" srcset="a.webp 48w"><img src="/a.jpeg" width="48" height="32"></picture>'
    assert len(check_built_page(good, tmp_path, "/post/", base_path="/").images) == 1
    for bad in (
        good.replace("48w", "96w"),
        good.replace('width="48"', 'width="47"'),
        good.replace("/a.jpeg", "a.jpeg"),  # relative to /post/: /post/a.jpeg is not there
        good.replace("image/webp", "image/avif"),
        good.replace('"a.webp', '"https://example.org/a.webp'),
        good + "<p><!-- raw HTML omitted --></p>",
    ):
        with pytest.raises(AssertionError):
            check_built_page(bad, tmp_path, "/post/")


# --- Hugo -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltHugo:
    site: HugoSite
    runs: dict[str, subprocess.CompletedProcess]  # page bundle -> gallery's run; "trip-again" re-runs "trip"
    shortcode: tuple[bytes, int]  # gallery's shortcode file right after the first run: bytes, mtime_ns
    log: str

    def page(self, slug: str) -> BuiltPage:
        return self.site.page(slug, self.log)

    def manifest(self, slug: str) -> dict:
        return json.loads((self.site.bundle(slug) / "trip.json").read_text())


def _post(slug: str) -> str:
    return f"content/posts/{slug}/index.md"


@pytest.fixture(scope="module")
def hugo(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltHugo:
    """A new Hugo site (found by its hugo.toml: no --site) and gallery's page bundles: its default
    (the shortcode), run twice; with markup.sizes from a settings file; the markdown style."""
    work = tmp_path_factory.mktemp("hugo")
    site = HugoSite(work, title=SITE_TITLE)
    runs = {"trip": gallery(photos, "--post-file", _post("trip"), *RENDER, cwd=site.root)}
    shortcode = (site.shortcode.read_bytes(), site.shortcode.stat().st_mtime_ns)
    runs["trip-again"] = gallery(photos, "--post-file", _post("trip"), *RENDER, cwd=site.root)
    for slug in ("trip-sizes", "trip-markdown"):
        copy_render(site.bundle("trip"), site.bundle(slug))
    settings = work / "sizes.toml"
    settings.write_text(f"[markup]\nsizes = {json.dumps(SIZES)}\n")
    runs["trip-sizes"] = gallery(
        photos, "--post-file", _post("trip-sizes"), *RENDER, "--config", settings, cwd=site.root
    )
    markdown = ["--post-file", _post("trip-markdown"), "--markup", "markdown"]
    runs["trip-markdown"] = gallery(photos, *markdown, *RENDER, cwd=site.root)
    return BuiltHugo(site, runs, shortcode, site.build())


@pytest.mark.tool
def test_hugo_gallery_writes_its_shortcode_once(hugo: BuiltHugo) -> None:
    assert SHORTCODE_WRITTEN in hugo.runs["trip"].stderr
    assert hugo.shortcode[0] == HUGO_SHORTCODE.read_bytes()
    for slug in ("trip-again", "trip-sizes", "trip-markdown"):
        assert "shortcode" not in hugo.runs[slug].stderr, hugo.runs[slug].stderr
    assert (hugo.site.shortcode.read_bytes(), hugo.site.shortcode.stat().st_mtime_ns) == hugo.shortcode


@pytest.mark.tool
def test_hugo_bundle_holds_post_manifest_and_images(hugo: BuiltHugo) -> None:
    bundle = hugo.site.bundle("trip")
    assert post_block(bundle / "index.md") == '{{< gallery name="trip" >}}\n'
    assert (
        post_block(hugo.site.bundle("trip-sizes") / "index.md") == f'{{{{< gallery name="trip" sizes="{SIZES}" >}}}}\n'
    )
    manifest = hugo.manifest("trip")
    assert {output["url"] for photo in manifest["photos"] for output in photo["outputs"]} == {
        file.name for file in bundle.glob("trip-*")
    }, "URLs relative to the page: the file names"
    assert "post content/posts/trip/index.md: created" in hugo.runs["trip"].stderr
    assert "post " not in hugo.runs["trip-again"].stderr, "the re-run left the post as it was"
    assert (bundle / STATE_FILE).is_file()


@pytest.mark.tool
def test_hugo_publishes_pages_images_and_manifests_only(hugo: BuiltHugo) -> None:
    """gallery's bookkeeping (record, journal, lock) under any name would give away local paths,
    source file names, cameras and serial numbers: the built site holds each bundle's page, the
    images Pillow opens among its files, and its manifest (published on purpose), nothing else."""
    expected = set()
    for slug in ("trip", "trip-sizes", "trip-markdown"):
        published = {"index.html", "trip.json", *image_files(hugo.site.bundle(slug))}
        expected |= {f"posts/{slug}/{name}" for name in published}
    assert built_files(hugo.site.public) == expected


@pytest.mark.tool
def test_hugo_shortcode_urls_resolve_to_files_of_the_claimed_sizes(hugo: BuiltHugo) -> None:
    built, manifest = hugo.page("trip"), hugo.manifest("trip")
    checked = check_built_page(built.html, built.public, built.url_path, base_path=built.base_path)
    assert len(checked.images) == len(PHOTOS)
    every_file = {output["file"] for photo in manifest["photos"] for output in photo["outputs"]}
    assert {path.name for path in checked.files.values()} == every_file - {f"trip-0{n}-thumb.webp" for n in (1, 2, 3)}
    assert all(url.startswith("/blog/posts/trip/") for url in checked.files), "bundle URLs follow baseURL"


@pytest.mark.tool
def test_hugo_shortcode_renders_pictures_with_literal_text(hugo: BuiltHugo) -> None:
    built = hugo.page("trip")
    checked = check_built_page(built.html, built.public, built.url_path, base_path=built.base_path)
    _assert_text_literal(built, checked.images)
    _assert_pictures(checked.page, around=frozenset({"p"}))
    assert not checked.page.all("b") and not checked.page.all("script")
    assert [element.text for element in checked.page.all("h1")] == [HOSTILE], "Hugo read gallery's front matter"


@pytest.mark.tool
def test_hugo_shortcode_takes_sizes(hugo: BuiltHugo) -> None:
    built = hugo.page("trip-sizes")
    page = check_built_page(built.html, built.public, built.url_path, base_path=built.base_path).page
    assert {element.attrs["sizes"] for element in page.all("source") + page.all("img")} == {SIZES}


@pytest.mark.tool
def test_hugo_reads_gallerys_markdown_post_literally(hugo: BuiltHugo) -> None:
    """The markdown style in a bundle: shortcode syntax, Liquid and Markdown in the text stay text, and
    Hugo's typographer leaves ' -- ... << alone (gallery writes them as character references)."""
    built = hugo.page("trip-markdown")
    block = post_block(hugo.site.bundle("trip-markdown") / "index.md")
    assert block.startswith("![") and "](trip-01.jpeg " in block, block
    checked = check_built_page(built.html, built.public, built.url_path, base_path=built.base_path)
    assert [element.text for element in checked.page.all("h1")] == [HOSTILE]
    assert {element.tag for element in _inside_main(checked.page)} == {"p", "img"}
    assert len(checked.images) == 3
    _assert_text_literal(built, checked.images)


OWN_SHORTCODE = '<p class="own-shortcode">{{ .Get "name" }}</p>\n'


@pytest.mark.tool
@pytest.mark.parametrize("own", ["layouts/shortcodes/gallery.html", "layouts/_shortcodes/gallery.html"])
def test_hugo_keeps_a_sites_own_shortcode(own: str, one_photo: Path, tmp_path: Path) -> None:
    site = HugoSite(tmp_path)
    (site.root / own).parent.mkdir(parents=True)
    (site.root / own).write_text(OWN_SHORTCODE)
    run = gallery(one_photo, "--post-file", _post("one"), *QUICK, cwd=site.root)
    assert "shortcode" not in run.stderr, run.stderr
    assert (site.root / own).read_text() == OWN_SHORTCODE
    assert sorted(path.relative_to(site.root).as_posix() for path in site.root.glob("layouts/*/gallery.html")) == [own]
    site.build()
    assert '<p class="own-shortcode">one</p>' in site.page("one").html, "the site's own shortcode rendered"


MARKUP_TABLES = '[markup.goldmark.renderer]\nunsafe = false\n[markup.highlight]\nstyle = "monokai"\n'
OTHER_TABLES = '[imaging]\nresampleFilter = "lanczos"\n[params]\nauthor = "A"\n'


@pytest.mark.tool
@pytest.mark.parametrize("top_level", [True, False], ids=["with-top-level-keys", "tables-only"])
def test_hugo_config_toml_is_not_gallerys(top_level: bool, one_photo: Path, tmp_path: Path) -> None:
    """An older site's config.toml (beside content/) marks a Hugo site and is never read as gallery's
    settings: Hugo's [markup] has the name of gallery's section, and a file of tables only once
    passed for gallery's own."""
    extra = MARKUP_TABLES + (OTHER_TABLES if top_level else "")  # tables-only: every table named as gallery's
    site = HugoSite(tmp_path, title=SITE_TITLE, config="config.toml", extra=extra, top_level=top_level)
    assert not (site.root / "hugo.toml").exists()
    run = gallery(one_photo, "--post-file", _post("one"), *QUICK, cwd=site.root)
    assert SHORTCODE_WRITTEN in run.stderr, "config.toml beside content/ is a Hugo site"
    assert "settings: built-in defaults" in run.stderr.splitlines()
    assert post_block(site.bundle("one") / "index.md") == '{{< gallery name="one" >}}\n'
    built = site.page("one", site.build())
    checked = check_built_page(built.html, built.public, built.url_path, base_path=built.base_path)
    assert len(checked.images) == 1 and checked.images[0].attrs["srcset"]
    _assert_text_literal(built, checked.images, alts=[HOSTILE])


@pytest.mark.tool
def test_hugo_site_in_yaml_with_a_theme(hugo: BuiltHugo, photos: Path, tmp_path: Path) -> None:
    """A site shaped like PaperMod's example site: config.yml beside content/ and themes/, the theme
    named as a YAML list, its layouts in the theme. gallery finds it from the site's root."""
    site = HugoSite(tmp_path, title=SITE_TITLE, config="config.yml", theme="paper")
    copy_render(hugo.site.bundle("trip"), site.bundle("trip"))
    run = gallery(photos, "--post-file", _post("trip"), *RENDER, cwd=site.root)
    assert SHORTCODE_WRITTEN in run.stderr and "no theme" not in run.stderr
    assert "0 processed" in run.stderr, "the render was shared"
    assert post_block(site.bundle("trip") / "index.md") == '{{< gallery name="trip" >}}\n'
    built = site.page("trip", site.build())
    checked = check_built_page(built.html, built.public, built.url_path, base_path=built.base_path)
    _assert_text_literal(built, checked.images)
    _assert_pictures(checked.page, around=frozenset({"p"}))
    assert [element.text for element in checked.page.all("h1")] == [HOSTILE]


def test_hugo_new_site_without_theme_or_layouts_is_warned_of(one_photo: Path, tmp_path: Path) -> None:
    """What `hugo new site` makes: a config and empty folders. Hugo builds no page for a post there."""
    site = tmp_path / "new-site"
    for folder in ("archetypes", "assets", "content", "data", "i18n", "layouts", "static", "themes"):
        (site / folder).mkdir(parents=True)
    (site / "hugo.toml").write_text("baseURL = 'https://example.org/'\ntitle = 'My New Hugo Project'\n")
    warning = f"warning: the Hugo site {site.resolve()} has no theme and no layout for single pages"
    run = gallery(one_photo, "--post-file", _post("one"), *QUICK, cwd=site)
    assert warning in run.stderr
    assert sum(line.startswith(warning) for line in run.stderr.splitlines()) == 1, "one line"
    (site / "layouts" / "page.html").write_text("{{ .Content }}")
    assert "no theme" not in gallery(one_photo, "--post-file", _post("one"), *QUICK, cwd=site).stderr
    (site / "layouts" / "page.html").unlink()
    (site / "hugo.toml").write_text("theme = 'ananke'\n", encoding="utf-8")
    assert "no theme" not in gallery(one_photo, "--post-file", _post("one"), *QUICK, cwd=site).stderr


# --- Eleventy ---------------------------------------------------------------------------------------------

LOOP_LIQUID = """---
layout: post
title: Loop
---
{%- for photo in trip.photos %}
{%- assign main = photo.outputs | where: "role", "main" | first %}
<img src="{{ main.url | escape }}" width="{{ main.width }}" height="{{ main.height }}" \
alt="{{ photo.alt | escape }}" title="{{ photo.title | escape }}" loading="lazy">
{%- endfor %}
"""
LOOP_NUNJUCKS = """---
layout: post
title: Loop
---
{% for photo in trip.photos %}{% for o in photo.outputs %}{% if o.role == "main" %}
<img src="{{ o.url | escape }}" width="{{ o.width }}" height="{{ o.height }}" \
alt="{{ photo.alt | escape }}" title="{{ photo.title | escape }}" loading="lazy">
{% endif %}{% endfor %}{% endfor %}
"""
ELEVENTY_PAGES = ["/posts/trip/", "/gallery-loop/", "/gallery-loop-njk/"]
MARKDOWN_IT_ALT = (
    "markdown-it 14 (Eleventy 3) leaves character references and backslash escapes out of image alt text "
    "(markdown-it issue #1142, PR #1184): gallery's escaped { } [ ] * _ \" < > ' vanish, which is why the "
    "Eleventy preset writes the html style"
)


@dataclass(frozen=True)
class EleventyRuns:
    site: EleventySite
    runs: dict[str, subprocess.CompletedProcess]  # post -> gallery's run writing it


@pytest.fixture(scope="module")
def eleventy_site(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> EleventyRuns:
    """A new Eleventy site (named with --site) and gallery's posts: its default (html style) with the
    manifest in _data, the markdown style, and two loops over the manifest."""
    site = EleventySite(tmp_path_factory.mktemp("eleventy"), title=SITE_TITLE)
    runs = {"trip": gallery(photos, "--site", "eleventy", "--post-file", "posts/trip.md", *RENDER, cwd=site.root)}
    markdown = ["--markup", "markdown", "--manifest", ""]
    runs["trip-markdown"] = gallery(photos, "--site", "eleventy", "--post-file", "posts/trip-markdown.md", *markdown,
                                    *RENDER, cwd=site.root)  # fmt: skip
    site.add("gallery-loop.liquid", LOOP_LIQUID)
    site.add("gallery-loop-njk.njk", LOOP_NUNJUCKS)
    return EleventyRuns(site, runs)


@dataclass(frozen=True)
class BuiltEleventy:
    site: EleventySite
    manifest: dict  # _data/trip.json
    log: str

    def page(self, url_path: str) -> BuiltPage:
        return self.site.page(url_path, self.log)


@pytest.fixture(scope="module")
def eleventy(eleventy_site: EleventyRuns) -> BuiltEleventy:
    site = eleventy_site.site
    return BuiltEleventy(site, json.loads((site.root / "_data" / "trip.json").read_text()), site.build())


@pytest.mark.tool
def test_eleventy_site_holds_post_manifest_and_images(eleventy_site: EleventyRuns) -> None:
    root = eleventy_site.site.root
    block = post_block(root / "posts" / "trip.md")
    assert block.startswith("<figure>\n<picture>\n") and block.count("<figure>") == 3, block
    assert post_block(root / "posts" / "trip-markdown.md").startswith("![")
    manifest = json.loads((root / "_data" / "trip.json").read_text())
    urls = {output["url"] for photo in manifest["photos"] for output in photo["outputs"]}
    assert urls == {f"/assets/img/{file.name}" for file in (root / "assets" / "img").glob("trip-*")}
    assert not (root / "layouts").exists() and "written" not in eleventy_site.runs["trip"].stderr


@pytest.mark.tool
@pytest.mark.parametrize("url_path", ELEVENTY_PAGES)
def test_eleventy_pages_resolve_and_keep_text_literal(eleventy: BuiltEleventy, url_path: str) -> None:
    built = eleventy.page(url_path)
    checked = check_built_page(built.html, built.public, built.url_path)
    assert len(checked.images) == 3
    assert all(url.startswith("/assets/img/") for url in checked.files)
    _assert_text_literal(built, checked.images)
    assert not checked.page.all("b") and not checked.page.all("script")
    if url_path == "/posts/trip/":
        _assert_pictures(checked.page)
        assert checked.page.comments == [" gallery:start ", " gallery:end "]
        assert [element.text for element in checked.page.all("h1")] == [HOSTILE], "the layout read the front matter"
    else:
        assert {element.tag for element in _inside_main(checked.page)} == {"img"}
        assert all(image.attrs["width"] for image in checked.images)


@pytest.mark.tool
def test_eleventy_markdown_post_keeps_templates_inert(eleventy: BuiltEleventy) -> None:
    """Liquid runs over the post first: braces in gallery's text never execute, and titles are exact."""
    built = eleventy.page("/posts/trip-markdown/")
    checked = check_built_page(built.html, built.public, built.url_path)
    assert SITE_TITLE not in built.html
    assert {element.tag for element in _inside_main(checked.page)} == {"p", "img"}
    assert [image.attrs["title"] for image in checked.images] == TITLES


class MarkdownItDropsEscapes(Exception):
    """The one failure the markdown style's alt text is expected to show under Eleventy: see MARKDOWN_IT_ALT."""


# What gallery's markdown style writes as character references or backslash escapes in alt text
# (markup._MARKDOWN_ESCAPES, and the second of each `--` and `..` for typographers).
MARKDOWN_ESCAPED = set("&<>\"{}[]\\`*_$|~^'-.")


def dropped_characters(full: str, shown: str) -> str | None:
    """The characters of FULL missing from SHOWN, when SHOWN is FULL with characters left out; else None."""
    missing, kept = [], iter(shown)
    pending = next(kept, None)
    for character in full:
        if character == pending:
            pending = next(kept, None)
        else:
            missing.append(character)
    return "".join(missing) if pending is None else None


@pytest.mark.tool
@pytest.mark.xfail(strict=True, raises=MarkdownItDropsEscapes, reason=MARKDOWN_IT_ALT)
def test_eleventy_markdown_alt_is_exact(eleventy: BuiltEleventy) -> None:
    """Expected to fail in exactly one way: escaped punctuation vanishes from the alt text, nothing else
    differs. Any other failure (a fixture, a build, another difference) is a real failure."""
    built = eleventy.page("/posts/trip-markdown/")
    checked = check_built_page(built.html, built.public, built.url_path)
    shown = [image.attrs["alt"] for image in checked.images]
    assert len(shown) == len(ALTS) == 3
    if shown != ALTS:
        lost = [dropped_characters(full, alt) for full, alt in zip(ALTS, shown, strict=True)]
        assert all(part is not None and set(part) <= MARKDOWN_ESCAPED for part in lost), (shown, ALTS)
        raise MarkdownItDropsEscapes(f"markdown-it left out {sorted(set(''.join(lost)))} of the alt text")


@pytest.mark.tool
def test_eleventy_publishes_pages_and_images_only(eleventy: BuiltEleventy) -> None:
    """The built site holds the pages and the images Pillow opens in gallery's output folder: none
    of gallery's bookkeeping, under any name."""
    pages = {f"{url.strip('/')}/index.html" for url in (*ELEVENTY_PAGES, "/posts/trip-markdown/")}
    images = {f"assets/img/{name}" for name in image_files(eleventy.site.root / "assets" / "img")}
    assert built_files(eleventy.site.public) == pages | images


# --- Eleventy's starter blog -----------------------------------------------------------------------------

PASSTHROUGH_ADVICE = re.compile(
    r"^warning: eleventy\.config\.js does not copy assets/img into the built site: "
    r"add this line to it: (?P<line>eleventyConfig\.addPassthroughCopy\(.*\);)$",
    re.M,
)
PATH_PREFIX = "/pp/"
STARTER_PAGES = ["/blog/trip/", "/notes/trip-notes/"]


@dataclass(frozen=True)
class BuiltStarter:
    site: EleventyStarter
    runs: dict[str, subprocess.CompletedProcess]
    logs: dict[str, str]  # path prefix -> Eleventy's log of the build with it

    def page(self, url_path: str, prefix: str) -> BuiltPage:
        output = "_site" if prefix == "/" else "_site_prefixed"
        return self.site.page(url_path, output, prefix, self.logs[prefix])


@pytest.fixture(scope="module")
def starter(eleventy_site: EleventyRuns, photos: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltStarter:
    """A site shaped like Eleventy's starter blog, found by its eleventy.config.js: a post in
    content/blog/ (its layout from directory data) and one in content/notes/ (none there). The one
    line of configuration gallery prints is added as docs/sites.md says; then two builds, the
    second with --pathprefix."""
    site = EleventyStarter(tmp_path_factory.mktemp("starter"), title=SITE_TITLE)
    copy_render(eleventy_site.site.root / "assets" / "img", site.root / "assets" / "img")
    runs = {"trip": gallery(photos, "--post-file", "content/blog/trip.md", *RENDER, cwd=site.root)}
    runs["notes"] = gallery(photos, "--post-file", "content/notes/trip-notes.md", *RENDER, cwd=site.root)
    advice = PASSTHROUGH_ADVICE.search(runs["trip"].stderr)
    assert advice, runs["trip"].stderr
    config = site.config.read_text()
    site.config.write_text(config.replace("\n};\n", f"\n  {advice['line']}\n}};\n", 1))
    logs = {"/": site.build(), PATH_PREFIX: site.build("_site_prefixed", PATH_PREFIX)}
    return BuiltStarter(site, runs, logs)


@pytest.mark.tool
def test_starter_gets_its_data_folder_layouts_and_one_line_of_advice(starter: BuiltStarter) -> None:
    root = starter.site.root
    assert "0 processed" in starter.runs["trip"].stderr, "the render was shared"
    assert (root / "_data" / "trip.json").is_file() and not (root / "content" / "_data").exists()
    assert post_block(root / "content" / "blog" / "trip.md").startswith("<figure>\n<picture>\n")
    notes = (root / "content" / "notes" / "trip-notes.md").read_text()
    assert notes.startswith("---\nlayout: layouts/post.njk\ntitle: "), "no directory data there: the site's post layout"
    images = root / "assets" / "img"
    assert bookkeeping_published(root / "_site", images) == bookkeeping_published(root / "_site_prefixed", images) == []


@pytest.mark.tool
@pytest.mark.parametrize("prefix", ["/", PATH_PREFIX])
@pytest.mark.parametrize("url_path", STARTER_PAGES)
def test_starter_pages_resolve_under_the_image_transform(starter: BuiltStarter, url_path: str, prefix: str) -> None:
    """Every image of gallery's posts resolves, under --pathprefix too, with eleventy-img's transform
    on every page (the site's own post shows its PNG through it); text arrives as typed."""
    built = starter.page(url_path, prefix)
    checked = check_built_page(built.html, built.public, built.url_path, base_path=built.base_path)
    assert checked.files and all(url.startswith(f"{prefix}assets/img/trip-") for url in checked.files)
    _assert_text_literal(built, checked.images)
    _assert_pictures(checked.page)
    assert [element.text for element in checked.page.all("h1")] == [HOSTILE], "the post layout rendered"
    own = starter.page("/blog/own/", prefix)
    transformed = check_built_page(own.html, own.public, own.url_path, base_path=own.base_path)
    assert {source.attrs["type"] for source in transformed.page.all("source")} >= {"image/avif", "image/webp"}
    assert all(url.startswith(f"{prefix}blog/own/") for url in transformed.files), "eleventy-img made its own images"


# --- Jekyll on minima ------------------------------------------------------------------------------------


@pytest.mark.tool
def test_jekyll_site_on_minima(eleventy_site: EleventyRuns, photos: Path, tmp_path: Path) -> None:
    """A site as `jekyll new` makes it (minima, under a baseurl): gallery found by its _config.yml,
    the post with `layout: post`, the kramdown lines responsive."""
    site = JekyllSite(tmp_path, title=SITE_TITLE)
    copy_render(eleventy_site.site.root / "assets" / "img", site.root / "assets" / "img")
    post = ["--post-file", "_posts/2024-06-23-trip.md", "--markup", "kramdown"]
    run = gallery(photos, *post, *RENDER, cwd=site.root)
    assert "0 processed" in run.stderr, "the render was shared"
    assert (site.root / post[1]).read_text().startswith("---\nlayout: post\n")
    built = site.page("2024/06/23/trip.html", site.build())
    checked = check_built_page(built.html, built.public, built.url_path, base_path=built.base_path)
    content = checked.images  # minima's pages show no image of their own
    assert len(content) == 3 and all(image.attrs["srcset"] for image in content)
    assert all(url.startswith("/blog/assets/img/trip-") for url in checked.files)
    assert [image.attrs["alt"] for image in content] == ALTS
    assert [image.attrs["title"] for image in content] == TITLES
    assert [element.text for element in checked.page.all("h1")] == [HOSTILE], "minima's post layout"
    assert bookkeeping_published(built.public, site.root / "assets" / "img") == []


# --- PhotoSwipe -------------------------------------------------------------------------------------------

PHOTOSWIPE_INIT = """<script type="module">
import PhotoSwipeLightbox from '/pswp/photoswipe-lightbox.esm.js';
new PhotoSwipeLightbox({
  gallery: '.gallery', children: 'a', pswpModule: () => import('/pswp/photoswipe.esm.js'),
}).init();
</script>"""
# Test-only: once loaded, click (where a user would) the 2nd thumbnail, wait for the lightbox's image,
# report what it shows in <pre id="probe">.
PROBE = """<script type="module">
const report = (value) => {
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(value);
  document.body.append(pre);
};
const errors = [];
addEventListener('error', (event) => errors.push(String(event.message || event)));
addEventListener('load', () => {
  const box = document.querySelectorAll('.gallery a')[1].getBoundingClientRect();
  document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2).click();
  const started = performance.now();
  const poll = () => {
    const image = document.querySelector(
      '.pswp__item[aria-hidden="false"] img.pswp__img:not(.pswp__img--placeholder)');
    if (document.querySelector('.pswp.pswp--open') && image && image.complete && image.naturalWidth) {
      const shown = image.getBoundingClientRect();
      report({open: true, src: image.currentSrc || image.src, natural: [image.naturalWidth, image.naturalHeight],
              shown: [shown.width, shown.height], counter: document.querySelector('.pswp__counter')?.textContent,
              errors});
    } else if (performance.now() - started > 8000) {
      report({open: Boolean(document.querySelector('.pswp--open')), errors});
    } else setTimeout(poll, 50);
  };
  poll();
});
</script>"""


@pytest.mark.tool
def test_photoswipe_opens_the_second_photo_at_its_size(
    eleventy_site: EleventyRuns, photos: Path, tmp_path: Path
) -> None:
    """gallery's grid as it writes it (sizes and srcset on the links), under PhotoSwipe 5 in Chromium."""
    dist = node_package("photoswipe") / "dist"
    root = tmp_path / "www"
    (root / "pswp").mkdir(parents=True)
    for name in ("photoswipe-lightbox.esm.js", "photoswipe.esm.js", "photoswipe.css"):
        shutil.copy(dist / name, root / "pswp" / name)
    copy_render(eleventy_site.site.root / "assets" / "img", root)
    grid_style = ["--out", root, "--url-prefix", "", "--markup", "grid", "--manifest", ""]
    grid = gallery(photos, *grid_style, *RENDER, cwd=tmp_path).stdout
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>PhotoSwipe</title>\n'
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/pswp/photoswipe.css"></head>\n'
        f"<body>\n{grid}{PHOTOSWIPE_INIT}\n{PROBE}\n</body></html>\n"
    )
    (root / "index.html").write_text(page)
    checked = check_built_page(page.replace(PROBE, "").replace(PHOTOSWIPE_INIT, ""), root, "/index.html")
    links = checked.page.all("a")
    assert len(links) == 3 and all("data-pswp-width" in link.attrs and link.attrs["data-pswp-srcset"] for link in links)
    _assert_loading(checked.images)
    second = links[1].attrs
    offered = {resolve(url, root, "/index.html") for url, _ in srcset_candidates(second["data-pswp-srcset"])}
    offered.add(resolve(second["href"], root, "/index.html"))
    with serve(root) as origin:
        dom = dump_dom(f"{origin}/index.html", tmp_path / "profile")
        probe = re.search(r'<pre id="probe">(.*?)</pre>', dom)
        assert probe, f"the probe reported nothing:\n{dom[-2000:]}"
        shown = json.loads(html.unescape(probe.group(1)))
    assert shown["open"] and not shown["errors"], shown
    assert shown["counter"] == "2 / 3"
    file = resolve(shown["src"].removeprefix(origin), root, "/index.html")
    assert file in offered, f"{shown['src']} is neither the 2nd main image nor one of its variants"
    with Image.open(file) as image:
        assert shown["natural"] == list(image.size), "the browser decoded the file at its real size"
    width, height = shown["shown"]
    assert abs(width / height - int(second["data-pswp-width"]) / int(second["data-pswp-height"])) < 0.01
