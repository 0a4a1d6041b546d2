"""Shared test helpers: fixture paths, the shared corpus, independent readers, the CLI.

Tests that need a system tool or the shared corpus skip with a reason when it is absent, except
under CI (CI=true), where `.ci/run` installs the tools and the CI machine provides the corpus beside
the clone (../shared/corpus): there a missing tool or corpus fails the test instead of hiding it
behind a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from pipeline.config.sections import Config
from pipeline.model import PhotoResult
from pipeline.publish import markup

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
# GALLERY_CORPUS points elsewhere, e.g. from a worktree whose parent folder has no shared corpus.
CORPUS = Path(os.environ.get("GALLERY_CORPUS") or REPO.parent / "shared" / "corpus")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gallery's private folders (review's and preview's renders) in a folder of the test session's
    own, for the CLI in subprocesses too: the tester's cache is never read or written."""
    folder = tmp_path_factory.mktemp("user-cache")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    return folder


def fixture_photo(name: str) -> Path:
    """A fixture photo by file name, in whichever folder of tests/fixtures it lives."""
    matches = sorted(FIXTURES.glob(f"*/{name}"))
    assert matches, f"no fixture named {name}"
    return matches[0]


def fixture_folder(parent: Path, *names: str, folder: str = "photos") -> Path:
    """A new folder holding copies of fixture photos (the originals are never touched)."""
    source = parent / folder
    source.mkdir()
    for name in names:
        shutil.copy2(fixture_photo(name), source / name)
    return source


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} — CI must provide it (.ci/run installs tools; the corpus lies beside the clone)")
    pytest.skip(reason)


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"requires tool {name!r} (Debian package {package})")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus of real photos, when it lies beside the repository."""
    if not CORPUS.is_dir():
        unavailable(f"requires the shared corpus at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def exiftool():
    """Read metadata with exiftool, an independent reader: {tag: value} per file, group-qualified."""
    binary = require_tool("exiftool", "libimage-exiftool-perl")

    def read(*paths: Path, args: tuple[str, ...] = ("-a", "-G1", "-s")) -> list[dict]:
        """One record per file, in the order given; a file exiftool gives no record for fails the test."""
        if not paths:
            pytest.fail("exiftool was given no file to read: the check would check nothing")
        names = list(map(str, paths))
        result = subprocess.run([binary, "-j", "-n", *args, *names], capture_output=True, text=True, check=False)
        try:
            rows = json.loads(result.stdout) if result.stdout.strip() else []
        except json.JSONDecodeError as error:
            pytest.fail(
                f"exiftool printed no JSON ({error}); exit {result.returncode}; stderr: {result.stderr.strip()}"
            )
        unread = [name for name in names if name not in {row.get("SourceFile") for row in rows}]
        if len(rows) < len(paths) or unread:
            pytest.fail(
                f"exiftool gave {len(rows)} records for {len(paths)} files (exit {result.returncode}); "
                f"no record for {unread}; stderr: {result.stderr.strip() or '(empty)'}"
            )
        return rows

    return read


def run_gallery(*args: str | Path, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess, with stdout and stderr kept apart."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )


def shoot(image: Image.Image, path: Path, when: str, sub: str = "00", model: str = "COOLPIX P6000") -> None:
    """Save a frame with the capture time (and sub-seconds) a camera would write."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "NIKON", model
    exif.get_ifd(0x8769)[0x9003] = when
    exif.get_ifd(0x8769)[0x9291] = sub
    image.save(path, quality=92, exif=exif)


def burst_folder(folder: Path) -> Path:
    """A burst of three frames a fraction of a second apart (the second shifted, the third blurred),
    then a different photo a second later: what a person shooting an event brings."""
    folder.mkdir(parents=True)
    with Image.open(fixture_photo("DSCN0010.jpg")) as photo:
        base = photo.convert("RGB")
    w, h = base.size
    shoot(base, folder / "burst-1.jpg", "2024:06:23 10:00:00", "10")
    shoot(base.crop((8, 6, w, h)).resize((w, h)), folder / "burst-2.jpg", "2024:06:23 10:00:00", "40")
    shoot(base.filter(ImageFilter.GaussianBlur(3)), folder / "burst-3.jpg", "2024:06:23 10:00:00", "70")
    with Image.open(fixture_photo("kodak-dc240.jpg")) as other:
        shoot(other.convert("RGB"), folder / "other.jpg", "2024:06:23 10:00:01")
    return folder


def block_of(photos: Sequence[PhotoResult], config: Config, name: str = "") -> str:
    """The post's block for these photos in the configured markup style (what a run prints)."""
    return markup.build(photos, config, name)[1]


def said(stderr: str) -> list[str]:
    """What a command said on stderr, without the `settings: ...` line every run starts with."""
    return [line for line in stderr.splitlines() if not line.startswith("settings: ")]


def image_difference(a: Image.Image, b: Image.Image, size: tuple[int, int] = (64, 64)) -> float:
    """Mean absolute difference (0-255) of two images scaled to a small common size."""
    a = a.convert("RGB").resize(size, Image.Resampling.BOX)
    b = b.convert("RGB").resize(size, Image.Resampling.BOX)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3
