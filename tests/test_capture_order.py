"""Capture order within one event: time offsets, sub-seconds, times without an offset, untimed
photos and ties; first on `ingest.capture_order` itself, then on real files through `gallery process`.

The photos of one event are minutes apart and come from cameras set to different time zones, so
each case is built so that the wrong rule (wall-clock time, whole seconds, a naive time read as UTC,
file-name order) gives a different order than the right one.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

import pipeline
from pipeline.commands.review import review
from pipeline.config.load import load_config
from pipeline.exif_tags import DATETIME_ORIGINAL, EXIF_IFD, OFFSET_TIME_ORIGINAL, SUBSEC_TIME_ORIGINAL
from pipeline.image.ingest import capture_instants, capture_order
from pipeline.model import SourcePhoto

from .conftest import FIXTURES, image_difference, run_gallery

TOKYO = timezone(timedelta(hours=9))
PARIS = timezone(timedelta(hours=2))


def photo(name: str, captured: datetime | None) -> SourcePhoto:
    return SourcePhoto(Path("/photos") / name, "jpeg", 1000, 0, name, 640, 480, captured)


def order(*photos: SourcePhoto) -> list[str]:
    return [p.path.name for p in capture_order(list(photos), capture_instants(list(photos)))]


def at(hour: int, minute: int = 0, second: int = 0, micro: int = 0, tz: timezone | None = None) -> datetime:
    return datetime(2024, 6, 23, hour, minute, second, micro, tzinfo=tz)


def test_offsets_are_compared_in_utc() -> None:
    # Wall clocks say Paris (03:30) before Tokyo (10:00); in UTC Tokyo (01:00) came first.
    assert order(photo("a-paris.jpg", at(3, 30, tz=PARIS)), photo("b-tokyo.jpg", at(10, tz=TOKYO))) == [
        "b-tokyo.jpg",
        "a-paris.jpg",
    ]


def test_sub_seconds_decide_within_one_second() -> None:
    burst = [photo(f"IMG_{n}.jpg", at(10, 20, 5, micro, TOKYO)) for n, micro in ((1, 900_000), (2, 100_000))]
    burst.append(photo("IMG_3.jpg", at(10, 20, 5, 500_000)))  # naive, read at +09:00: between the two
    assert order(*burst) == ["IMG_2.jpg", "IMG_3.jpg", "IMG_1.jpg"]


@pytest.mark.parametrize("dominant", ["+09:00", "+02:00"])
def test_a_time_without_offset_is_read_in_the_sets_most_common_offset(dominant: str) -> None:
    tokyo = [
        photo("t1.jpg", at(10, tz=TOKYO)),
        photo("t2.jpg", at(11, tz=TOKYO)),
        photo("t3.jpg", at(11, 30, tz=TOKYO)),
    ]
    paris = photo("paris.jpg", at(3, 30, tz=PARIS))  # 01:30 UTC, between t1 (01:00) and t2 (02:00)
    naive, untimed = photo("naive.jpg", at(10, 10)), photo("untimed.jpg", None)  # the untimed one has no vote
    if dominant == "+09:00":
        photos = [paris, *tokyo, naive, untimed]  # the first offset seen is not the most common
        expected = ["t1.jpg", "naive.jpg", "paris.jpg", "t2.jpg", "t3.jpg"]  # 10:10 at +09:00 is 01:10 UTC
    else:
        early = [photo(f"p{n}.jpg", at(0, n, tz=PARIS)) for n in (1, 2, 3)]  # 22:0n UTC the day before
        photos = [tokyo[0], paris, *tokyo[1:], naive, untimed, *early]  # four at +02:00, three at +09:00
        expected = ["p1.jpg", "p2.jpg", "p3.jpg", "t1.jpg", "paris.jpg", "t2.jpg", "t3.jpg", "naive.jpg"]  # 08:10 UTC
    assert order(*photos) == [*expected, "untimed.jpg"]
    assert order(*reversed(photos)) == [*expected, "untimed.jpg"], "nor is the last one seen"


def test_without_any_offset_naive_times_compare_as_wall_clock() -> None:
    assert order(photo("a.jpg", at(10, 1)), photo("b.jpg", at(10, 0)), photo("c.jpg", None)) == [
        "b.jpg",
        "a.jpg",
        "c.jpg",
    ]


def test_untimed_photos_come_last_by_name() -> None:
    photos = [photo("zz.jpg", None), photo("late.jpg", at(23, 59, tz=TOKYO)), photo("aa.jpg", None)]
    photos.append(photo("early.jpg", at(0, 0, tz=TOKYO)))
    assert order(*photos) == ["early.jpg", "late.jpg", "aa.jpg", "zz.jpg"]


def test_ties_are_broken_by_file_name() -> None:
    same = at(10, 40, tz=TOKYO)
    photos = [photo("c.jpg", same), photo("a.jpg", same), photo("b.jpg", same.astimezone(PARIS))]  # one instant
    photos.append(photo("d.jpg", at(10, 40)))  # naive, read at +09:00: the same instant again
    assert order(*photos) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    assert order(*reversed(photos)) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"], "the input order plays no part"


# Real files: copies of one fixture JPEG with the times written into their EXIF by Pillow.
# (name, DateTimeOriginal, OffsetTimeOriginal, SubSecTimeOriginal); None: no such tag. Names are
# chosen so that name order, wall-clock order and whole seconds all give other orders, and the first
# and last offsets by name (+02:00) are not the most common (+09:00, five photos against two). A
# missing tie-break by name cannot show here: the plan hands photos to capture_order in name order.
EVENT = [
    ("a-paris.jpg", "2024:06:23 03:30:00", "+02:00", None),  # 01:30:00 UTC
    ("a-untimed.jpg", None, None, None),
    ("b-tokyo.jpg", "2024:06:23 10:00:00", "+09:00", None),  # 01:00:00 UTC
    ("d-burst.jpg", "2024:06:23 10:20:00", "+09:00", "900"),  # 01:20:00.9 UTC
    ("e-burst.jpg", "2024:06:23 10:20:00", "+09:00", "100"),  # 01:20:00.1 UTC
    ("f-naive.jpg", "2024:06:23 10:10:00", None, None),  # read at +09:00: 01:10 UTC
    ("g-tie.jpg", "2024:06:23 10:40:00", "+09:00", None),  # 01:40 UTC
    ("h-tie.jpg", "2024:06:23 10:40:00", "+09:00", None),  # 01:40 UTC
    ("i-tie.jpg", "2024:06:23 03:40:00", "+02:00", None),  # 01:40 UTC
    ("j-untimed.jpg", None, None, None),
]
EVENT_ORDER = [
    "b-tokyo.jpg",
    "f-naive.jpg",
    "e-burst.jpg",
    "d-burst.jpg",
    "a-paris.jpg",
    "g-tie.jpg",
    "h-tie.jpg",
    "i-tie.jpg",
    "a-untimed.jpg",
    "j-untimed.jpg",
]


@pytest.fixture(scope="module")
def event(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("event")
    with Image.open(FIXTURES / "cameras" / "Canon_40D.jpg") as source:
        source.load()
        for index, (name, stamp, offset, subsec) in enumerate(EVENT):
            exif = Image.Exif()  # nothing of the fixture's own EXIF: no other time to fall back on
            tags = exif.get_ifd(EXIF_IFD)
            for tag, value in (
                (DATETIME_ORIGINAL, stamp),
                (OFFSET_TIME_ORIGINAL, offset),
                (SUBSEC_TIME_ORIGINAL, subsec),
            ):
                if value is not None:
                    tags[tag] = value
            image = source.copy()
            image.putpixel((0, 0), (index * 20, 0, 0))  # distinct pixels too: no file is a duplicate of another
            image.save(folder / name, "JPEG", quality=90, exif=exif)
    return folder


def test_the_written_times_are_what_exiftool_reads(event: Path, exiftool) -> None:
    tags = ("DateTimeOriginal", "OffsetTimeOriginal", "SubSecTimeOriginal")
    rows = exiftool(*(event / name for name, *_ in EVENT), args=tuple(f"-{tag}" for tag in tags))
    read = [(Path(row["SourceFile"]).name, *(row.get(tag) for tag in tags)) for row in rows]
    assert read == [(name, stamp, offset, subsec and int(subsec)) for name, stamp, offset, subsec in EVENT]


def test_gallery_process_numbers_an_event_in_capture_order(event: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    completed = run_gallery("process", event, "--out", out, "--name", "o", "--max-edge", "32", "-w", "16", "-q")
    assert completed.returncode == 0, completed.stderr
    manifest = json.loads((out / "o.json").read_text(encoding="utf-8"))
    assert [entry["source"] for entry in manifest["photos"]] == EVENT_ORDER
    captured = {entry["source"]: entry["captured"] for entry in manifest["photos"]}
    assert captured["d-burst.jpg"] == "2024-06-23T10:20:00.900000+09:00"
    assert captured["f-naive.jpg"] == "2024-06-23T10:10:00", "a naive time is published as the camera wrote it"
    assert captured["a-untimed.jpg"] is None
    assert [line.split("/")[-1].split(".")[0] for line in completed.stdout.splitlines()] == [
        f"o-{number:02d}" for number in range(1, len(EVENT) + 1)
    ]


def utc(hour: int, minute: int = 0, second: int = 0, day: int = 23) -> datetime:
    return datetime(2024, 6, day, hour, minute, second, tzinfo=UTC)


def test_capture_instants_read_every_time_as_an_instant() -> None:
    """Decision D2: with an offset, that instant; without, the set's most common offset; none: UTC."""
    photos = [
        photo("phone.jpg", at(10, tz=TOKYO)),
        photo("phone2.jpg", at(10, 5, tz=TOKYO)),
        photo("paris.jpg", at(3, 2, tz=PARIS)),
        photo("camera.jpg", at(10, 1)),
        photo("untimed.jpg", None),
    ]
    instants = capture_instants(photos)
    assert {path.name: moment for path, moment in instants.items()} == {
        "phone.jpg": utc(1),
        "phone2.jpg": utc(1, 5),
        "paris.jpg": utc(1, 2),
        "camera.jpg": utc(1, 1),  # read at +09:00, two photos against one
    }
    assert all(moment.utcoffset() == timedelta(0) for moment in instants.values())
    assert capture_instants([photo("a.jpg", at(10)), photo("b.jpg", None)]) == {Path("/photos/a.jpg"): utc(10)}


