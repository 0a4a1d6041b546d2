"""Photo credit in every published image's EXIF, a visible watermark, cropped thumbnails, and what
the markup shows while an image loads; credit checked with exiftool, the watermark by pixels."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

import pipeline
from pipeline.config.load import load_config
from pipeline.config.sections import ConfigError

from .conftest import fixture_folder, image_difference, run_gallery

CREDIT = ("--config",)


def settings(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gallery.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("policy", ["strip", "keep", "allow"])
def test_credit_is_in_every_output_under_every_policy(policy: str, tmp_path: Path, exiftool) -> None:
    source = fixture_folder(tmp_path, "DSCN0010.jpg", "xiaomi.heic")
    config = settings(
        tmp_path,
        f'[metadata]\npolicy = "{policy}"\nallow = ["Make"]\n'
        '[credit]\nartist = "Jane Doe"\ncopyright = "© 2024 Jane Doe, CC BY 4.0"\n',
    )
    out = tmp_path / "out"
    completed = run_gallery("process", source, "--out", out, "-f", "webp", "-f", "avif", "--config", config, "-q")
    assert completed.returncode == 0, completed.stderr
    outputs = sorted(p for p in out.iterdir() if p.suffix in (".jpeg", ".webp", ".avif"))
    rows = exiftool(*outputs, args=("-EXIF:all", "-G1", "-a", "-s"))
    assert len(rows) == len(outputs) >= 10
    for row in rows:
        assert row["IFD0:Artist"] == "Jane Doe" and row["IFD0:Copyright"] == "© 2024 Jane Doe, CC BY 4.0", row
        exif = {k for k in row if k != "SourceFile"}
        if policy == "strip":  # the credit, and the four tags a valid EXIF must have: nothing of the photo
            assert exif - {"IFD0:XResolution", "IFD0:YResolution", "IFD0:ResolutionUnit", "IFD0:YCbCrPositioning"} == {
                "IFD0:Artist",
                "IFD0:Copyright",
            }
        assert not any(k.startswith("GPS") for k in exif)
    if policy == "strip":  # an EXIF gallery makes itself is valid; kept ones carry their cameras' quirks
        validated = exiftool(*outputs, args=("-validate", "-warning", "-a"))
        assert all(row.get("Validate") == "0 0 0" for row in validated), validated


def test_credit_may_not_hold_an_owner_name() -> None:
    with pytest.raises(ConfigError, match=r"credit\.artist holds a name listed in metadata\.owners"):
        load_config(credit__artist="Jane Doe", metadata__owners=("jane doe",))


def _difference(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB").crop(box), b.convert("RGB").crop(box))).mean)


def test_watermark_sits_in_its_corner_at_each_size_and_not_on_thumbnails(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    plain = pipeline.process(source, load_config(), output__dir=str(tmp_path / "plain"), run__quiet=True)
    marked = pipeline.process(
        source,
        load_config(),
        output__dir=str(tmp_path / "marked"),
        watermark__text="© Jane Doe",
        watermark__corner="bottom-right",
        watermark__opacity=0.8,
        run__quiet=True,
    )
    assert plain.ok and marked.ok and marked.processed == 1
    for before, after in zip(plain.photos[0].outputs, marked.photos[0].outputs, strict=True):
        with Image.open(before.path) as a, Image.open(after.path) as b:
            w, h = a.size
            corner = (int(w * 0.7), int(h * 0.8), w, h)
            elsewhere = (0, 0, int(w * 0.5), int(h * 0.5))
            if after.role == "thumbnail":
                assert _difference(a, b, corner) < 1, "thumbnails are left alone unless asked"
            else:
                assert _difference(a, b, corner) > 10, f"{after.path.name}: the mark is in the corner"
                # JPEG blocks far from the mark are untouched; WebP's encoder tunes itself to the whole image.
                assert _difference(a, b, elsewhere) < 6, f"{after.path.name}: and only there"


def test_logo_watermark_and_its_file_in_the_cache_key(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (40, 20), (255, 0, 0, 255)).save(logo)
    overrides = {
        "output__dir": str(tmp_path / "out"),
        "watermark__logo": str(logo),
        "watermark__corner": "top-left",
        "watermark__opacity": 1.0,
    }
    first = pipeline.process(source, load_config(), run__quiet=True, **overrides)
    main = first.photos[0].main.path
    with Image.open(main) as image:
        red, green, blue = image.convert("RGB").getpixel((20, 15))
    assert red > 150 and green < 120 and blue < 120, "a red logo, top left"
    Image.new("RGBA", (40, 20), (0, 0, 255, 255)).save(logo)  # the same path, a new logo
    second = pipeline.process(source, load_config(), run__quiet=True, **overrides)
    assert second.processed == 1, "a changed logo file renders the outputs again"
    with Image.open(main) as image:
        red, green, blue = image.convert("RGB").getpixel((20, 15))
    assert blue > 150 and red < 120


def test_square_thumbnails_are_cut_from_the_centre(tmp_path: Path) -> None:
    """Each thumbnail is the centre square of the upright source (Pillow cuts both to compare): far
    closer to it than to the square at the left edge (top edge for portrait) would be."""
    source = fixture_folder(tmp_path, "kodak-dc240.jpg", "Landscape_6.jpg")
    result = pipeline.process(
        source, load_config(), output__dir=str(tmp_path / "out"), thumbnail__crop="1:1", run__quiet=True
    )
    for photo in result.photos:
        thumb = next(o for o in photo.outputs if o.role == "thumbnail")
        variants = [o for o in photo.outputs if o.role == "variant"]
        with Image.open(photo.source) as original, Image.open(thumb.path) as image:
            assert image.size == (thumb.width, thumb.height) == (320, 320)
            upright = ImageOps.exif_transpose(original)
            centre, edge = (ImageOps.fit(upright, (320, 320), centering=at) for at in ((0.5, 0.5), (0, 0)))
            to_centre, to_edge = image_difference(image, centre), image_difference(image, edge)
            assert to_centre < 6 and to_centre * 3 < to_edge, (photo.source.name, to_centre, to_edge)
        for variant in variants:  # the other outputs keep the photo's shape
            assert abs(variant.width / variant.height - photo.width / photo.height) < 0.01


def test_markup_background_and_fetch_priority(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg", "DSCN0010.jpg")
    out = tmp_path / "out"
    for background, expected in (("color", "background-color:#"), ("placeholder", "url(data:image/webp;base64,")):
        completed = run_gallery("process", source, "--out", out, "--markup", "html", "-q", "--config",
                                settings(tmp_path, f'[markup]\nbackground = "{background}"\n'))  # fmt: skip
        images = [line for line in completed.stdout.splitlines() if line.startswith("<img")]
        assert len(images) == 2 and all(expected in line for line in images), images
        assert 'fetchpriority="high"' in images[0] and 'loading="lazy"' not in images[0]
        assert 'loading="lazy"' in images[1] and "fetchpriority" not in images[1]
