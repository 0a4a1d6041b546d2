"""Every command over the field folder (tests/fixtures/field): one event as people hand it over.

A phone that writes +09:00 between cameras that write no offset, an iPhone still on -05:00, a burst
with a soft frame, a soft frame alone, messenger copies without metadata, a tall screenshot, camera
boilerplate and a captions.toml entry whose case differs from its file (SOURCES.md tells each
file's story). Each command runs as a user runs it (the CLI in a subprocess) over a copy, and what
it gives is judged by readers of its own: exiftool's reading of the sources for the order, Pillow
for which source each published image shows, the story of the folder for bursts and flags.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from .conftest import FIXTURES, run_gallery

FIELD = FIXTURES / "field" / "photos"
NAME = "field"
SCREENSHOT = "IMG_0007.PNG"  # 1170x20000: taller than a WebP may be (16383 pixels)
CASE_SKIPPED = "IMG_0000.jpg"  # captions.toml skips "IMG_0000.JPG", as a person types the name
BURST = ("DSCN0010.JPG", "DSCN0011.JPG", "DSCN0012.JPG", "DSCN0013.JPG")
SOFT_IN_BURST, SOFT_ALONE = "DSCN0012.JPG", "IMG_4711.JPG"
FORWARDED = ("IMG-20240623-WA0002.jpg", "signal-2024-06-23-104512.jpg")  # two copies of one photo not here
FALCON, FALCON_COPY = "IMG_20240623_100300.jpg", "IMG-20240623-WA0001.jpg"
PHOTOS = sorted(path.name for path in FIELD.iterdir() if path.name != "captions.toml")


def copy_of_field(parent: Path) -> Path:
    target = parent / "photos"
    shutil.copytree(FIELD, target)
    return target


def assert_ran(completed) -> None:
    """No traceback, no photo failed, exit 0: every file of the folder is one a person may bring."""
    assert "Traceback" not in completed.stderr and "unexpected error" not in completed.stderr, completed.stderr
    assert not [line for line in completed.stderr.splitlines() if line.startswith("error: ")], completed.stderr
    assert completed.returncode == 0, completed.stderr


def taken(row: dict) -> datetime | None:
    """The capture time as exiftool reads it (with sub-seconds and offset where the file has them):
    aware with an offset, naive without."""
    text = str(row.get("SubSecDateTimeOriginal") or row.get("DateTimeOriginal") or "")
    found = re.fullmatch(r"(\d{4}:\d\d:\d\d \d\d:\d\d:\d\d)(\.\d+)?([+-])?(\d\d)?:?(\d\d)?", text)
    if not found:
        return None
    moment = datetime.strptime(found[1], "%Y:%m:%d %H:%M:%S")
    if found[2]:
        moment = moment.replace(microsecond=round(float(found[2]) * 1_000_000))
    if not found[3]:
        return moment
    offset = timedelta(hours=int(found[4]), minutes=int(found[5]))
    return moment.replace(tzinfo=timezone(offset if found[3] == "+" else -offset))


@pytest.fixture(scope="module")
def instants(exiftool) -> dict[str, datetime]:
    """When each timed photo was taken, worked out here from exiftool's reading: a time with an offset
    is that instant, one without is read at the offset most of the others carry (+09:00)."""
    tags = ("-SubSecDateTimeOriginal", "-DateTimeOriginal")  # the first joins the sub-seconds and offset
    times = {
        Path(row["SourceFile"]).name: taken(row) for row in exiftool(*(FIELD / name for name in PHOTOS), args=tags)
    }
    offsets = Counter(moment.utcoffset() for moment in times.values() if moment and moment.tzinfo)
    ((local, votes),) = offsets.most_common(1)
    assert (local, votes, len(offsets)) == (timedelta(hours=9), 3, 2), (
        "the folder's story: three at +09:00, one at -05:00"
    )
    zone = timezone(local)
    return {
        name: (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)
        for name, moment in times.items()
        if moment
    }


def expected_order(names: set[str], instants: dict[str, datetime]) -> list[str]:
    """Capture instant, then name; untimed photos last, by name."""
    return sorted(
        names, key=lambda name: (name not in instants, instants.get(name, datetime.min.replace(tzinfo=UTC)), name)
    )


@pytest.fixture(scope="module")
def looks() -> dict[str, tuple[float, Image.Image]]:
    """Each source photo as shown (orientation applied): its aspect ratio and a 48x48 grey sample."""
    pillow_heif.register_heif_opener()
    samples = {}
    for name in PHOTOS:
        with Image.open(FIELD / name) as image:
            upright = ImageOps.exif_transpose(image.convert("RGB"))
        samples[name] = (upright.width / upright.height, upright.convert("L").resize((48, 48), Image.Resampling.BOX))
    return samples


def shown(paths: list[Path], looks: dict[str, tuple[float, Image.Image]]) -> list[str]:
    """Which source each published image shows, told by its pixels: the source of the same shape
    whose sample differs least (burst frames 5 px apart differ several times more than a source
    and its own output)."""
    names = []
    for path in paths:
        with Image.open(path) as image:
            aspect = image.width / image.height
            sample = image.convert("L").resize((48, 48), Image.Resampling.BOX)
        scores = {
            name: ImageStat.Stat(ImageChops.difference(sample, look)).mean[0]
            for name, (ratio, look) in looks.items()
            if abs(ratio / aspect - 1) < 0.02
        }
        best = sorted(scores, key=scores.get)
        assert scores[best[0]] < 3 and (len(best) == 1 or scores[best[1]] > 2 * scores[best[0]]), (path, scores)
        names.append(best[0])
    assert len(set(names)) == len(names), names
    return names


def block_images(block: str, out: Path) -> list[Path]:
    """The main image of each line of the Markdown block, in the block's order."""
    files = re.findall(rf"/({NAME}-\d+\.jpeg)", block)
    assert len(files) == len(block.strip().splitlines())
    return [out / file for file in files]


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """`gallery process` over a copy of the field folder, once for the module: (source, out, result)."""
    root = tmp_path_factory.mktemp("field")
    source, out = copy_of_field(root), root / "out"
    completed = run_gallery("process", source, "--out", out, "--name", NAME)
    return source, out, completed


