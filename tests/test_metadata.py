"""Metadata policy and privacy, checked on real photos with exiftool as the independent reader.

Every output is read back by exiftool (`-G0:1`: keys like `EXIF:GPS:GPSLatitude`), never by the
code that wrote it.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps

import pipeline
from pipeline.config.load import load_config
from pipeline.config.sections import ConfigError

from .conftest import FIXTURES, image_difference, require_tool, run_gallery

GROUPS = ("-a", "-G0:1", "-s")
SMALL = {
    "image__max_edge": 160,
    "variants__widths": (96,),
    "variants__formats": ("webp", "avif"),
    "thumbnail__width": 0,
    "run__quiet": True,
}
ALLOWED = ("Artist", "Copyright", "DateTimeOriginal", "Make", "Model", "LensModel", "Orientation")


def privacy_leaks(row: dict) -> list[str]:
    """exiftool keys that reveal a place, a device, a preview, XMP/IPTC or a comment, in one reading."""
    blocks = ("XMP", "IPTC", "MakerNotes", "Photoshop", "MPF")
    revealing = ("GPS", "SerialNumber", "ThumbnailImage", "PreviewImage")
    return [
        key
        for key in row
        if key.split(":")[0] in blocks
        or ":IFD1:" in key
        or any(word in key.rsplit(":", 1)[-1] for word in revealing)
        or key == "File:Comment"
    ]


def metadata_tags(row: dict) -> dict[str, object]:
    """EXIF, XMP, IPTC and maker-note tags of one reading, keyed `group:tag` (no file facts)."""
    return {k: v for k, v in row.items() if k.split(":")[0] in ("EXIF", "XMP", "IPTC", "MakerNotes", "Photoshop")}


def folder_of(tmp_path: Path, *files: Path) -> Path:
    source = tmp_path / "in"
    source.mkdir()
    for file in files:
        shutil.copy(file, source)
    return source


def run(source: Path, out: Path, **overrides) -> pipeline.RunResult:
    result = pipeline.process(source, output__dir=str(out), output__name="m", **{**SMALL, **overrides})
    assert result.ok, result.failures
    return result


def outputs_of(result: pipeline.RunResult) -> list[Path]:
    return [output.path for photo in result.photos for output in photo.outputs]


PRIVATE_PHOTOS = [
    FIXTURES / "event/87_OSError.jpg",  # GPS, body serial, Nikon maker notes, XMP with serial, IPTC
    FIXTURES / "event/DSCN0010.jpg",  # GPS, maker notes, EXIF thumbnail, XMP
    FIXTURES / "cameras/prairie_falcon.jpg",  # XMP with body and lens serials, Artist, Copyright, IPTC
    FIXTURES / "event/canon_hdr_NO.jpg",  # Orientation 6, maker notes, thumbnail
    FIXTURES / "event/xiaomi.heic",  # HEIC with GPS and an EXIF thumbnail
    FIXTURES / "heic/IMG_2682.heic",  # HEIC with GPS, Apple maker notes, Display P3
]


@pytest.fixture(scope="module")
def sources(exiftool) -> dict[str, dict]:
    """exiftool's reading of each private photo, by file name."""
    return {Path(row["SourceFile"]).name: row for row in exiftool(*PRIVATE_PHOTOS, args=GROUPS)}


def test_sources_really_carry_private_metadata(sources) -> None:
    """The photos below would catch a leak: exiftool sees GPS, serials and XMP in them."""
    assert all(privacy_leaks(row) for row in sources.values())
    assert any("EXIF:GPS:GPSLatitude" in row for row in sources.values())
    assert any("EXIF:ExifIFD:SerialNumber" in row for row in sources.values())
    assert any("XMP:XMP-aux:SerialNumber" in row for row in sources.values())


def test_strip_writes_no_metadata_in_any_format(tmp_path: Path, exiftool) -> None:
    result = run(folder_of(tmp_path, *PRIVATE_PHOTOS, FIXTURES / "edge/junk_jpeg_header.jpg"), tmp_path / "out")
    rows = exiftool(*outputs_of(result), args=GROUPS)
    assert {Path(row["SourceFile"]).suffix for row in rows} == {".jpeg", ".webp", ".avif"}
    for row in rows:
        assert not metadata_tags(row) and not privacy_leaks(row), row["SourceFile"]


