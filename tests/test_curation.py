"""Curation on real photos: bursts made of fixture photos (shifted, cropped, exposure steps, blurred), in time.

Every frame is what render would hand `analyse`: the photo decoded at draft scale, oriented, moved by
a few pixels or cropped as a hand-held camera would, then resized to the 320-px-wide thumbnail;
blur and exposure changes are applied to that thumbnail.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

import pytest
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from pipeline.commands.curation import (
    BLURRY_BELOW,
    MAX_DISTANCE,
    MAX_UNTIMED_DISTANCE,
    PICK_TOLERANCE,
    SOFT_BELOW,
    Analysis,
    Group,
    Shot,
    distance,
    flags,
    group,
)
from pipeline.image.scores import analyse
from tests.conftest import fixture_photo

T0 = datetime(2024, 6, 1, 18, 30)
MARGIN = 8  # source pixels kept around each frame, so frames can move by up to this much


@cache
def source(name: str) -> Image.Image:
    with Image.open(fixture_photo(name)) as image:
        image.draft("RGB", (640, 640))
        return ImageOps.exif_transpose(image.convert("RGB"))


def gauss(radius: float) -> Callable[[Image.Image], Image.Image]:
    return lambda image: image.filter(ImageFilter.GaussianBlur(radius))


def motion(dx: int, dy: int) -> Callable[[Image.Image], Image.Image]:
    return lambda image: image.filter(ImageFilter.BoxBlur((dx, dy)))  # a 2d+1-px streak along one axis


def light(factor: float) -> Callable[[Image.Image], Image.Image]:
    return lambda image: ImageEnhance.Brightness(image).enhance(factor)


@cache
def frame(name: str, dx: int = 0, dy: int = 0, crop: float = 0.0, edit: Callable | None = None) -> Image.Image:
    """The photo moved by (dx, dy) source pixels or cropped by `crop` of each side, as a 320-px thumbnail."""
    full = source(name)
    cx, cy = round(full.width * crop), round(full.height * crop)
    box = (MARGIN + dx + cx, MARGIN + dy + cy, full.width - MARGIN + dx - cx, full.height - MARGIN + dy - cy)
    moved = full.crop(box)
    thumb = moved.resize((320, round(moved.height * 320 / moved.width)), Image.Resampling.LANCZOS)
    return edit(thumb) if edit else thumb


def shot(id: str, seconds: float | None, image: Image.Image) -> Shot:
    return Shot(id, None if seconds is None else T0 + timedelta(seconds=seconds), analyse(image))


BLURRED_R2, BLURRED_R3, STREAK_X, STREAK_Y = gauss(2), gauss(3), motion(4, 0), motion(0, 4)
DARKER, BRIGHTER = light(0.8), light(1.2)

# id, seconds after T0 (None: no capture time), photo, frame arguments, whether it was blurred
EVENT = [
    ("a1.jpg", 0.0, "DSCN0010.jpg", {}, False),
    ("a2.jpg", 0.25, "DSCN0010.jpg", {"dx": 3, "dy": 2}, False),
    ("a3.jpg", 0.5, "DSCN0010.jpg", {"dx": -2, "dy": 4, "edit": DARKER}, False),
    ("a4.jpg", 0.75, "DSCN0010.jpg", {"dx": 4, "edit": BLURRED_R2}, True),
    ("a5.jpg", 1.0, "DSCN0010.jpg", {"dx": 1, "dy": -3, "edit": STREAK_X}, True),
    ("a6.jpg", 1.25, "DSCN0010.jpg", {"dx": -4, "edit": BRIGHTER}, False),
    ("a7.jpg", 1.5, "DSCN0010.jpg", {"crop": 0.02}, False),
    # another scene 0.5 s later: close in time, but it does not look alike
    ("b1.jpg", 2.0, "kodak-dc240.jpg", {}, False),
    ("b2.jpg", 2.2, "kodak-dc240.jpg", {"dx": 2, "edit": BLURRED_R3}, True),
    ("b3.jpg", 2.4, "kodak-dc240.jpg", {"dx": -3, "dy": 1, "edit": STREAK_Y}, True),
    ("b4.jpg", 2.6, "kodak-dc240.jpg", {"dx": 2, "dy": 2, "edit": DARKER}, False),
    ("c1.jpg", 3.0, "canon_hdr_NO.jpg", {}, False),
    ("c2.jpg", 3.5, "canon_hdr_NO.jpg", {"dx": -5, "dy": 3, "edit": BRIGHTER}, False),
    ("d1.jpg", 10.0, "prairie_falcon.jpg", {}, False),
    # the same scene, slightly cropped, 5 minutes later: not a burst
    ("d2.jpg", 310.0, "prairie_falcon.jpg", {"crop": 0.02}, False),
    ("e1.jpg", 600.0, "prairie_falcon.jpg", {"dx": 2, "edit": BLURRED_R3}, True),  # blurred and alone
    ("e2.jpg", 900.0, "prairie_falcon.jpg", {"edit": STREAK_X}, True),
    # vertical lines everywhere: a plain Laplacian barely notices a vertical streak (0.8x), we see 0.04x
    ("f1.jpg", 1000.0, "87_OSError.jpg", {}, False),
    ("f2.jpg", 1000.4, "87_OSError.jpg", {"dx": -2, "edit": STREAK_Y}, True),
    ("f3.jpg", 1200.0, "87_OSError.jpg", {"dy": 3, "edit": STREAK_Y}, True),
    # no capture time: grouped by look alone, and only when near-identical (a copy of a1, a copy of c1);
    # the falcon recropped by 5 % would join a timed burst (distance <= 14) but stays alone untimed
    ("u1.jpg", None, "DSCN0010.jpg", {}, False),
    ("u2.jpg", None, "prairie_falcon.jpg", {"crop": 0.05}, False),
    ("u3.jpg", None, "canon_hdr_NO.jpg", {}, False),
]
ORIGINALS = {"a1.jpg", "b1.jpg", "c1.jpg", "d1.jpg", "f1.jpg", "u1.jpg", "u2.jpg", "u3.jpg"}


@pytest.fixture(scope="module")
def event() -> dict[str, Shot]:
    return {id: shot(id, seconds, frame(name, **args)) for id, seconds, name, args, _ in EVENT}


@pytest.fixture(scope="module")
def groups(event: dict[str, Shot]) -> list[Group]:
    return group(list(event.values()))


def test_groups_are_bursts_of_one_scene(groups: list[Group]) -> None:
    assert [g.ids for g in groups] == [
        ("a1.jpg", "a2.jpg", "a3.jpg", "a4.jpg", "a5.jpg", "a6.jpg", "a7.jpg", "u1.jpg"),
        ("b1.jpg", "b2.jpg", "b3.jpg", "b4.jpg"),
        ("c1.jpg", "c2.jpg", "u3.jpg"),
        ("d1.jpg",),
        ("d2.jpg",),
        ("e1.jpg",),
        ("e2.jpg",),
        ("f1.jpg", "f2.jpg"),
        ("f3.jpg",),
        ("u2.jpg",),
    ]


def test_blurred_frames_are_flagged_and_sharp_ones_are_not(groups: list[Group]) -> None:
    blurred = {id for id, *_, was_blurred in EVENT if was_blurred}
    for g in groups:
        for member in g.shots:
            assert ("blurry" in flags(member, g)) == (member.id in blurred), (member.id, member.analysis)
            if member.id in ORIGINALS:
                assert flags(member, g) == [], member.id


def test_each_group_picks_its_sharpest_unblurred_frame(groups: list[Group]) -> None:
    blurred = {id for id, *_, was_blurred in EVENT if was_blurred}
    for g in groups:
        assert g.pick in g.ids
        if len(g.shots) > 1:
            assert g.pick not in blurred
            assert "blurry" not in flags(next(s for s in g.shots if s.id == g.pick), g)


def test_blur_is_relative_within_a_burst(event: dict[str, Shot]) -> None:
    """A frame a little softer than its burst's sharpest is flagged even when it would pass alone."""
    soft = shot("soft.jpg", 0.5, frame("DSCN0010.jpg", dx=2, edit=gauss(0.5)))
    assert soft.analysis.sharpness > 100  # alone, above the absolute threshold
    assert flags(soft, Group((soft,), soft.id)) == []
    (burst,) = group([event["a1.jpg"], soft])
    assert burst.pick == "a1.jpg"
    assert flags(soft, burst) == ["blurry"]


