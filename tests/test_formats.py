"""The format registry: every format is one record, read by settings, render and markup alike.

JPEG XL is the proof: an opt-in format added as one record. Its outputs decode at their planned
sizes, carry the policy's EXIF (read back by exiftool) and come first in `<picture>`. Each record's
size limit is what its codec does (tried with Pillow), and a photo larger than a format allows
comes out whole, its outputs in that format made smaller.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

import pipeline
from pipeline import formats
from pipeline.config.load import load_config
from pipeline.config.sections import MARKUP_STYLES, METADATA_POLICIES, ConfigError
from pipeline.image import exif_policy
from pipeline.publish import markup

from .conftest import fixture_photo, run_gallery, unavailable


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


# Size limits ----------------------------------------------------------------------------------


def _round_trip(pillow_name: str, width: int) -> tuple[int, int]:
    """Encode a row of `width` pixels with Pillow's own encoder and decode it again."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, 1)).save(buffer, pillow_name)
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.load()
        return image.size


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif"])
def test_each_format_record_states_the_largest_side_its_codec_handles(name: str) -> None:
    """The limit is what the codec does: that many pixels round-trip, one more does not (AVIF
    encodes more, but its decoder refuses them, and so would a browser's)."""
    record = formats.get(name)
    assert _round_trip(record.pillow_name, record.max_dimension) == (record.max_dimension, 1)
    with pytest.raises((OSError, ValueError, RuntimeError)):
        _round_trip(record.pillow_name, record.max_dimension + 1)


def test_jxl_holds_more_than_any_photo_needs() -> None:
    """JPEG XL's own limit (2^30 a side) cannot be tried here (a million pixels a side take minutes);
    it holds more than any other format."""
    if importlib.util.find_spec("pillow_jxl") is None:
        unavailable("requires the jxl extra (pillow-jxl-plugin)")
    import pillow_jxl  # noqa: F401  registers the codec

    beyond_the_others = max(record.max_dimension for record in formats.FORMATS.values() if record.name != "jxl") + 1
    assert formats.get("jxl").max_dimension >= beyond_the_others
    assert _round_trip("JXL", beyond_the_others) == (beyond_the_others, 1)


# A 1170x20000 phone screenshot (synthetic: a gradient of that shape).
TALL = (1170, 20000)


def _expected_size(width: int, limit: int) -> tuple[int, int]:
    """The test's own arithmetic: `width` wide (never wider than the photo) with the photo's shape,
    or where the format allows fewer pixels a side, the largest size of that shape that fits."""
    width = min(width, TALL[0])
    height = round(TALL[1] * width / TALL[0])
    if height <= limit:
        return width, height
    return round(TALL[0] * limit / TALL[1]), limit


@pytest.fixture(scope="module")
def tall_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    work = tmp_path_factory.mktemp("tall")
    photos = work / "photos"
    photos.mkdir()
    Image.linear_gradient("L").resize(TALL).convert("RGB").save(photos / "screenshot.png")
    settings = work / "gallery.toml"
    # The fastest WebP effort: the sizes are what this test is about.
    settings.write_text('[image]\nformat = "webp"\nmax_edge = 20000\n[quality]\nwebp_method = 0\n', encoding="utf-8")
    out = work / "out"
    completed = run_gallery(
        "process", photos, "--out", out, "--name", "shot", "-f", "webp", "-f", "jpeg", "--markup", "html",
        "--config", settings,
    )  # fmt: skip
    return out, completed


def test_a_photo_larger_than_a_format_allows_comes_out_whole(tall_run) -> None:
    """Every planned output exists and decodes at the size the test computes: WebP outputs (the main
    image, the widths 960 and 1600, which become one file) at most 16383 pixels high with the
    photo's shape, JPEG variants at their full size, and one warning says so."""
    out, completed = tall_run
    assert completed.returncode == 0, completed.stderr
    webp, jpeg = 16383, 65500
    expected = {
        "shot-01.webp": _expected_size(20000, webp),
        "shot-01-0480w.webp": _expected_size(480, webp),
        f"shot-01-{_expected_size(960, webp)[0]:04d}w.webp": _expected_size(960, webp),
        "shot-01-0480w.jpeg": _expected_size(480, jpeg),
        "shot-01-0960w.jpeg": _expected_size(960, jpeg),
        "shot-01-1170w.jpeg": _expected_size(1600, jpeg),
        "shot-01-thumb.webp": _expected_size(320, webp),
    }
    assert _expected_size(960, webp) == _expected_size(1600, webp) == (958, 16383)
    written = {path.name for path in out.iterdir() if path.suffix in (".webp", ".jpeg")}
    assert written == set(expected)
    for name, size in expected.items():
        with Image.open(out / name) as image:
            image.load()
            assert image.size == size, name
    warnings = [line for line in completed.stderr.splitlines() if "screenshot.png" in line]
    assert len(warnings) == 1 and "16383" in warnings[0] and warnings[0].startswith("warning: "), completed.stderr
    # The two widths that became one size are one file, offered once in the <picture>'s srcset.
    assert completed.stdout.count("shot-01-0958w.webp") == 1, completed.stdout