@pytest.mark.parametrize("image_format", ["jpeg", "webp", "avif"])
def test_keep_drops_gps_serials_maker_notes_thumbnail_and_xmp(
    image_format: str, tmp_path: Path, exiftool, sources
) -> None:
    result = run(
        folder_of(tmp_path, *PRIVATE_PHOTOS), tmp_path / "out", metadata__policy="keep", image__format=image_format
    )
    for photo in result.photos:
        source = sources[photo.source.name]
        (row,) = exiftool(photo.main.path, args=GROUPS)
        assert not privacy_leaks(row), (photo.source.name, privacy_leaks(row))
        # What is kept is the source's own values, read back independently.
        for key in ("EXIF:IFD0:Make", "EXIF:IFD0:Model", "EXIF:ExifIFD:DateTimeOriginal", "EXIF:ExifIFD:FNumber"):
            if key in source:
                assert row.get(key) == source[key], (photo.source.name, key)
        if image_format != "avif":  # AVIF states orientation in its irot box, never in EXIF
            assert row.get("EXIF:IFD0:Orientation", 1) == 1
        assert "EXIF:IFD0:Artist" not in source or row["EXIF:IFD0:Artist"] == source["EXIF:IFD0:Artist"]


def test_keep_adds_no_validation_problems(tmp_path: Path, exiftool) -> None:
    """The rewritten EXIF keeps each tag's original TIFF type: exiftool -validate finds nothing new.

    (Pillow's own EXIF writer guesses types and trips "non-standard format" warnings.)
    """
    photos = [
        FIXTURES / "cameras/prairie_falcon.jpg",
        FIXTURES / "cameras/Canon_40D.jpg",
        FIXTURES / "event/xiaomi.heic",
    ]
    result = run(folder_of(tmp_path, *photos), tmp_path / "out", metadata__policy="keep")
    for photo in result.photos:
        source, output = exiftool(photo.source, photo.main.path, args=("-validate", "-warning", "-a"))
        # "errors warnings minor-warnings" counts (exiftool's -n form of its Validate tag)
        counts = [(int(a), int(b)) for a, b in zip(output["Validate"].split(), source["Validate"].split(), strict=True)]
        assert all(mine <= theirs for mine, theirs in counts), (photo.source.name, output, source)


def test_keep_with_everything_allowed_keeps_gps_serials_thumbnail(tmp_path: Path, exiftool, sources) -> None:
    photos = [FIXTURES / "event/87_OSError.jpg", FIXTURES / "event/DSCN0010.jpg"]
    everything = {f"metadata__{kept}": True for kept in ("gps", "serials", "thumbnail", "maker_notes")}
    result = run(folder_of(tmp_path, *photos), tmp_path / "out", metadata__policy="keep", **everything)
    by_name = {photo.source.name: photo for photo in result.photos}
    nikon = exiftool(by_name["87_OSError.jpg"].main.path, args=GROUPS)[0]
    assert nikon["EXIF:ExifIFD:SerialNumber"] == sources["87_OSError.jpg"]["EXIF:ExifIFD:SerialNumber"]
    coolpix = exiftool(by_name["DSCN0010.jpg"].main.path, args=GROUPS)[0]
    for key in ("EXIF:GPS:GPSLatitude", "EXIF:GPS:GPSLongitude", "EXIF:GPS:GPSLatitudeRef"):
        assert coolpix[key] == sources["DSCN0010.jpg"][key]
    assert coolpix["EXIF:IFD1:ThumbnailLength"] == sources["DSCN0010.jpg"]["EXIF:IFD1:ThumbnailLength"]
    assert any(key.startswith("MakerNotes:") for key in coolpix), "Nikon maker notes kept"
    # The thumbnail is the original preview, byte for byte.
    kept, original = exiftool(
        by_name["DSCN0010.jpg"].main.path, FIXTURES / "event/DSCN0010.jpg", args=("-b", "-ThumbnailImage")
    )
    assert kept["ThumbnailImage"].startswith("base64:/9j/")  # a JPEG
    assert kept["ThumbnailImage"] == original["ThumbnailImage"]