def test_process_publishes_the_event_in_the_order_of_its_instants(processed, instants, looks) -> None:
    _, out, completed = processed
    assert_ran(completed)
    published = shown(block_images(completed.stdout, out), looks)
    assert set(published) == set(PHOTOS) - {CASE_SKIPPED}, "every photo but the one captions.toml skips"
    assert published == expected_order(set(published), instants)
    assert published[:6] == ["IMG_20240623_100000.jpg", *BURST, "IMG_20240623_100130.jpg"], "phone, camera, phone"
    assert published.index("IMG_5195.HEIC") == published.index(FALCON) - 1, "New York's 20:02:30 is Tokyo's 10:02:30"


def alt_texts(block: str, out: Path, looks) -> dict[str, str]:
    """Each line's alt text, by the source photo its image shows (judged by its pixels)."""
    lines = block.strip().splitlines()
    return dict(
        zip(shown(block_images(block, out), looks), (line[2 : line.index("](")] for line in lines), strict=True)
    )


def test_alt_texts_from_captions_and_no_camera_boilerplate(processed, looks) -> None:
    """captions.toml's alt texts reach their photos; the Olympus's and the Sony's own boilerplate does not."""
    _, out, completed = processed
    alt = alt_texts(completed.stdout, out, looks)
    written = tomllib.loads((FIELD / "captions.toml").read_text(encoding="utf-8"))
    for name in ("IMG_20240623_100000.jpg", "DSCN0010.JPG", "IMG_20240623_100130.jpg"):
        assert alt[name] == written[name]["alt"]
    assert "OLYMPUS" not in alt["P6230001.JPG"] and "SONY DSC" not in alt["DSC00001.JPG"]


