"""Speed-related behaviour that can be checked without timing: the reference job's outputs, re-runs
that decode nothing, cache keys that follow only what shapes the bytes, the progress bar and the
summary line. Speed itself is measured by benchmarks/bench.py, never asserted here."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageFile

import pipeline
from pipeline.config.load import load_config
from pipeline.image import ingest, render

from .conftest import FIXTURES, REPO, run_gallery

REFERENCE = REPO / "benchmarks" / "reference.toml"
SUMMARY = re.compile(
    r"^(\d+) photos: (\d+) processed, (\d+) unchanged, (\d+) failed; ([\d.]+) MB in, ([\d.]+) MB out; [\d.]+ s$"
)


def _copy(names: list[str], folder: Path) -> Path:
    folder.mkdir()
    for name in names:
        shutil.copy(FIXTURES / name, folder)
    return folder


def test_reference_config_writes_exactly_the_six_outputs(tmp_path: Path) -> None:
    photos = _copy(["orientation/Landscape_1.jpg", "orientation/Landscape_6.jpg", "event/DSCN0010.jpg"], tmp_path / "p")
    out = tmp_path / "out"
    completed = run_gallery("process", photos, "--config", REFERENCE, "--out", out, "--name", "r")
    assert completed.returncode == 0, completed.stderr
    images = sorted(p.name for p in out.iterdir() if p.suffix in (".webp", ".jpeg"))
    large = [f"r-{n}-{w:04d}w.{ext}" for n in ("02", "03") for w in (480, 960, 1600) for ext in ("jpeg", "webp")]
    small = [f"r-01-{w:04d}w.{ext}" for w in (480, 640) for ext in ("jpeg", "webp")]  # 640 px wide: never upscaled
    assert images == sorted(small + large)
    for name in images:
        with Image.open(out / name) as image:
            width = int(name.split("-")[-1][:4])
            # Both Landscape photos display as 1800x1200 (Landscape_6 is stored turned, EXIF Orientation 6).
            aspect = 480 / 640 if name.startswith("r-01") else 1200 / 1800
            assert image.size == (width, round(width * aspect))
            assert not image.getexif()
            if image.format == "JPEG":
                assert image.info.get("progressive") or image.info.get("progression")
    # The main image is off, so each Markdown line links the largest output.
    assert "r-02-1600w.webp" in completed.stdout and ".jpeg)" not in completed.stdout


def _distinct_copies(folder: Path, count: int) -> None:
    """`count` different real photos: small camera files with a few bytes after the JPEG end marker."""
    folder.mkdir()
    originals = sorted((FIXTURES / "cameras").glob("*.jpg"))
    for index in range(count):
        original = originals[index % len(originals)]
        (folder / f"photo-{index:04d}.jpg").write_bytes(original.read_bytes() + index.to_bytes(4, "big"))


class Counter:
    """Counts decodes (`ImageFile.load`), renders and content hashes in this process (jobs=1)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.loads = self.renders = self.hashes = 0
        load, render_one, hash_file = ImageFile.ImageFile.load, render.render, ingest.hash_file

        def counted_load(image: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
            self.loads += 1
            return load(image)

        def counted_render(job: render.RenderJob) -> render.RenderResult:
            self.renders += 1
            return render_one(job)

        def counted_hash(path: Path) -> str:
            self.hashes += 1
            return hash_file(path)

        monkeypatch.setattr(ImageFile.ImageFile, "load", counted_load)
        monkeypatch.setattr(render, "render", counted_render)
        monkeypatch.setattr(ingest, "hash_file", counted_hash)


def test_rerun_of_500_unchanged_photos_decodes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos, out = tmp_path / "photos", tmp_path / "out"
    _distinct_copies(photos, 500)
    config = load_config(REFERENCE, output__dir=str(out), run__quiet=True)
    first = pipeline.process(photos, config)
    assert first.processed == 500 and not first.failures and not first.warnings

    counter = Counter(monkeypatch)
    again = pipeline.process(photos, config, run__jobs=1)
    assert (again.processed, again.unchanged) == (0, 500)
    assert (counter.loads, counter.renders, counter.hashes) == (0, 0, 0)
    assert again.markdown == first.markdown

    # A new mtime with the same bytes costs one content hash, still no decode.
    os.utime(photos / "photo-0007.jpg", ns=(1, 1))
    touched = pipeline.process(photos, config, run__jobs=1)
    assert (touched.processed, counter.loads, counter.renders, counter.hashes) == (0, 0, 0, 1)

    # Changed bytes: that photo alone is decoded again.
    with (photos / "photo-0008.jpg").open("ab") as handle:
        handle.write(b"changed")
    changed = pipeline.process(photos, config, run__jobs=1)
    assert (changed.processed, counter.renders) == (1, 1) and counter.loads >= 1


def test_a_changed_setting_re_renders_only_the_outputs_it_shapes(tmp_path: Path) -> None:
    photos = _copy(["orientation/Landscape_1.jpg", "cameras/prairie_falcon.jpg"], tmp_path / "p")
    out = tmp_path / "out"
    config = load_config(REFERENCE, output__dir=str(out), output__name="s", run__quiet=True)
    pipeline.process(photos, config)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("s-*")}

    # Worker count and executor never change bytes, so they are not part of any cache key.
    assert pipeline.process(photos, config, run__jobs=1).processed == 0

    result = pipeline.process(photos, config, quality__webp=60)
    assert result.processed == 2
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("s-*")}
    assert after.keys() == before.keys()
    assert {n for n in after if after[n] == before[n]} == {n for n in before if n.endswith(".jpeg")}


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    photos = _copy(["orientation/Landscape_1.jpg", "orientation/Landscape_3.jpg"], tmp_path / "p")
    completed = run_gallery("process", photos, "--out", tmp_path / "out")
    assert completed.returncode == 0, completed.stderr
    assert "rendering" not in completed.stderr and "\r" not in completed.stderr
    assert SUMMARY.match(completed.stderr.splitlines()[-1])