@pytest.mark.parametrize("image_format", ["jpeg", "webp", "avif"])
def test_allow_keeps_exactly_the_named_tags(image_format: str, tmp_path: Path, exiftool, sources) -> None:
    result = run(
        folder_of(tmp_path, *PRIVATE_PHOTOS),
        tmp_path / "out",
        metadata__policy="allow",
        metadata__allow=ALLOWED,
        image__format=image_format,
    )
    for photo in result.photos:
        source = {k: v for k, v in metadata_tags(sources[photo.source.name]).items() if k.startswith("EXIF:")}
        # The thumbnail's own directory (IFD1) is never copied, whatever its tags are called.
        expected = {k: v for k, v in source.items() if k.rsplit(":", 1)[-1] in ALLOWED and ":IFD1:" not in k}
        if "EXIF:IFD0:Orientation" in expected:
            expected["EXIF:IFD0:Orientation"] = 1  # every format carries the policy's EXIF byte for byte
        (row,) = exiftool(photo.main.path, args=GROUPS)
        assert metadata_tags(row) == expected, photo.source.name


def test_allow_names_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"unknown EXIF tag 'Copyrite'; did you mean Copyright"):
        load_config(None, metadata__policy="allow", metadata__allow=("Artist", "Copyrite"))
    with pytest.raises(ConfigError, match="needs tag names"):
        load_config(None, metadata__policy="allow")
    # exiftool spellings and EXIF spellings name the same tags.
    config = load_config(None, metadata__policy="allow", metadata__allow=("ISO", "SerialNumber", "GPSLatitude"))
    assert config.metadata.allow == ("ISO", "SerialNumber", "GPSLatitude")


def test_cli_flags_for_policy(tmp_path: Path, exiftool) -> None:
    source = folder_of(tmp_path, FIXTURES / "cameras/prairie_falcon.jpg")
    completed = run_gallery(
        "process", source, "--out", tmp_path / "out", "--name", "c", "-w", "64", "--allow", "Artist", "-q"
    )
    assert completed.returncode == 0, completed.stderr
    (row,) = exiftool(tmp_path / "out/c-01.jpeg", args=GROUPS)
    assert metadata_tags(row) == {"EXIF:IFD0:Artist": "NPS / Gavin Emmons"}
    bad = run_gallery("process", source, "--out", tmp_path / "bad", "--allow", "Artst")
    assert bad.returncode == 2 and "unknown EXIF tag 'Artst'" in bad.stderr


MALFORMED = [
    "hopper_bad_exif.jpg",
    "invalid-exif.jpg",
    "exif_gps_typeerror.jpg",
    "multiple_exif.jpg",
    "empty_gps_ifd.jpg",
]


@pytest.mark.parametrize("policy", ["strip", "keep"])
def test_malformed_exif_never_stops_a_photo(policy: str, tmp_path: Path, exiftool) -> None:
    source = folder_of(tmp_path, *(FIXTURES / "edge" / name for name in MALFORMED))
    result = run(source, tmp_path / "out", metadata__policy=policy)
    assert sorted(photo.source.name for photo in result.photos) == sorted(MALFORMED)
    warned = {problem.path.name: problem.message for problem in result.warnings}
    assert "unreadable and was dropped" in warned["invalid-exif.jpg"]
    if policy == "keep":  # what could be read is kept, and the run says the rest was not
        assert "part of its EXIF metadata is unreadable" in warned["hopper_bad_exif.jpg"]
    for row in exiftool(*outputs_of(result), args=GROUPS):
        assert not privacy_leaks(row), row["SourceFile"]


# ---- colour: Chromium (Skia's skcms colour management, not LittleCMS) is the independent reference


def browser_render(tmp_path: Path, image: Path, width: int, height: int) -> Path:
    """Screenshot of `image` shown by headless Chromium on white, converted to sRGB by the browser."""
    chromium = require_tool("chromium", "chromium")
    page = tmp_path / f"{image.stem}.html"
    page.write_text(
        f'<html><body style="margin:0;background:#fff"><img src="{image.as_uri()}" '
        f'style="display:block;width:{width}px;height:{height}px"></body></html>'
    )
    shot = tmp_path / f"{image.stem}-browser.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            "--force-device-scale-factor=1",
            f"--window-size={width},{height}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return shot


COLOUR_CASES = [
    "edge/pil_sample_cmyk.jpg",  # CMYK JPEG with Adobe's inverted channels
    "edge/hopper_gray.jpg",  # greyscale
    "edge/i_trns.png",  # 16-bit greyscale with a transparency key
    "edge/pil123p.png",  # palette with transparency
    "edge/icc_profile_big.jpg",  # a 400 kB LUT profile split over many APP2 segments
    "cameras/Pentax_K10D.jpg",  # tagged sRGB
]


