"""What gallery reads from a site's own configuration (as text, never run), what it says a site still
lacks, and the markup setting that keeps eleventy-img's transform off gallery's images.

The real builds of these sites are in tests/test_sites.py; here each reading is checked on the
shapes the builders' starters and popular themes write, in a few milliseconds.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import pipeline
from pipeline.config.sections import ConfigError
from pipeline.publish.post import update_post
from pipeline.sites import config_files as site_config
from pipeline.sites import presets

from .conftest import block_of, fixture_photo
from .support.rendered import read_html
from .support.sites import ELEVENTY_CONFIG, STARTER_CONFIG

# A CommonJS config in the shape of older starters (.eleventy.js): folders returned, copies by name,
# and a commented-out line that must count for nothing.
OLDER_CONFIG = """const { DateTime } = require("luxon");
module.exports = function (eleventyConfig) {
  eleventyConfig.addPassthroughCopy("img");
  eleventyConfig.addPassthroughCopy("css");
  // eleventyConfig.addPassthroughCopy("assets/img/*.{jpeg,webp}");
  /* return { dir: { input: "commented-out" } }; */
  return {
    pathPrefix: "https://example.org/",
    dir: { "input": "src", "includes": "_includes", "layouts": "_layouts", "data": "_data", "output": "_site" },
  };
};
"""
SETTERS_CONFIG = """export default function (eleventyConfig) {
  eleventyConfig.setInputDirectory("site");
  eleventyConfig.setDataDirectory("../data");
  eleventyConfig.addPassthroughCopy({ "assets/img/*.{jpeg,webp,avif,jxl}": "assets/img" }, { dot: false });
}
"""


def test_eleventy_starter_config_is_read(tmp_path: Path) -> None:
    read = _eleventy(tmp_path, STARTER_CONFIG)
    assert (read.input, read.includes, read.data, read.output) == ("content", "../_includes", "../_data", "_site")
    assert read.folder("data") == "_data" and read.folder("includes") == "_includes"
    assert read.copies == (("./public/", "/"),) and read.image_transform
    assert read.publishes("public/img") == "folder" and read.publishes("assets/img") == ""


def test_older_and_setter_configs_are_read(tmp_path: Path) -> None:
    older = _eleventy(tmp_path, OLDER_CONFIG)
    assert (older.input, older.layouts, older.folder("data")) == ("src", "_layouts", "src/_data")
    assert older.copies == (("img", ""), ("css", "")) and not older.image_transform
    assert older.publishes("img") == "folder" and older.publishes("assets/img") == ""
    setters = _eleventy(tmp_path, SETTERS_CONFIG)
    assert (setters.input, setters.folder("data")) == ("site", "data")
    assert setters.publishes("assets/img") == "files"
    assert _eleventy(tmp_path, ELEVENTY_CONFIG).publishes("assets/img") == "files"


def _eleventy(folder: Path, text: str) -> site_config.EleventyConfig:
    file = folder / "eleventy.config.js"
    file.write_text(text)
    return site_config.read_eleventy(file)


@pytest.mark.parametrize(
    ("config", "advice"),
    [
        (
            STARTER_CONFIG,
            'add this line to it: eleventyConfig.addPassthroughCopy("assets/img/*.{jpeg,webp,avif,jxl}");',
        ),
        (ELEVENTY_CONFIG, None),
        (SETTERS_CONFIG, None),
        ('module.exports = (c) => { c.addPassthroughCopy("assets"); };', "copies assets/img whole, dot files included"),
    ],
    ids=["starter", "copies-the-files", "copies-the-files-by-object", "copies-the-folder"],
)
def test_eleventy_advice_names_the_file_and_the_line(tmp_path: Path, config: str, advice: str | None) -> None:
    (tmp_path / "eleventy.config.js").write_text(config)
    site = presets.choose("", tmp_path)
    assert site == presets.Site("eleventy", tmp_path.resolve())
    settings = pipeline.Config().with_overrides(**presets.preset(site, ""))
    said = presets.advice(site, settings.output.dir, settings.output.post_file)
    if advice is None:
        assert said == []
    else:
        assert len(said) == 1 and said[0].startswith("eleventy.config.js ") and advice in said[0], said


def test_the_eleventy_preset_follows_the_config(tmp_path: Path) -> None:
    (tmp_path / "eleventy.config.js").write_text(STARTER_CONFIG)
    preset = presets.preset(presets.choose("", tmp_path), "")  # type: ignore[arg-type]
    assert preset["output__manifest"] == str(tmp_path.resolve() / "_data" / "{name}.json")
    assert preset["markup__img_attributes"] == {"eleventy:ignore": ""}
    (tmp_path / "eleventy.config.js").write_text(ELEVENTY_CONFIG)
    assert "markup__img_attributes" not in presets.preset(presets.choose("", tmp_path), "")  # type: ignore[arg-type]


def test_a_new_eleventy_post_takes_the_layout_its_folder_lacks(tmp_path: Path) -> None:
    (tmp_path / "eleventy.config.js").write_text(STARTER_CONFIG)
    (tmp_path / "content" / "blog").mkdir(parents=True)
    (tmp_path / "content" / "blog" / "blog.11tydata.js").write_text('export default { layout: "layouts/post.njk" };\n')
    assert presets.new_post_layout("eleventy", tmp_path / "content" / "notes" / "a.md") == ""
    (tmp_path / "_includes" / "layouts").mkdir(parents=True)
    (tmp_path / "_includes" / "layouts" / "post.njk").write_text("{{ content | safe }}")
    assert presets.new_post_layout("eleventy", tmp_path / "content" / "blog" / "a.md") == ""
    assert presets.new_post_layout("eleventy", tmp_path / "content" / "notes" / "a.md") == "layouts/post.njk"
    assert presets.new_post_layout("jekyll", tmp_path / "_posts" / "a.md") is None
    front = update_post(None, "x\n", "T", "2024-06-23", "eleventy", "layouts/post.njk")
    assert front.startswith('---\nlayout: layouts/post.njk\ntitle: "T"\ndate: 2024-06-23\n---\n')
    assert update_post(None, "x\n", "T", "2024-06-23", "eleventy", "my layout").startswith('---\nlayout: "my layout"\n')
    assert update_post(None, "x\n", "T", "2024-06-23").startswith("---\nlayout: post\n"), "Jekyll's, as before"
    assert "layout" not in update_post(None, "x\n", "T", "2024-06-23", "hugo") and "draft" not in front


@pytest.mark.parametrize(
    ("file", "text", "theme"),
    [
        ("hugo.toml", 'theme = "ananke"\n', True),
        ("config.yml", "baseURL: /\ntheme: [hugo-PaperMod]\n", True),
        ("hugo.json", '{"theme": "x"}', True),
        ("config/_default/module.toml", '[[imports]]\npath = "github.com/theNewDynamic/gohugo-theme-ananke"\n', True),
        ("hugo.toml", "baseURL = 'https://example.org/'\ntitle = 'My New Hugo Project'\n", False),
        ("hugo.toml", "# theme = 'commented'\n[params]\nsubtheme = 1\n", False),
    ],
)
def test_a_hugo_theme_is_found_in_every_config_form(tmp_path: Path, file: str, text: str, theme: bool) -> None:
    (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / file).write_text(text)
    assert site_config.hugo_has_theme(tmp_path) is theme


@pytest.mark.parametrize(
    ("layout", "found"),
    [
        ("_default/single.html", True),
        ("page.html", True),
        ("posts/single.html", True),
        ("all.html", True),
        ("_partials/page.html", False),
        ("shortcodes/single.html", False),
        ("_default/baseof.html", False),
    ],
)
def test_a_hugo_page_layout_is_found(tmp_path: Path, layout: str, found: bool) -> None:
    (tmp_path / "layouts" / layout).parent.mkdir(parents=True)
    (tmp_path / "layouts" / layout).write_text("{{ .Content }}")
    assert site_config.hugo_has_page_layout(tmp_path) is found


# --- markup.img_attributes -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_photo(tmp_path_factory: pytest.TempPathFactory) -> pipeline.RunResult:
    work = tmp_path_factory.mktemp("attributes")
    (work / "in").mkdir()
    shutil.copy(fixture_photo("kodak-dc240.jpg"), work / "in")
    return pipeline.process(work / "in", output__dir=str(work / "out"), variants__widths=(480,), run__quiet=True)


@pytest.mark.parametrize("style", ["html", "grid"])
def test_img_attributes_reach_every_img(one_photo: pipeline.RunResult, style: str) -> None:
    attributes = {"eleventy:ignore": "", "data-note": 'a "quoted" <b> {{ x }}'}
    config = pipeline.Config().with_overrides(markup__style=style, markup__img_attributes=attributes)
    (image,) = read_html(block_of(one_photo.photos, config)).all("img")
    assert image.attrs["eleventy:ignore"] == "" and image.attrs["data-note"] == attributes["data-note"]
    assert "{{ x }}" not in block_of(one_photo.photos, config), "values are escaped as alt text is"
    plain = pipeline.Config().with_overrides(markup__style=style)
    assert "eleventy:ignore" not in block_of(one_photo.photos, plain)


def test_img_attributes_from_a_settings_file(tmp_path: Path) -> None:
    file = tmp_path / "gallery.toml"
    file.write_text('[markup]\nimg_attributes = { "eleventy:ignore" = "", "class" = "u-photo" }\n')
    assert pipeline.load_config(file).markup.img_attributes == (("class", "u-photo"), ("eleventy:ignore", ""))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"src": "x.jpeg"}, "'src' is not an attribute name"),
        ({"ALT": "x"}, "'ALT' is not an attribute name"),
        ({"on click": "x"}, "'on click' is not an attribute name"),
        ({'x"y': ""}, "is not an attribute name"),
        ({"data-x": "two\nlines"}, "must be one line of text"),
        ({"data-x": 1}, "must be one line of text"),
        (["eleventy:ignore"], 'should be a table such as { "eleventy:ignore" = "" }'),
    ],
)
def test_img_attributes_are_checked(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        pipeline.Config().with_overrides(markup__img_attributes=value)
