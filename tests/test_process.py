"""`gallery process` end to end on real photos: the reference block, order, orientation, sizes, HEIC."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tomllib
from pathlib import Path

import pytest
from PIL import Image

import pipeline
from pipeline.config.load import load_config
from pipeline.config.sections import Config, ConfigError
from pipeline.names import output_stem

from .conftest import FIXTURES, REPO, fixture_folder, image_difference, run_gallery

TITLE = "Luxembourg Official Trade Mission to Japan 2024"
NAME = "2024-06-23-trade-mission-japan"
REFERENCE_LINE = (
    "![Luxembourg Official Trade Mission to Japan 2024]"
    "({{ site.baseurl }}/assets/img/2024-06-23-trade-mission-japan-%02d.jpeg"
    ' "Luxembourg Official Trade Mission to Japan 2024")'
)
# Capture order of tests/fixtures/event by EXIF DateTimeOriginal (see INVENTORY.md of the corpus).
EVENT_ORDER = [
    "kodak-dc240.jpg",  # 1999-05-25
    "87_OSError.jpg",  # 2005-12-14
    "DSCN0010.jpg",  # 2008-10-22
    "canon_hdr_NO.jpg",  # 2015-02-09, Orientation 6
    "arrow.heic",  # 2018-07-31, irot + Orientation 6
    "IMG_2682.heic",  # 2019-03-21, iPhone 7, Display P3, GPS
    "xiaomi.heic",  # 2023-04-27
]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory):
    """The issue's exact command, run once for the module in a fresh working folder."""
    work = tmp_path_factory.mktemp("reference")
    photos = work / "photos"
    shutil.copytree(FIXTURES / "event", photos)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.iterdir()}
    completed = run_gallery("process", photos, "--out", "site/assets/img", "--name", NAME, "--title", TITLE, cwd=work)
    return work, photos, before, completed


def test_reference_block_byte_for_byte(reference_run) -> None:
    _, _, _, completed = reference_run
    assert completed.returncode == 0, completed.stderr
    # None of these photos carries its own description, so every line uses the post title.
    expected = "".join(REFERENCE_LINE % n + "\n" for n in range(1, 8))
    assert completed.stdout == expected
    assert "7 processed" in completed.stderr  # the summary goes to stderr, never into the block


def test_outputs_and_originals(reference_run) -> None:
    work, photos, before, _ = reference_run
    out = work / "site/assets/img"
    for number in range(1, 8):
        stem = f"{NAME}-{number:02d}"
        assert (out / f"{stem}.jpeg").is_file()
        assert (out / f"{stem}-thumb.webp").is_file()
        assert list(out.glob(f"{stem}-*w.webp"))
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.iterdir()}
    assert after == before, "originals must never be modified"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")], "no temp files may remain"


def test_capture_order(tmp_path: Path, exiftool) -> None:
    result = pipeline.process(FIXTURES / "event", output__dir=str(tmp_path / "out"), output__name="e")
    assert [photo.source.name for photo in result.photos] == EVENT_ORDER
    # Cross-check the order with exiftool's reading of the same dates.
    dates = {
        Path(row["SourceFile"]).name: row.get("ExifIFD:DateTimeOriginal")
        for row in exiftool(*sorted((FIXTURES / "event").iterdir()), args=("-G1", "-DateTimeOriginal"))
    }
    assert sorted(EVENT_ORDER, key=lambda name: dates[name]) == EVENT_ORDER


def test_main_image_is_progressive_srgb_capped_and_stripped(reference_run, exiftool) -> None:
    work, _, _, _ = reference_run
    out = work / "site/assets/img"
    for main in sorted(out.glob(f"{NAME}-0?.jpeg")):
        with Image.open(main) as image:
            assert image.format == "JPEG" and image.info.get("progressive") == 1
            assert max(image.size) <= 2048
            assert image.mode == "RGB"
    rows = exiftool(*sorted(out.glob(f"{NAME}-*")))
    for row in rows:
        leaked = [tag for tag in row if tag.split(":")[0] in ("GPS", "IFD0", "ExifIFD", "XMP-exif", "IFD1")]
        assert not leaked, f"{row['SourceFile']} carries metadata: {leaked}"