def test_no_boilerplate_of_other_cameras_becomes_alt_text(processed, looks) -> None:
    _, out, completed = processed
    alt = alt_texts(completed.stdout, out, looks)
    assert "SANYO" not in alt["DSCF0001.JPG"]
    assert "Digimax" not in alt["P1000001.JPG"]


def test_captions_skip_matches_a_file_name_whatever_its_case(processed, looks) -> None:
    _, out, completed = processed
    assert CASE_SKIPPED not in shown(block_images(completed.stdout, out), looks)


def test_the_tall_screenshot_is_published(processed, looks) -> None:
    """Exit 0, a line in the block, and every output of it a valid image within its format's limits."""
    _, out, completed = processed
    assert completed.returncode == 0, completed.stderr
    images = block_images(completed.stdout, out)
    (main,) = [path for path, name in zip(images, shown(images, looks), strict=True) if name == SCREENSHOT]
    outputs = sorted(out.glob(f"{main.stem}*"))
    assert len(outputs) > 1
    for path in outputs:
        with Image.open(path) as image:
            image.load()
            limit = 16383 if image.format == "WEBP" else 65535
            assert max(image.size) <= limit, path
    with Image.open(main) as image:
        assert abs(image.width * 20000 / 1170 - image.height) <= 1, "the main image keeps the screenshot's shape"


@pytest.fixture(scope="module")
def reviewed(processed) -> dict[str, dict]:
    source, out, _ = processed
    completed = run_gallery("review", source, "--out", out, "--json")
    assert_ran(completed)
    return {photo["source"]: photo for photo in json.loads(completed.stdout)["photos"]}


def test_review_finds_the_burst_and_its_soft_frame(reviewed) -> None:
    assert set(reviewed) == set(PHOTOS)
    (burst,) = {reviewed[name]["group"] for name in BURST}
    assert burst is not None
    assert {name for name, photo in reviewed.items() if photo["group"] == burst} == set(BURST)
    assert reviewed[SOFT_IN_BURST]["flags"] == ["blurry"] and not reviewed[SOFT_IN_BURST]["pick"]
    picks = [name for name in BURST if reviewed[name]["pick"]]
    assert len(picks) == 1 and picks != [SOFT_IN_BURST]


def test_review_flags_a_soft_frame_alone_beside_the_set_and_no_sharp_photo(reviewed) -> None:
    """IMG_4711.JPG, blurred by 4 px at 2048 px with no burst around it, is soft beside the set's photos."""
    assert reviewed[SOFT_ALONE]["group"] is None and reviewed[SOFT_ALONE]["flags"] == ["blurry"]
    sharp = set(PHOTOS) - {SOFT_IN_BURST, SOFT_ALONE}
    assert {name: reviewed[name]["flags"] for name in sharp if "blurry" in reviewed[name]["flags"]} == {}


def test_review_groups_untimed_copies_and_suggests_the_original(reviewed) -> None:
    """Messenger copies carry no time: their near-identical look groups them, and an untouched
    original is suggested over its recompressed copy."""
    assert reviewed[FALCON_COPY]["captured"] is None and reviewed[FORWARDED[0]]["captured"] is None
    forwarded = {reviewed[name]["group"] for name in FORWARDED}
    assert len(forwarded) == 1 and None not in forwarded
    assert [name for name in FORWARDED if reviewed[name]["pick"]] == [FORWARDED[0]], "the larger copy"
    assert reviewed[FALCON]["group"] == reviewed[FALCON_COPY]["group"] is not None
    assert reviewed[FALCON]["pick"] and not reviewed[FALCON_COPY]["pick"]
    grouped = {name for name, photo in reviewed.items() if photo["group"] is not None}
    assert grouped == {*BURST, *FORWARDED, FALCON, FALCON_COPY}, "nothing else looks alike"