def jpeg_cost(image: Image.Image) -> float:
    """How far JPEG encoding alone (at the pipeline's quality) moves this picture: the tolerance floor."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=82)
    with Image.open(buffer) as encoded:
        return image_difference(encoded, image)


@pytest.mark.parametrize("name", COLOUR_CASES)
def test_colours_match_a_browser(name: str, tmp_path: Path) -> None:
    source = FIXTURES / name
    result = run(folder_of(tmp_path, source), tmp_path / "out", image__max_edge=4096)
    with Image.open(result.photos[0].main.path) as output, Image.open(source) as original:
        browser = Image.open(browser_render(tmp_path, source, *output.size)).convert("RGB")
        tolerance = jpeg_cost(browser) + 1.5
        assert image_difference(output, browser) <= tolerance
        if name.endswith(("icc_profile_big.jpg", "pil123p.png")):  # ignoring the profile or gAMA would show
            rgba = original.convert("RGBA")
            ignored = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            assert image_difference(ignored, browser) > tolerance + 3


def test_cmyk_tiff_matches_cmyk_jpeg(tmp_path: Path) -> None:
    """The same CMYK picture as a JPEG-in-TIFF comes out like the browser shows the JPEG."""
    result = run(folder_of(tmp_path, FIXTURES / "edge/tiff_strip_cmyk_jpeg.tif"), tmp_path / "out")
    with Image.open(result.photos[0].main.path) as output:
        browser = Image.open(browser_render(tmp_path, FIXTURES / "edge/pil_sample_cmyk.jpg", *output.size))
        assert image_difference(output, browser) <= jpeg_cost(browser) + 1.5
        assert image_difference(ImageOps.invert(output.convert("RGB")), browser) > 50


def test_display_p3_photo_converted_to_srgb(tmp_path: Path, exiftool) -> None:
    """An iPhone HEIC in Display P3: our sRGB output matches what a colour-managed browser shows.

    The browser sees the same pixels as a PNG carrying the photo's own P3 profile (Chromium cannot
    read HEIC); the patch compared is the one where ignoring the profile would differ most.
    """
    photo = FIXTURES / "heic/IMG_2682.heic"
    result = run(folder_of(tmp_path, photo), tmp_path / "out", image__max_edge=400)
    main = result.photos[0].main.path
    (row,) = exiftool(main, args=GROUPS)
    assert row["ICC_Profile:ProfileDescription"] == "sRGB built-in"
    with Image.open(photo) as heic, Image.open(main) as output:
        profile = heic.info["icc_profile"]
        naive = heic.convert("RGB").resize(output.size, Image.Resampling.LANCZOS)
        tagged = tmp_path / "p3.png"
        naive.save(tagged, icc_profile=profile)
        browser = Image.open(browser_render(tmp_path, tagged, *output.size)).convert("RGB")
        assert image_difference(output, browser) <= jpeg_cost(browser) + 1.5
        box = worst_patch(naive, browser)
        patch_of = lambda image: image.crop(box).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # noqa: E731
        expected, ours, ignored = patch_of(browser), patch_of(output), patch_of(naive)
        assert max(abs(a - b) for a, b in zip(ours, expected, strict=True)) <= 4, (ours, expected)
        assert max(abs(a - b) for a, b in zip(ignored, expected, strict=True)) >= 12, (ignored, expected)


def worst_patch(a: Image.Image, b: Image.Image, size: int = 16) -> tuple[int, int, int, int]:
    """The size x size box where two images differ most."""
    difference = ImageChops.difference(a, b).convert("L").resize((a.width // size, a.height // size), Image.BOX)
    x, y = max(((x, y) for x in range(difference.width) for y in range(difference.height)), key=difference.getpixel)
    return (x * size, y * size, (x + 1) * size, (y + 1) * size)


def test_preserve_keeps_the_p3_profile(tmp_path: Path, exiftool) -> None:
    photo = FIXTURES / "heic/IMG_2682.heic"
    result = run(folder_of(tmp_path, photo), tmp_path / "out", image__max_edge=400, metadata__color="preserve")
    for output in outputs_of(result):
        (row,) = exiftool(output, args=GROUPS)
        assert row["ICC_Profile:ProfileDescription"] == "Display P3", output.name
    with Image.open(photo) as heic, Image.open(result.photos[0].main.path) as output:
        assert image_difference(output, heic.convert("RGB")) < 3, "pixels stay in P3, unconverted"