def test_a_sharp_subject_on_a_blurred_background_is_sharp() -> None:
    """Macro and portraits: only the middle ninth is in focus, and that is enough (scored whole: 45, blurry)."""
    sharp = frame("canon_hdr_NO.jpg")
    w, h = sharp.size
    subject = gauss(3)(sharp)
    subject.paste(sharp.crop((w // 3, h // 3, 2 * w // 3, 2 * h // 3)), (w // 3, h // 3))
    alone = shot("subject.jpg", None, subject)
    assert flags(alone, Group((alone,), alone.id)) == []


def test_exposure_bracket_is_not_blur() -> None:
    """-1/0/+1 EV frames differ in contrast, not in sharpness: none is flagged, all are one burst."""
    frames = [
        shot(f"{i}.jpg", i * 0.3, frame("prairie_falcon.jpg", dx=i, edit=light(f)))
        for i, f in enumerate((0.73, 1, 1.37))
    ]
    (burst,) = group(frames)
    assert ["blurry" in flags(s, burst) for s in frames] == [False, False, False]


def test_interleaved_cameras_do_not_split_a_burst(event: dict[str, Shot]) -> None:
    other = shot("other.jpg", 0.6, frame("kodak-dc240.jpg"))
    third = shot("third.jpg", 1.1, frame("canon_hdr_NO.jpg"))
    burst = [event[id] for id in ("a1.jpg", "a2.jpg", "a3.jpg", "a6.jpg")]
    assert [g.ids for g in group([*burst[:2], other, burst[2], third, burst[3]])] == [
        ("a1.jpg", "a2.jpg", "a3.jpg", "a6.jpg"),
        ("other.jpg",),
        ("third.jpg",),
    ]


def test_gap_and_distance_are_parameters(event: dict[str, Shot]) -> None:
    burst = [event[id] for id in ("a1.jpg", "a2.jpg", "a3.jpg")]
    assert len(group(burst, max_gap=0.1)) == 3
    assert len(group(burst, max_distance=-1)) == 3
    assert len(group([event["d1.jpg"], event["d2.jpg"]], max_gap=600)) == 1


def test_exposure_verdicts() -> None:
    assert analyse(frame("DSCN0010.jpg", edit=light(0.35))).exposure == "dark"
    assert analyse(frame("DSCN0010.jpg", edit=light(2.0))).exposure == "bright"
    dark = shot("dark.jpg", None, frame("kodak-dc240.jpg", edit=light(0.5)))  # -2 EV: dim, not blurred
    assert flags(dark, Group((dark,), dark.id)) == ["dark"]


def test_a_flagged_exposure_loses_the_pick_to_an_equally_sharp_frame(event: dict[str, Shot]) -> None:
    sharp = event["a1.jpg"].analysis
    bright = Shot("bright.jpg", T0, dataclasses.replace(sharp, sharpness=sharp.sharpness * 1.2, exposure="bright"))
    (burst,) = group([bright, Shot("plain.jpg", T0, sharp)])
    assert burst.pick == "plain.jpg"


def test_distinct_photos_are_far_apart_and_shifted_frames_close() -> None:
    names = ["DSCN0010.jpg", "kodak-dc240.jpg", "canon_hdr_NO.jpg", "prairie_falcon.jpg", "87_OSError.jpg"]
    hashes = {name: analyse(frame(name)) for name in names}
    for i, a in enumerate(names):
        assert distance(analyse(frame(a, dx=5, dy=-3)), hashes[a]) <= MAX_DISTANCE // 2
        for b in names[i + 1 :]:
            assert distance(hashes[a], hashes[b]) > MAX_DISTANCE + 4, (a, b)


def test_analysis_is_a_json_cache_record_and_size_independent() -> None:
    image = frame("prairie_falcon.jpg")
    analysis = analyse(image)
    assert Analysis(**json.loads(json.dumps(dataclasses.asdict(analysis)))) == analysis
    assert len(analysis.phash) == 16 and int(analysis.phash, 16) >= 0
    larger = source("prairie_falcon.jpg")  # 800 px wide: scored at the same 320-px scale
    assert analyse(larger).sharpness == pytest.approx(analysis.sharpness, rel=0.1)
    assert distance(analyse(larger), analysis) <= 4
    hidden = gauss(3)(image)  # blurred where visible; sharp where alpha hides it, as PNGs may store
    hidden.paste(image.crop((0, 0, image.width // 2, image.height)))
    alpha = Image.new("L", image.size, 255)
    alpha.paste(0, (0, 0, image.width // 2, image.height))
    hidden.putalpha(alpha)
    assert analyse(hidden).sharpness < 100
    assert analyse(Image.new("RGB", (2, 2))).sharpness == 0.0  # too small to judge, no crash


def copied(name: str, edge: int, quality: int) -> Image.Image:
    """What a messenger sends of the photo: shrunk to `edge`, recompressed, then rendered to 320 px."""
    small = source(name).copy()
    small.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=quality)
    decoded = Image.open(buffer).convert("RGB")
    return decoded.resize((320, round(decoded.height * 320 / decoded.width)), Image.Resampling.LANCZOS)


def original(id: str, seconds: float | None, image: Image.Image, size: tuple[int, int], camera: str) -> Shot:
    return Shot(
        id, None if seconds is None else T0 + timedelta(seconds=seconds), analyse(image), size[0] * size[1], camera
    )


def test_untimed_copies_join_what_they_copy_by_look_alone() -> None:
    """Messenger copies carry no time: a near-identical look is all that ties them to their original,
    so they are grouped at MAX_UNTIMED_DISTANCE, far stricter than a timed burst's MAX_DISTANCE."""
    camera = original("DSCN0010.JPG", 0.0, frame("DSCN0010.jpg"), (640, 480), "NIKON COOLPIX P6000")
    whatsapp = Shot("IMG-WA0001.jpg", None, analyse(copied("DSCN0010.jpg", 480, 70)), 480 * 360)
    signal = Shot("signal-1.jpg", None, analyse(copied("DSCN0010.jpg", 400, 80)), 400 * 300)
    recropped = Shot("recropped.jpg", None, analyse(frame("DSCN0010.jpg", crop=0.05)), 576 * 432)
    forwarded = [
        Shot(f"fw{n}.jpg", None, analyse(copied("kodak-dc240.jpg", edge, 75)), edge * edge * 3 // 4)
        for n, edge in ((1, 400), (2, 560))
    ]
    assert MAX_UNTIMED_DISTANCE < distance(recropped.analysis, camera.analysis) <= MAX_DISTANCE
    groups = group([camera, whatsapp, signal, recropped, *forwarded])
    assert [g.ids for g in groups] == [
        ("DSCN0010.JPG", "IMG-WA0001.jpg", "signal-1.jpg"),
        ("recropped.jpg",),
        ("fw1.jpg", "fw2.jpg"),
    ]
    assert [g.pick for g in groups] == ["DSCN0010.JPG", "recropped.jpg", "fw2.jpg"], "the original; the larger copy"
    assert all(flags(s, g) == [] for g in groups for s in g.shots), "a copy is no soft frame"
    assert len(group([camera, whatsapp, signal], max_untimed_distance=-1)) == 3


def test_a_frame_blurred_by_4px_at_2048_is_flagged_beside_the_set() -> None:
    """The main image's 2048 px blurred by 4 px scores between BLURRY_BELOW and SOFT_BELOW: alone it
    passes, as a sharp texture-poor scene would; beside a set of sharp photos it is soft."""
    with Image.open(fixture_photo("canon_hdr_NO.jpg")) as image:  # 2048 px long edge
        upright = ImageOps.exif_transpose(image.convert("RGB"))
    blurred = upright.filter(ImageFilter.GaussianBlur(4))
    soft = shot("soft.jpg", 30.0, blurred.resize((240, 320), Image.Resampling.LANCZOS))
    assert BLURRY_BELOW < soft.analysis.sharpness < SOFT_BELOW
    assert flags(soft, Group((soft,), soft.id)) == [], "alone, no rule can tell it from a calm sharp scene"
    sharp = [
        shot(f"{n}.jpg", 60.0 * (i + 1), frame(n))
        for i, n in enumerate(("DSCN0010.jpg", "kodak-dc240.jpg", "prairie_falcon.jpg", "87_OSError.jpg"))
    ]
    groups = group([*sharp, soft])
    assert [g.ids for g in groups] == [(s.id,) for s in (*sharp, soft)], "no burst: its burst-mates are not here"
    assert {s.id: flags(s, g) for g in groups for s in g.shots} == {
        "soft.jpg": ["blurry"],
        **{s.id: [] for s in sharp},
    }
    calm = [dataclasses.replace(s, analysis=dataclasses.replace(s.analysis, sharpness=200.0)) for s in sharp]
    assert all(flags(s, g) == [] for g in group([*calm, soft]) for s in g.shots), "not in a set that is no sharper"


def test_the_pick_prefers_the_untouched_original_over_an_equally_sharp_copy() -> None:
    """A copy at half size scores 1.09x its original (recompression adds edges): equally good within
    PICK_TOLERANCE, so camera metadata and pixels decide. A frame clearly sharper still wins."""
    camera = original("DSCN0010.JPG", 0.0, frame("DSCN0010.jpg"), (640, 480), "NIKON COOLPIX P6000")
    copy = Shot("copy.jpg", None, analyse(copied("DSCN0010.jpg", 320, 85)), 320 * 240)
    crop = original("crop.jpg", 0.5, frame("DSCN0010.jpg", crop=0.02), (600, 450), "NIKON COOLPIX P6000")
    assert copy.analysis.sharpness > camera.analysis.sharpness, "the copy scores sharper: the case to decide"
    assert group([camera, copy])[0].pick == "DSCN0010.JPG"
    assert group([crop, camera])[0].pick == "DSCN0010.JPG", "same camera: more pixels"
    softer = dataclasses.replace(camera.analysis, sharpness=copy.analysis.sharpness * (1 - PICK_TOLERANCE) * 0.95)
    assert group([dataclasses.replace(camera, analysis=softer), copy])[0].pick == "copy.jpg"
