"""Camera makers' boilerplate and the text templates, on real photos and on the list gallery ships.

Camera text is read back with exiftool (an independent reader) so that each test knows the photo
really carries what it is about; what gallery published is compared with the title the test typed.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import datetime
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest

from pipeline.config import values
from pipeline.config.sections import Config
from pipeline.dry_run import forecast
from pipeline.errors import ConfigError
from pipeline.text import clean, templates

from .conftest import REPO, fixture_folder, run_gallery, said

TITLE = "Trade mission to Japan"


# The boilerplate list ---------------------------------------------------------------------------


def test_the_boilerplate_list_ships_with_the_package_and_says_where_each_entry_was_seen() -> None:
    listed = resources.files("pipeline.text").joinpath(clean.BOILERPLATE_FILE)
    assert listed.is_file()
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert any(fnmatch(clean.BOILERPLATE_FILE, pattern) for pattern in package_data["package-data"]["pipeline.text"])
    lines = listed.read_text(encoding="utf-8").splitlines()
    entries = 0
    for number, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            entries += 1
            above = next(other for other in reversed(lines[:number]) if not other.strip() or other.startswith("#"))
            assert above.startswith("#"), f"line {number + 1} ({line!r}) has no comment saying where it was seen"
    assert entries >= 10


@pytest.mark.parametrize(
    "text",
    [
        "OLYMPUS DIGITAL CAMERA",
        "OLYMPUS DIGITAL CAMERA         ",  # as Olympus pads it
        "SONY DSC",
        "SANYO DIGITAL CAMERA",
        "SANYO DIGITAL CAMERA CG20",
        "<Digimax i50 MP3, Samsung #1 MP3>",
        "<Digimax i5, Samsung #1>",
        "<KENOX S1050  / Samsung S1050>",
        "SAMSUNG CAMERA PICTURES",
        "samsung digital camera",
        "KODAK Digital Still Camera",
        "KONICA MINOLTA DIGITAL CAMERA",
        "Digital Camera",
        "MEDION DIGITAL CAMERA",
        "LG Electronics",
        "EXIF_JPEG_PICTURE",
        "default",
        "HELLOMOTO",
        "_cuva",
        "CameraID=52.FrameCount=30.lutFilename=.configID=.profileName=MaxQ-HDR",
        " " * 31,  # Nikon COOLPIX
        "\x00" * 20,
        "IMG_1234.JPG",
    ],
)
def test_camera_boilerplate_is_no_description(text: str) -> None:
    assert clean.meaningful(clean.clean_text(text)) == ""


@pytest.mark.parametrize(
    "text",
    [
        "A digital camera on the table",
        "Sony DSC-RX100 on the desk of the press office",
        "Samsung booth at the trade fair",
        "Default settings explained by the host",
        "Smart city tour",
        "<The ambassador> and the delegation",
    ],
)
def test_descriptions_that_mention_cameras_are_kept(text: str) -> None:
    assert clean.meaningful(clean.clean_text(text)) == text


def test_a_real_cameras_boilerplate_never_reaches_the_post(tmp_path: Path, exiftool) -> None:
    """Sony's DSLR-A200 wrote "SONY DSC" as the description: the block and the manifest carry the
    post title the test gave instead, as alt text and title, and no caption."""
    folder = fixture_folder(tmp_path, "Sony_DSLR-A200.jpg")
    (read,) = exiftool(folder / "Sony_DSLR-A200.jpg")
    assert read["IFD0:ImageDescription"] == "SONY DSC"
    out = tmp_path / "out"
    completed = run_gallery(
        "process", folder, "--out", out, "--name", "sony", "--title", TITLE, "--width", "320", "--max-edge", "640"
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(f"![{TITLE}](") and completed.stdout.rstrip().endswith(f'"{TITLE}")')
    assert "SONY DSC" not in completed.stdout
    (photo,) = json.loads((out / "sony.json").read_text(encoding="utf-8"))["photos"]
    assert (photo["alt"], photo["title"], photo.get("caption", "")) == (TITLE, TITLE, "")


@pytest.mark.corpus
def test_no_boilerplate_of_the_corpus_becomes_alt_text(corpus: Path, tmp_path: Path, exiftool) -> None:
    """Every corpus photo whose camera wrote one of these texts as its description gets the
    template instead (a dry run: headers only, nothing rendered)."""
    seen = {"OLYMPUS DIGITAL CAMERA", "SONY DSC"}
    rows = exiftool(*sorted((corpus / "public").rglob("*.jp*g")), args=("-G1", "-ImageDescription"))
    carrying = [Path(row["SourceFile"]) for row in rows if str(row.get("IFD0:ImageDescription", "")).strip() in seen]
    assert len(carrying) >= 2, "the corpus holds an Olympus E-P3 and a Sony DSLR-A200 photo with boilerplate"
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in carrying:
        (folder / path.name).symlink_to(path)
    config = Config().with_overrides(
        text__title=TITLE, output__dir=str(tmp_path / "out"), limits__follow_external_symlinks=True
    )
    planned = forecast(folder, config)
    assert len(planned.photos) == len(carrying)
    for photo in planned.plan.photos:
        assert (photo.text.alt, photo.text.title, photo.text.caption) == (TITLE, TITLE, ""), photo.photo.path.name


# Templates ------------------------------------------------------------------------------------


def test_templates_take_python_format_specs(tmp_path: Path, exiftool) -> None:
    """`{number:02d}` numbers titles as "- 01"; `{date:...}` formats the capture date, and a photo
    without one gets nothing for it, whatever the spec."""
    folder = fixture_folder(tmp_path, "kodak-dc240.jpg", "hopper_gray.jpg")
    taken = {Path(row["SourceFile"]).name: row.get("ExifIFD:DateTimeOriginal") for row in exiftool(
        *sorted(folder.iterdir()), args=("-G1", "-DateTimeOriginal"))}  # fmt: skip
    assert taken["hopper_gray.jpg"] is None
    day = datetime.strptime(taken["kodak-dc240.jpg"], "%Y:%m:%d %H:%M:%S").strftime("%d %B %Y")
    completed = run_gallery(
        "process", folder, "--out", tmp_path / "out", "--title", "Trip",
        "--title-template", "{title} - {number:02d}", "--alt", "{title}{date: (%d %B %Y)}",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    lines = [re.fullmatch(r'!\[(.*)\]\(.+? "(.*)"\)', line) for line in completed.stdout.splitlines()]
    assert [line.groups() if line else None for line in lines] == [
        (f"Trip ({day})", "Trip - 01"),  # dated: first in capture order
        ("Trip", "Trip - 02"),
    ]


@pytest.mark.parametrize(
    ("where", "template", "setting"),
    [
        ("flag", "{title:02d}", "text.title_template"),
        ("file", "{number:%d}", "text.alt"),
        ("file", "{titel}", "text.alt"),
    ],
)
def test_a_wrong_template_stops_before_the_run_naming_the_setting(
    where: str, template: str, setting: str, tmp_path: Path
) -> None:
    folder = fixture_folder(tmp_path, "kodak-dc240.jpg")
    out = tmp_path / "out"
    if where == "flag":
        completed = run_gallery("process", folder, "--out", out, "--title-template", template)
    else:
        settings = tmp_path / "gallery.toml"
        settings.write_text(f"[text]\nalt = {values.toml_string(template)}\n", encoding="utf-8")
        completed = run_gallery("process", folder, "--out", out, "--config", settings)
    assert completed.returncode == 2, completed.stderr
    errors = said(completed.stderr)
    assert len(errors) == 1, completed.stderr
    assert setting in errors[0] and template in errors[0] and "Traceback" not in completed.stderr
    assert not out.exists()


def test_every_placeholder_has_its_type_and_a_missing_date_is_empty() -> None:
    values = {"title": "Trip", "number": 3, "count": 12, "filename": "IMG_0003.JPG"}
    template = "{title:.2} {number:03d}/{count:>3} {filename} [{date}] [{date:%d %B %Y}] [{date.year}]"
    assert templates.fill_template(template, **values, date=templates.NO_DATE) == "Tr 003/ 12 IMG_0003.JPG [] [] []"
    assert templates.fill_template(template, **values, date=datetime(2024, 6, 23).date()) == (
        "Tr 003/ 12 IMG_0003.JPG [2024-06-23] [23 June 2024] [2024]"
    )
    Config().with_overrides(text__alt=template, text__title_template="{title} - {number:02d}")
    with pytest.raises(ConfigError, match=r"^text\.alt = '\{count:s\}' cannot be filled: Unknown format code 's'"):
        Config().with_overrides(text__alt="{count:s}")
