"""The cache key is derived from the settings: change any one setting and exactly the outputs whose
bytes it can change are rendered again; every other output is reused as it is.

The table below names, for every setting of every section, a new value and which outputs it
affects. A setting added to the settings without a line here fails `test_every_setting_is_covered`.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import pipeline
from pipeline.config.sections import Config
from pipeline.model import OutputFile

from .conftest import fixture_photo

Output = tuple[str, str, int]  # role, format, width
Affects = Callable[[Output], bool]

NONE: Affects = lambda output: False  # noqa: E731
ALL: Affects = lambda output: True  # noqa: E731


def role(*names: str) -> Affects:
    return lambda output: output[0] in names


def fmt(*names: str) -> Affects:
    return lambda output: output[1] in names


def narrower_than(width: int) -> Affects:
    """Outputs cascaded from a new, wider size: their chain of sizes changed."""
    return lambda output: output[0] != "main" and output[2] < width


# The photo is 640x480: the main image is 400 px wide, variants 320 and 160 in WebP and AVIF, a 64 px thumbnail.
BASE = {
    "image__max_edge": 400,
    "variants__widths": (160, 320),
    "variants__formats": ("webp", "avif"),
    "thumbnail__width": 64,
    "run__jobs": 1,
    "run__quiet": True,
    "output__name": "set",
}
# (section, key) -> (new value, outputs it re-renders); None: the setting moves the run elsewhere.
CHANGES: dict[tuple[str, str], tuple[object, Affects] | None] = {
    ("output", "dir"): None,  # another folder: nothing there to reuse
    ("output", "name"): ("renamed", NONE),  # files are renamed, not rendered
    ("output", "url_prefix"): ("/img", NONE),
    ("output", "manifest"): ("", NONE),
    ("output", "post_file"): ("post.md", NONE),
    ("output", "site"): ("eleventy", NONE),
    ("text", "title"): ("Another title", NONE),
    ("text", "alt"): ("{title} {number}", NONE),
    ("text", "title_template"): ("{number}", NONE),
    ("markup", "style"): ("html", NONE),
    ("markup", "sizes"): ("100vw", NONE),
    ("markup", "figure"): (False, NONE),
    ("markup", "grid_class"): ("photos", NONE),
    ("markup", "background"): ("color", NONE),
    ("markup", "img_attributes"): ({"eleventy:ignore": ""}, NONE),
    ("image", "enabled"): (False, ALL),  # the largest size went: every output was cascaded from it
    ("image", "max_edge"): (360, ALL),
    ("image", "format"): ("webp", role("main")),
    ("variants", "widths"): ((160, 240, 320), narrower_than(240)),
    ("variants", "formats"): (("webp",), NONE),  # AVIF outputs are no longer wanted; WebP ones stay
    ("thumbnail", "width"): (80, role("thumbnail")),
    ("thumbnail", "format"): ("avif", role("thumbnail")),
    ("thumbnail", "crop"): ("1:1", role("thumbnail")),
    ("quality", "jpeg"): (70, fmt("jpeg")),
    ("quality", "jpeg_optimize"): (True, fmt("jpeg")),
    ("quality", "webp"): (70, fmt("webp")),
    ("quality", "webp_method"): (2, fmt("webp")),
    ("quality", "avif"): (50, fmt("avif")),
    ("quality", "avif_speed"): (9, fmt("avif")),
    ("quality", "jxl"): (60, fmt("jxl")),
    ("quality", "jxl_effort"): (5, fmt("jxl")),
    ("metadata", "policy"): ("keep", ALL),
    ("metadata", "allow"): (("Artist",), ALL),
    ("metadata", "gps"): (True, ALL),
    ("metadata", "serials"): (True, ALL),
    ("metadata", "maker_notes"): (True, ALL),
    ("metadata", "thumbnail"): (True, ALL),
    ("metadata", "color"): ("preserve", ALL),
    ("metadata", "background"): ("#000000", ALL),
    ("metadata", "owners"): (("Somebody",), ALL),
    ("credit", "artist"): ("Jane Doe", ALL),  # the one metadata gallery adds, to every output
    ("credit", "copyright"): ("CC BY 4.0", ALL),
    ("watermark", "text"): ("Jane Doe", ALL),  # switches the mark on: every output carries it...
    ("watermark", "logo"): (str(fixture_photo("transparent.png")), ALL),
    ("watermark", "corner"): ("top-left", NONE),  # ...while with the mark off, its placing changes nothing
    ("watermark", "opacity"): (0.9, NONE),
    ("watermark", "size"): (0.3, NONE),
    ("watermark", "thumbnails"): (True, NONE),
    ("limits", "max_pixels"): (100_000_000, NONE),
    ("limits", "follow_external_symlinks"): (True, NONE),
    ("run", "jobs"): (2, NONE),
    ("run", "force"): (True, ALL),  # asked for: everything again
    ("run", "quiet"): (False, NONE),
    ("run", "wait"): (5, NONE),
    ("time", "offsets"): ((("EASTMAN KODAK COMPANY KODAK DC240 ZOOM DIGITAL CAMERA", "+01:00"),), NONE),
    ("watch", "settle"): (0.5, NONE),
    ("watch", "poll"): (True, NONE),
    ("watch", "keep_deleted"): (True, NONE),
}


def all_settings() -> list[tuple[str, str]]:
    config = Config()
    return [
        (section.name, key.name)
        for section in dataclasses.fields(config)
        for key in dataclasses.fields(getattr(config, section.name))
    ]


def test_every_setting_is_covered() -> None:
    settings = all_settings()
    assert len(settings) > 40
    missing = [f"{section}.{key}" for section, key in settings if (section, key) not in CHANGES]
    assert not missing, f"add these settings to CHANGES with the outputs they affect: {missing}"


def _identities(result: pipeline.RunResult) -> dict[Output, int]:
    """Each output by what it is (not its name), with its inode: a rendered file is a new inode, a
    reused or renamed one keeps its own."""
    return {_what(output): output.path.stat().st_ino for photo in result.photos for output in photo.outputs}


def _what(output: OutputFile) -> Output:
    return (output.role, output.format, output.width)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("keys")
    photos = work / "photos"
    photos.mkdir()
    shutil.copy2(fixture_photo("kodak-dc240.jpg"), photos / "kodak-dc240.jpg")
    result = pipeline.process(photos, Config(), output__dir=str(work / "out"), **BASE)
    assert result.ok and result.processed == 1
    return photos, work / "out"


@pytest.mark.parametrize(("section", "key"), [s for s, change in CHANGES.items() if change is not None])
def test_a_changed_setting_renders_exactly_what_it_affects(section: str, key: str, baseline, tmp_path: Path) -> None:
    photos, original = baseline
    value, affects = CHANGES[(section, key)]  # type: ignore[misc]
    out = tmp_path / "out"
    shutil.copytree(original, out)
    settings = {**BASE, "output__dir": str(out)}
    before = _identities(pipeline.process(photos, Config(), **settings))
    assert before and all(inode for inode in before.values())
    overrides = {**settings, f"{section}__{key}": value}
    if section == "output" and key == "post_file":
        overrides[f"{section}__{key}"] = str(tmp_path / "post.md")
    after = _identities(pipeline.process(photos, Config(), **overrides))
    both = before.keys() & after.keys()
    assert both, "the change left no output to compare"
    rendered = sorted(output for output in both if before[output] != after[output])
    expected = sorted(output for output in both if affects(output))
    assert rendered == expected, f"{section}.{key} = {value!r}"
