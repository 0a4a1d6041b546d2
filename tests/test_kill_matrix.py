"""kill -9 at every point of a run that renumbers a published set: nothing dangles, ever.

A set of four photos is published (images, manifest, post). Then two photos taken before and between
them arrive and captions.toml leaves three of the four out, so the next run renumbers the set, fills
names that are taken and gives up one that is no longer needed. That run is killed at each of its
changes to the file system in turn (tests/support/kill_matrix.py), then run again. At every point:
- right after the kill, every file the post and the manifest name exists;
- the restart ends well, its post and manifest name only files that exist, and the output folder,
  manifest and post are byte for byte those of a run never killed;
- the restart encodes (counted at Pillow's Image.save) only the images of the photos the killed run
  had not finished (the journal's word): the never-killed run's encodes, less a photo's share for
  each photo finished.
The same holds for `gallery watch --once`, which publishes through the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from .conftest import REPO, fixture_photo, run_gallery

OLD = {"b.jpg": "10:00:00", "d.jpg": "10:02:00", "e.jpg": "10:04:00", "f.jpg": "10:06:00"}
NEW = {"a.jpg": "09:59:00", "c.jpg": "10:03:00"}
SKIP = ("b.jpg", "d.jpg", "e.jpg")  # the set becomes a c f: f moves from k-04 to k-03, k-04 goes
SETTINGS = ["--out", "out", "--name", "k", "--post-file", "post.md", "-j", "1", "-w", "48", "--quiet"]


def _shoot(folder: Path, name: str, when: str, index: int) -> None:
    """A small real photo, cropped differently per name so each has its own content, taken at WHEN."""
    with Image.open(fixture_photo("DSCN0010.jpg")) as photo:
        frame = photo.convert("RGB").crop((index * 40, 0, index * 40 + 96, 64))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = f"2024:06:23 {when}"
    frame.save(folder / name, quality=90, exif=exif)


def _template(root: Path) -> Path:
    """The state before the run: the old set published, the new photos arrived."""
    template = root / "template"
    photos = template / "photos"
    photos.mkdir(parents=True)
    for index, (name, when) in enumerate(OLD.items()):
        _shoot(photos, name, when, index)
    published = run_gallery("process", "photos", *SETTINGS, cwd=template)
    assert published.returncode == 0, published.stderr
    for index, (name, when) in enumerate(NEW.items(), start=len(OLD)):
        _shoot(photos, name, when, index)
    (photos / "captions.toml").write_text("".join(f'["{name}"]\nskip = true\n' for name in SKIP))
    return template


def _matrix(tmp_path: Path, command: list[str]) -> dict:
    spec = {
        "template": str(_template(tmp_path)),
        "scratch": str(tmp_path / "scratch"),
        "args": command,
        "out": "out",
        "post": "post.md",
        "manifest": "out/k.json",
    }
    (tmp_path / "scratch").mkdir()
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    driven = subprocess.run(
        [sys.executable, "-m", "tests.support.kill_matrix", tmp_path / "spec.json", tmp_path / "report.json"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert driven.returncode == 0, driven.stderr[-3000:]
    return json.loads((tmp_path / "report.json").read_text())


@pytest.mark.parametrize("command", [["process", "photos"], ["watch", "photos", "--once", "--settle", "0"]])
def test_no_kill_point_leaves_a_dangling_reference(command: list[str], tmp_path: Path) -> None:
    report = _matrix(tmp_path, [*command, *SETTINGS])
    points = report["points"]
    assert report["changes"] >= 30, "the run changes the folder in many steps: each is a kill point"
    per_photo, left = divmod(report["encoded_never_killed"], len(NEW))  # only the new photos are rendered
    assert per_photo > 0 and left == 0, report["encoded_never_killed"]
    assert all(point["killed"] for point in points), [p for p in points if not p["killed"]]
    problems = [
        point
        for point in points
        if point["dangling_after_kill"]
        or point["restart_exit"] != 0
        or point["dangling_after_restart"]
        or not point["same_as_never_killed"]
        or point["encoded_by_restart"] != per_photo * (len(NEW) - point["finished_before_kill"])
    ]
    assert not problems, json.dumps(problems[:5], indent=1)
    # The matrix reaches both ends: kills before any photo was finished and after both were.
    assert {point["finished_before_kill"] for point in points} == {0, 1, 2}