@pytest.mark.parametrize("tokyo_first", [True, False])
def test_on_a_tie_the_earliest_photo_with_an_offset_gives_it(tokyo_first: bool) -> None:
    tokyo = photo("tokyo.jpg", at(10, tz=TOKYO) if tokyo_first else at(11, tz=TOKYO))  # 01:00 or 02:00 UTC
    paris = photo("paris.jpg", at(3, 30, tz=PARIS))  # 01:30 UTC
    camera = photo("camera.jpg", at(10, 10))
    for photos in ([tokyo, paris, camera], [camera, paris, tokyo]):  # the input order plays no part
        instant = capture_instants(photos)[camera.path]
        assert instant == (utc(1, 10) if tokyo_first else utc(8, 10))


def test_a_camera_without_offset_between_phone_photos_is_ordered_by_instant() -> None:
    """Wall clocks put the visitor's New York photo first, naive-as-UTC puts the camera's last."""
    photos = [
        photo("IMG_20240623_100000.jpg", at(10, tz=TOKYO)),
        photo("IMG_20240623_100200.jpg", at(10, 2, tz=TOKYO)),
        photo("DSCN0010.JPG", at(10, 1)),
        photo("IMG_5195.HEIC", datetime(2024, 6, 22, 20, 1, 30, tzinfo=timezone(timedelta(hours=-5)))),
    ]
    expected = ["IMG_20240623_100000.jpg", "DSCN0010.JPG", "IMG_5195.HEIC", "IMG_20240623_100200.jpg"]
    assert order(*photos) == expected
    assert order(*reversed(photos)) == expected