@pytest.mark.parametrize("path", sorted((FIXTURES / "orientation").glob("*.jpg")), ids=lambda p: p.name)
def test_orientation_fixtures_come_out_upright(path: Path, tmp_path: Path) -> None:
    _assert_upright(path, FIXTURES / "orientation" / f"{path.stem.split('_')[0]}_1.jpg", tmp_path)


@pytest.mark.corpus
def test_orientation_whole_corpus(corpus: Path, tmp_path: Path) -> None:
    files = sorted((corpus / "public/orientation").glob("*.jpg"))
    assert len(files) == 18
    for path in files:
        _assert_upright(path, corpus / "public/orientation" / f"{path.stem.split('_')[0]}_1.jpg", tmp_path / path.stem)


def _assert_upright(path: Path, reference: Path, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir(parents=True)
    shutil.copy(path, source)
    result = pipeline.process(source, output__dir=str(tmp_path / "out"), output__name="o")
    assert result.ok, result.failures
    with Image.open(reference) as upright, Image.open(result.photos[0].main.path) as output:
        assert output.size == upright.size
        assert "exif" not in output.info and not output.getexif()
        assert image_difference(output, upright) < 6, f"{path.name} is not upright"
        # The same photo turned by 180 degrees must clearly fail the same check.
        assert image_difference(output.rotate(180), upright) > 12


def test_sizes_never_upscaled_and_aspect_kept(tmp_path: Path) -> None:
    widths = (100, 480, 960, 1600, 5000)
    result = pipeline.process(FIXTURES / "event", output__dir=str(tmp_path), output__name="s", variants__widths=widths)
    assert result.ok
    for photo in result.photos:
        variant_widths = sorted(o.width for o in photo.outputs if o.role == "variant")
        assert variant_widths == sorted({min(w, photo.width) for w in widths})
        for output in photo.outputs:
            with Image.open(output.path) as image:
                assert image.size == (output.width, output.height)
                assert output.bytes == output.path.stat().st_size
            assert output.width <= photo.width and output.height <= photo.height
            assert abs(output.height - photo.height * output.width / photo.width) <= 1


@pytest.mark.parametrize("name", ["arrow.heic", "iphone_13_pro_max.HEIC"])
def test_heic_comes_out_upright_once(name: str, tmp_path: Path) -> None:
    folder = FIXTURES / ("event" if name == "arrow.heic" else "heic")
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(folder / name, source)
    shutil.copy(FIXTURES / "event" / "DSCN0010.jpg", source)
    result = pipeline.process(source, output__dir=str(tmp_path / "out"), output__name="h")
    assert result.ok
    heic, jpeg = sorted(result.photos, key=lambda p: p.source.suffix.lower() != ".heic")
    assert [(o.role, o.format) for o in heic.outputs if o.role != "variant"] == [
        (o.role, o.format) for o in jpeg.outputs if o.role != "variant"
    ]
    assert {o.format for o in heic.outputs if o.role == "variant"} == {"webp"}
    with Image.open(heic.main.path) as image:
        assert image.height > image.width, "both photos are portrait when upright"
        if name == "arrow.heic":
            assert _widest_dark_row(image) < image.height / 2, "the arrow must point up"


def _widest_dark_row(image: Image.Image) -> int:
    """Row where dark ink spans widest: the arrowhead's base, in the upper half when the arrow points up."""
    grey = image.convert("L").resize((image.width // 8, image.height // 8))
    spans = []
    for y in range(grey.height):
        dark = [x for x in range(grey.width) if grey.getpixel((x, y)) < 80]
        spans.append((max(dark) - min(dark)) if dark else 0)
    return spans.index(max(spans)) * 8


def test_content_not_extension(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(FIXTURES / "heic/heic_hdlr_box.jpg", source / "heif-named.jpg")
    shutil.copy(FIXTURES / "event/DSCN0010.jpg", source / "jpeg-named.heic")
    shutil.copy(FIXTURES / "event/kodak-dc240.jpg", source / "UPPER.JPG")
    (source / "notes.txt").write_text("not a photo, ignored")
    result = pipeline.process(source, output__dir=str(tmp_path / "out"))
    assert result.ok and not result.warnings
    assert sorted(p.source.name for p in result.photos) == ["UPPER.JPG", "heif-named.jpg", "jpeg-named.heic"]


def test_bad_file_among_good_ones(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for name in ("DSCN0010.jpg", "kodak-dc240.jpg"):
        shutil.copy(FIXTURES / "event" / name, source)
    shutil.copy(FIXTURES / "edge/truncated_jpeg.jpg", source)
    (source / "fake.jpg").write_text("this is not a JPEG")
    (source / "empty.png").write_bytes(b"")
    completed = run_gallery("process", source, "--out", tmp_path / "out", "--name", "b", "--title", "T")
    assert completed.returncode == 1
    lines = completed.stdout.splitlines()
    assert len(lines) == 2 and lines[0].endswith('b-01.jpeg "T")') and lines[1].endswith('b-02.jpeg "T")')
    for bad, reason in (("truncated_jpeg.jpg", "truncated"), ("fake.jpg", "not an image"), ("empty.png", "empty")):
        assert any(bad in line and reason in line for line in completed.stderr.splitlines()), completed.stderr


@pytest.mark.parametrize("command", [["process"], ["watch", "--once", "--settle", "0"]])
def test_a_manifest_that_cannot_be_written_fails_the_run_not_a_photo(command: list[str], tmp_path: Path) -> None:
    """The images and the block come out; the manifest's failure is said, exits 1, and is not
    counted as a failed photo (a folder of two photos stays two photos, none of them failed)."""
    source = fixture_folder(tmp_path, "DSCN0010.jpg", "kodak-dc240.jpg")
    (tmp_path / "data").write_text("a file where the manifest's folder should be")
    completed = run_gallery(*command[:1], source, *command[1:], "--out", tmp_path / "out", "--name", "m",
                            "--manifest", tmp_path / "data/m.json", "--json")  # fmt: skip
    assert completed.returncode == 1, completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    reason = f"{tmp_path / 'data'} is a file, not a folder"
    assert errors == [f"error: {tmp_path / 'data/m.json'}: manifest cannot be written: {reason}"], errors
    report = json.loads(completed.stdout)
    assert [Path(photo["source"]).name for photo in report["photos"]] == ["kodak-dc240.jpg", "DSCN0010.jpg"]
    assert [failure["path"] for failure in report["failures"]] == [str(tmp_path / "data/m.json")]
    for stem in ("m-01", "m-02"):
        with Image.open(tmp_path / "out" / f"{stem}.jpeg") as image:
            image.verify()
    if command == ["process"]:
        assert "2 photos: 2 processed, 0 unchanged, 0 failed" in completed.stderr, completed.stderr
    else:
        assert "2 photos: 2 rendered" in completed.stderr and "failed" not in completed.stderr, completed.stderr


def test_rerun_is_incremental_and_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = pipeline.process(FIXTURES / "event", output__dir=str(out), output__name="r")
    snapshot = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("r-*")}
    second = pipeline.process(FIXTURES / "event", output__dir=str(out), output__name="r")
    assert second.processed == 0 and second.unchanged == 7
    assert second.markdown == first.markdown
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("r-*")} == snapshot
    forced = pipeline.process(FIXTURES / "event", output__dir=str(out), output__name="r", run__force=True)
    assert forced.processed == 7
    assert {p.name: p.read_bytes() for p in out.glob("r-*")} == {k: v[0] for k, v in snapshot.items()}


def test_renumbering_renames_instead_of_rendering(tmp_path: Path) -> None:
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for name in ("DSCN0010.jpg", "canon_hdr_NO.jpg"):
        shutil.copy(FIXTURES / "event" / name, source)
    pipeline.process(source, output__dir=str(out), output__name="n")
    later = (out / "n-01.jpeg").read_bytes()
    shutil.copy(FIXTURES / "event/kodak-dc240.jpg", source)  # 1999: becomes number 01
    result = pipeline.process(source, output__dir=str(out), output__name="n")
    assert [p.rendered for p in result.photos] == [True, False, False]
    assert (out / "n-02.jpeg").read_bytes() == later


def test_zero_padding_grows_past_99() -> None:
    assert output_stem("x", 7, 7) == "x-07"
    assert output_stem("x", 7, 120) == "x-007"
    assert output_stem("x", 120, 120) == "x-120"


def test_repo_config_documents_the_defaults() -> None:
    """config.toml at the root holds every default, so reading it is reading the docs."""
    raw = tomllib.loads((REPO / "config.toml").read_text())
    defaults = Config()
    for section, values in raw.items():
        for key, value in values.items():
            expected = getattr(getattr(defaults, section), key)
            value = tuple(sorted(value.items())) if isinstance(value, dict) else value  # a table: sorted pairs
            assert (tuple(value) if isinstance(value, list) else value) == expected, f"{section}.{key}"
    assert load_config(REPO / "config.toml") == defaults
    documented = {(section, key) for section, values in raw.items() for key in values}
    settings = {
        (section.name, setting.name)
        for section in dataclasses.fields(Config)
        for setting in dataclasses.fields(getattr(defaults, section.name))
    }
    assert settings - documented == set(), "settings missing from config.toml"


def test_config_file_and_flags(tmp_path: Path) -> None:
    config_file = tmp_path / "site.toml"
    config_file.write_text('[output]\nurl_prefix = "/img"\nname = "fromfile"\n[text]\ntitle = "File title"\n')
    completed = run_gallery(
        "process",
        FIXTURES / "event",
        "--config",
        config_file,
        "--out",
        tmp_path / "out",
        "--title",
        "Flag title",
        "--width",
        "320",
        "--quiet",
    )
    assert completed.returncode == 0, completed.stderr
    first = completed.stdout.splitlines()[0]
    assert first == '![Flag title](/img/fromfile-01.jpeg "Flag title")'
    assert sorted(p.name for p in (tmp_path / "out").glob("fromfile-01-*w.webp")) == ["fromfile-01-0320w.webp"]


def test_config_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting variants\.width"):
        pipeline.process(FIXTURES / "event", variants__width=(1,))
    bad = tmp_path / "bad.toml"
    bad.write_text("[quality]\nwebp = 300\n")
    completed = run_gallery("process", FIXTURES / "event", "--config", bad)
    assert completed.returncode == 2
    assert "quality.webp must be between 1 and 100" in completed.stderr


def test_default_run_on_sample_images(tmp_path: Path) -> None:
    """What the README's first command does: no flags, sensible names and title."""
    completed = run_gallery("process", REPO / "sample_images", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == len([p for p in (REPO / "sample_images").iterdir() if p.name != "SOURCES.md"])
    assert lines[0] == ('![Sample images]({{ site.baseurl }}/assets/img/sample-images-01.jpeg "Sample images")')
    assert (tmp_path / "site/assets/img/sample-images-01.jpeg").is_file()


def test_help_teaches() -> None:
    completed = run_gallery("process", "--help")
    assert completed.returncode == 0
    for flag in ("--out", "--name", "--title", "--config", "--width", "--jobs"):
        assert flag in completed.stdout
