"""The format registry: every format is one record, read by settings, render and markup alike.

JPEG XL is the proof: an opt-in format added as one record. Its outputs decode at their planned
sizes, carry the policy's EXIF (read back by exiftool) and come first in `<picture>`.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from PIL import Image

import pipeline
from pipeline import exif_policy, formats, markup
from pipeline.config import MARKUP_STYLES, METADATA_POLICIES, ConfigError, load_config

from .conftest import fixture_photo, unavailable


def test_settings_list_the_registries_exactly() -> None:
    assert tuple(exif_policy.POLICIES) == METADATA_POLICIES
    assert tuple(markup.STYLES) == MARKUP_STYLES


def test_quality_settings_come_from_the_format_records() -> None:
    quality = load_config().quality
    for record in formats.FORMATS.values():
        for key, default in record.settings.items():
            assert getattr(quality, key) == default, f"quality.{key}"
    assert load_config(quality__jxl=60).quality.jxl == 60
    with pytest.raises(ConfigError, match=r"quality\.jxl must be between 1 and 100"):
        load_config(quality__jxl=0)


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown output format 'gif'; choose from jpeg, webp, avif, jxl"):
        load_config(variants__formats=("gif",))


def test_an_opt_in_format_without_its_codec_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pillow_jxl" else real(name, *a))
    with pytest.raises(ConfigError, match=r"jxl format needs the Python package pillow-jxl-plugin"):
        load_config(variants__formats=("webp", "jxl"))
    load_config(variants__formats=("webp",))  # the others need nothing


def test_jxl_cannot_keep_a_colour_profile() -> None:
    with pytest.raises(ConfigError, match=r'"preserve" cannot be used with jxl'):
        load_config(variants__formats=("jxl",), metadata__color="preserve")


@pytest.fixture(scope="module")
def jxl_run(tmp_path_factory: pytest.TempPathFactory) -> pipeline.RunResult:
    if importlib.util.find_spec("pillow_jxl") is None:
        unavailable("requires the jxl extra (pillow-jxl-plugin)")
    work = tmp_path_factory.mktemp("jxl")
    photos = work / "photos"
    photos.mkdir()
    for name in ("DSCN0010.jpg", "canon_hdr_NO.jpg"):  # canon_hdr_NO is turned by its EXIF orientation
        shutil.copy2(fixture_photo(name), photos / name)
    result = pipeline.process(
        photos,
        load_config(),
        output__dir=str(work / "out"),
        output__name="set",
        variants__formats=("jxl", "avif", "webp"),
        variants__widths=(320, 640),
        metadata__policy="keep",
        markup__style="html",
        run__quiet=True,
    )
    assert result.ok, result.failures
    return result


def test_jxl_outputs_decode_at_their_planned_sizes(jxl_run: pipeline.RunResult) -> None:
    import pillow_jxl  # noqa: F401  (registers the JXL decoder with Pillow)

    jxl = [o for photo in jxl_run.photos for o in photo.outputs if o.format == "jxl"]
    assert len(jxl) == 4
    for output in jxl:
        assert output.path.suffix == ".jxl" and output.path.stat().st_size == output.bytes
        with Image.open(output.path) as image:
            assert image.format == "JXL"
            assert image.size == (output.width, output.height)
            image.load()
    turned = next(p for p in jxl_run.photos if p.source.name == "canon_hdr_NO.jpg")
    assert turned.width < turned.height  # portrait once its orientation is applied


def test_jxl_outputs_carry_the_policy_exif(jxl_run: pipeline.RunResult, exiftool) -> None:
    jxl = [o.path for photo in jxl_run.photos for o in photo.outputs if o.format == "jxl"]
    jpeg = {photo.source.name: photo.main.path for photo in jxl_run.photos}
    rows = exiftool(*jxl, args=("-EXIF:all", "-G1", "-a", "-s"))
    assert len(rows) == len(jxl)
    for row in rows:
        assert row.get("IFD0:Make"), row  # keep publishes the camera...
        assert not any(key.startswith("GPS:") for key in row), row  # ...never where it was
        assert row.get("IFD0:Orientation", 1) == 1
    (main,) = exiftool(jpeg["DSCN0010.jpg"], args=("-EXIF:Make", "-EXIF:Model"))
    first = next(r for r in rows if Path(r["SourceFile"]).name.startswith(jpeg["DSCN0010.jpg"].stem + "-"))
    assert (first["IFD0:Make"], first["IFD0:Model"]) == (main["Make"], main["Model"])
    validated = exiftool(*jxl, args=("-validate", "-warning", "-a"))
    # -n prints the count of errors, warnings and minor warnings: none of each.
    assert [row.get("Validate") for row in validated] == ["0 0 0"] * len(jxl)


def test_jxl_comes_first_in_picture(jxl_run: pipeline.RunResult) -> None:
    sources = [line for line in jxl_run.markup.splitlines() if line.startswith("<source")]
    types = [line.split('type="')[1].split('"')[0] for line in sources]
    assert types == ["image/jxl", "image/avif", "image/webp"] * 2