def test_review_lists_numbered_photos_in_the_order_published_and_shows_times_as_written(
    reviewed, processed, looks
) -> None:
    _, out, completed = processed
    numbered = sorted((photo["number"], name) for name, photo in reviewed.items() if photo["number"])
    published = shown(block_images(completed.stdout, out), looks)
    assert [name for _, name in numbered] == published
    assert reviewed["IMG_5195.HEIC"]["captured"] == "2024-06-22T20:02:30.054000-05:00"
    assert reviewed["DSCN0010.JPG"]["captured"] == "2024-06-23T10:00:40"


def test_captions_notes_bursts_and_times_as_the_cameras_wrote_them(processed, tmp_path: Path) -> None:
    """On its own copy (it writes captions.toml), with the record of the processed folder."""
    _, out, _ = processed
    source = copy_of_field(tmp_path)
    before = (source / "captions.toml").read_text(encoding="utf-8")
    completed = run_gallery("captions", source, "--out", out)
    assert_ran(completed)
    after = (source / "captions.toml").read_text(encoding="utf-8")
    assert after.startswith(before), "what the person wrote is kept byte for byte"
    notes = {m[0]: m[1] for m in re.findall(r'^\["([^"]+)"\]  # (.*)$', after, re.MULTILINE)}
    assert "taken 2024-06-22 20:02" in notes["IMG_5195.HEIC"]
    assert "burst with" in notes[SOFT_IN_BURST] and notes[SOFT_IN_BURST].endswith("blurry")
    assert notes[SOFT_ALONE].endswith("blurry")
    assert f"{FALCON} is suggested" in notes[FALCON_COPY]
    assert set(tomllib.loads(after)) >= set(PHOTOS) - {CASE_SKIPPED}


def test_captions_adds_no_second_entry_for_a_name_in_another_case(tmp_path: Path) -> None:
    source = copy_of_field(tmp_path)
    completed = run_gallery("captions", source, "--out", tmp_path / "out")
    assert_ran(completed)
    assert CASE_SKIPPED not in tomllib.loads((source / "captions.toml").read_text(encoding="utf-8"))


def test_captions_prefills_no_boilerplate(tmp_path: Path) -> None:
    source = copy_of_field(tmp_path)
    completed = run_gallery("captions", source, "--out", tmp_path / "out")
    assert_ran(completed)
    entries = tomllib.loads((source / "captions.toml").read_text(encoding="utf-8"))
    assert entries["DSCF0001.JPG"]["alt"] == "" and entries["P1000001.JPG"]["alt"] == ""


def test_preview_shows_the_event_with_its_bursts(processed) -> None:
    source, out, _ = processed
    completed = run_gallery("preview", source, "--out", out)
    assert_ran(completed)
    page = Path(completed.stdout.strip())
    assert page.is_file()
    html = page.read_text(encoding="utf-8")
    overview = html.split('<nav class="overview">')[1].split("</nav>")[0]
    assert overview.count('<div class="burst"') == 3, "the burst, the falcon with its copy, the forwarded pair"
    for name in set(PHOTOS) - {CASE_SKIPPED}:
        assert name in html


def test_watch_once_publishes_what_process_publishes(processed, tmp_path: Path) -> None:
    _, _, first = processed
    source = copy_of_field(tmp_path)
    completed = run_gallery("watch", source, "--once", "--out", tmp_path / "out", "--name", NAME)
    assert_ran(completed)
    assert completed.stdout == first.stdout


def test_audit_finds_no_leak_in_what_was_published(processed, exiftool) -> None:
    """The originals carry GPS positions (Nokia, Nikon, iPhone): no published file does."""
    _, out, _ = processed
    completed = run_gallery("audit", out)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 leaking" in completed.stdout + completed.stderr
    published = sorted(path for path in out.iterdir() if path.suffix in (".jpeg", ".webp"))
    assert published
    for row in exiftool(*published, args=("-gps:all", "-SerialNumber", "-a", "-G1")):
        assert [tag for tag in row if tag != "SourceFile"] == [], row