def _run_in_pty(*args: str | Path) -> tuple[int, str]:
    """The CLI with stderr on a pseudo-terminal (as in an interactive shell); returns what it drew."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
    child = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    os.close(follower)
    drawn = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed its end
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    code = child.wait(timeout=300)
    reader.join(timeout=30)
    os.close(leader)
    return code, drawn.decode(errors="replace")


@pytest.mark.parametrize("quiet", [False, True], ids=["bar", "quiet"])
def test_progress_bar_on_a_terminal_unless_quiet(tmp_path: Path, quiet: bool) -> None:
    photos = _copy([f"orientation/Landscape_{n}.jpg" for n in (1, 2, 3, 4)], tmp_path / "p")
    code, drawn = _run_in_pty("process", photos, "--out", tmp_path / "out", "--jobs", "1", *(["--quiet"] * quiet))
    assert code == 0, drawn
    bar = re.search(r"rendering:\s+\d+%\|.*\| [0-4]/4", drawn)
    assert (bar is None) == quiet, drawn
    lines = drawn.replace("\r", "\n").strip().splitlines()
    if quiet:  # --quiet prints errors only: no bar, no warnings, no summary
        assert not any(SUMMARY.match(line.strip()) for line in lines), drawn
    else:
        assert SUMMARY.match(lines[-1].strip()), drawn


def test_summary_counts_and_bytes(tmp_path: Path) -> None:
    photos = _copy(["event/DSCN0010.jpg", "cameras/prairie_falcon.jpg", "edge/truncated_jpeg.jpg"], tmp_path / "p")
    out = tmp_path / "out"
    completed = run_gallery("process", photos, "--out", out)
    assert completed.returncode == 1
    total, processed, unchanged, failed, mb_in, mb_out = SUMMARY.match(completed.stderr.splitlines()[-1]).groups()
    assert (total, processed, unchanged, failed) == ("3", "2", "0", "1")
    good = (photos / "DSCN0010.jpg").stat().st_size + (photos / "prairie_falcon.jpg").stat().st_size
    written = sum(p.stat().st_size for p in out.iterdir() if p.suffix in (".jpeg", ".webp"))
    assert (mb_in, mb_out) == (f"{good / 1e6:.1f}", f"{written / 1e6:.1f}")

    again = run_gallery("process", photos, "--out", out)
    assert SUMMARY.match(again.stderr.splitlines()[-1]).groups()[:6] == ("3", "0", "2", "1", "0.0", mb_out)


def test_prune_removes_only_outputs_of_photos_that_are_gone(tmp_path: Path) -> None:
    photos = _copy(["event/DSCN0010.jpg", "cameras/prairie_falcon.jpg"], tmp_path / "p")
    out = tmp_path / "out"
    config = load_config(REFERENCE, output__dir=str(out), output__name="g", run__quiet=True)
    pipeline.process(photos, config)
    (photos / "DSCN0010.jpg").unlink()  # 2008: was g-01; prairie_falcon (2022) becomes g-01
    kept = pipeline.process(photos, config)
    assert kept.processed == 0  # the remaining photo's outputs were renamed, not rendered
    current = {o.path.name for o in kept.photos[0].outputs}
    # Without --prune, DSCN0010's 640w files (a width prairie_falcon does not have) stay.
    assert {p.name for p in out.glob("g-*")} - current == {"g-01-0640w.jpeg", "g-01-0640w.webp"}
    pruned = pipeline.process(photos, config, prune=True)
    assert pruned.processed == 0
    left = sorted(p.name for p in out.glob("g-*"))
    assert left == sorted(o.path.name for o in pruned.photos[0].outputs)
    with Image.open(out / "g-01-0480w.webp") as image:
        assert image.size == (480, 320)  # prairie_falcon is 800x533


def test_benchmark_runs_the_reference_job(tmp_path: Path) -> None:
    """benchmarks/bench.py end to end on two photos: every tool writes the six outputs per photo."""
    photos = _copy(["orientation/Landscape_1.jpg", "orientation/Portrait_1.jpg"], tmp_path / "p")
    completed = subprocess.run(
        [sys.executable, REPO / "benchmarks" / "bench.py", photos, "--runs", "1", "--skip-extras"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    rows = {line.split()[0]: line.split() for line in completed.stdout.splitlines() if " MB " in line}
    assert set(rows) == {"gallery", "naive", "floor"}
    assert all(row[6] == "12" for row in rows.values()), completed.stdout  # outputs column
    ssim = {m[0]: float(m[1]) for m in re.findall(r"^\s+(\w+)\s+SSIM mean ([\d.]+)", completed.stdout, re.M)}
    assert set(ssim) == {"gallery", "naive"} and all(0.9 < value <= 1 for value in ssim.values()), completed.stdout