def test_a_time_at_the_edge_of_the_calendar_does_not_overflow() -> None:
    photos = [photo("tokyo.jpg", datetime(1, 1, 1, tzinfo=TOKYO)), photo("naive.jpg", datetime(1, 1, 1))]
    photos.append(photo("late.jpg", datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5)))))
    assert order(*photos)[-1] == "late.jpg"


def camera_file(path: Path, when: str, offset: str | None, make: str, model: str, shade: int) -> None:
    """A small photo with the make, model, time and (optional) offset a phone or camera writes."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, model
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = when
    if offset:
        exif.get_ifd(EXIF_IFD)[OFFSET_TIME_ORIGINAL] = offset
    with Image.open(FIXTURES / "cameras" / "Canon_40D.jpg") as source:
        image = source.convert("RGB").rotate(shade * 72)  # distinct pixels: no file duplicates another
    image.save(path, "JPEG", quality=90, exif=exif)


def test_time_offsets_correct_both_kinds_and_review_reads_them_as_instants(tmp_path: Path) -> None:
    """`time.offsets` moves a phone's clock (its +09:00 kept) and a camera's (still without offset);
    review, captions and preview then compare the two kinds without crashing."""
    source = tmp_path / "photos"
    source.mkdir()
    camera_file(source / "phone.jpg", "2024:06:23 10:00:00", "+09:00", "Google", "Pixel 6", 0)  # 4 min slow
    camera_file(source / "nikon.jpg", "2024:06:23 10:08:00", None, "NIKON", "Z 6", 1)  # 5 min fast
    camera_file(source / "iphone.jpg", "2024:06:23 10:03:30", "+09:00", "Apple", "iPhone 13", 2)
    settings = tmp_path / "gallery.toml"
    settings.write_text('[time]\noffsets = { "Pixel 6" = "+00:04:00", "NIKON Z 6" = "-00:05:00" }\n', encoding="utf-8")
    config = load_config(settings, output__dir=str(tmp_path / "out"), run__quiet=True)
    result = pipeline.process(source, config)
    assert [(p.source.name, p.captured.isoformat()) for p in result.photos] == [
        ("nikon.jpg", "2024-06-23T10:03:00"),  # 01:03 UTC, read at +09:00
        ("iphone.jpg", "2024-06-23T10:03:30+09:00"),
        ("phone.jpg", "2024-06-23T10:04:00+09:00"),
    ]
    reviewed = review(source, config)
    assert [p.source.name for p in reviewed.photos] == ["nikon.jpg", "iphone.jpg", "phone.jpg"]
    (source / "captions.toml").write_text('["iphone.jpg"]\nskip = true\n["nikon.jpg"]\nskip = true\n', encoding="utf-8")
    skipped = review(source, config)
    assert [(p.source.name, p.skipped) for p in skipped.photos] == [
        ("phone.jpg", False),
        ("nikon.jpg", True),  # skipped photos follow by instant: not by name, not by wall clock
        ("iphone.jpg", True),
    ]


def shown(published: list[Path], source: Path) -> list[str]:
    """Which photo of `source` each published image shows, told by its pixels: the one it differs
    from least, by far less than from any other (the photos are one frame turned 72 degrees apart:
    about 3 from its own source after encoding, over 30 from any other)."""
    looks = {}
    for path in sorted(source.iterdir()):
        with Image.open(path) as image:
            looks[path.name] = image.convert("RGB")
    names = []
    for path in published:
        with Image.open(path) as image:
            differences = {name: image_difference(image, look) for name, look in looks.items()}
        best, second = sorted(differences, key=differences.get)[:2]
        assert differences[best] < 10 and differences[second] > 3 * differences[best], (path.name, differences)
        names.append(best)
    return names


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Phones that write +09:00 (one still on -05:00) around a camera and a second one that write no offset."""
    folder = tmp_path_factory.mktemp("mixed") / "photos"
    folder.mkdir()
    for shade, (name, when, offset, make, model) in enumerate(
        (
            ("phone-1.jpg", "2024:06:23 10:00:00", "+09:00", "Google", "Pixel 6"),
            ("DSC_0001.JPG", "2024:06:23 10:01:00", None, "NIKON", "Z 6"),
            ("visitor.jpg", "2024:06:22 20:01:30", "-05:00", "Apple", "iPhone 13"),
            ("phone-2.jpg", "2024:06:23 10:02:00", "+09:00", "Google", "Pixel 6"),
            ("IMG_0001.JPG", "2024:06:23 10:02:30", None, "Canon", "Canon EOS 40D"),
        )
    ):
        camera_file(folder / name, when, offset, make, model, shade)
    return folder


@pytest.mark.parametrize(
    "command",
    [("process", "--name", "m"), ("review",), ("review", "--json"), ("captions",), ("preview",), ("watch", "--once")],
    ids=lambda args: " ".join(args),
)
def test_every_command_over_a_phones_and_cameras_times_exits_0(mixed: Path, tmp_path: Path, command) -> None:
    source = tmp_path / "photos"
    shutil.copytree(mixed, source)
    completed = run_gallery(command[0], source, *command[1:], "--out", tmp_path / "out")
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr and "unexpected error" not in completed.stderr
    if command[0] == "process":
        names = [line.split("/")[-1].split(".")[0] for line in completed.stdout.splitlines()]
        assert names == [f"m-0{n}" for n in range(1, 6)]
        expected = ["phone-1.jpg", "DSC_0001.JPG", "visitor.jpg", "phone-2.jpg", "IMG_0001.JPG"]
        published = [tmp_path / "out" / f"{name}.jpeg" for name in names]
        assert shown(published, source) == expected, "the published images, by their pixels"
        manifest = json.loads((tmp_path / "out" / "m.json").read_text(encoding="utf-8"))
        assert [p["source"] for p in manifest["photos"]] == expected
