"""The package as it is published: the sdist and the wheel built from it, their metadata and
contents, and the wheel installed into a fresh virtual environment (no system site-packages, nothing
of this clone on the path), where `gallery` must run on the sample photos.

Slow: one build and one install for the whole module (about a minute), and pip must reach the
package index for the build's setuptools and gallery's dependencies.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from .conftest import REPO, unavailable

pytestmark = pytest.mark.slow

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".heic"}
# The source release: these files at the top, and these folders whole (tests run from an unpacked sdist).
SDIST_FILES = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "CONTRIBUTING.md", "config.toml")
SDIST_FOLDERS = ("pipeline", "tests", "docs", "sample_images", "benchmarks", "examples")


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


def _run(*args: str | Path, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """A command outside this clone's environment: no PYTHONPATH, no active virtual environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return subprocess.run(
        list(map(str, args)), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _said(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"


def _source_files(folder: str) -> set[str]:
    """The files of a folder of this clone, as paths relative to the clone, without bytecode."""
    return {
        path.relative_to(REPO).as_posix()
        for path in (REPO / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _not_source(folder: str, names: list[str]) -> set[str]:
    """What a clone gains by being used (as .gitignore lists it): environments, caches, build leftovers."""
    ignored = {name for name in names if name == "__pycache__" or name.endswith((".egg-info", ".pyc"))}
    if Path(folder) == REPO:
        at_top = {".git", ".venv", ".node", ".hypothesis", "build", "dist", "site"}
        ignored |= {name for name in names if name in at_top or name.endswith("_cache")}
    return ignored


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """The sdist, and the wheel built from that sdist (so the sdist is proven to build), once."""
    for module in ("build", "twine"):
        if importlib.util.find_spec(module) is None:
            unavailable(f"requires {module} (pip install -e '.[test]')")
    work = tmp_path_factory.mktemp("dist")
    # The isolated build installs the build-system requirements: see first that pip can fetch them.
    requires = PYPROJECT["build-system"]["requires"]
    probe = _run(sys.executable, "-m", "pip", "download", "--no-deps", "--dest", work / "probe", *requires)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["(no message)"])[-1]
        unavailable(f"requires pip to reach the package index for {', '.join(requires)}: {last}")
    # Built from a copy without what a working tree gathers: setuptools would also pack every file an
    # old *.egg-info/SOURCES.txt lists, and so hide a file the configuration no longer ships.
    source = work / "source"
    shutil.copytree(REPO, source, ignore=_not_source)
    built = _run(sys.executable, "-m", "build", "--outdir", work / "out", source)
    assert built.returncode == 0, f"python -m build failed: {_said(built)}"
    sdists, wheels = sorted((work / "out").glob("*.tar.gz")), sorted((work / "out").glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, f"expected one sdist and one wheel: {sdists + wheels}"
    return Dist(sdists[0], wheels[0])


def test_twine_check_strict_passes(dist: Dist) -> None:
    result = _run(sys.executable, "-m", "twine", "check", "--strict", dist.sdist, dist.wheel)
    assert result.returncode == 0, _said(result)
    assert result.stdout.count("PASSED") == 2, _said(result)


def test_wheel_states_the_mit_licence_and_ships_its_text(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        info = f"event_gallery-{VERSION}.dist-info"
        metadata = wheel.read(f"{info}/METADATA").decode()
        shipped = wheel.read(f"{info}/licenses/LICENSE")
    assert "\nLicense-Expression: MIT\n" in metadata
    assert "\nLicense-File: LICENSE\n" in metadata
    assert shipped == (REPO / "LICENSE").read_bytes()
    assert shipped.startswith(b"MIT License\n")


def test_wheel_holds_the_package_with_all_its_data_and_nothing_else(dist: Dist) -> None:
    """Every file of pipeline/ (modules and package data such as Hugo's shortcode, which the code
    reads through importlib.resources) is in the wheel; tests and docs are not."""
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
    package = {name for name in names if not name.startswith(f"event_gallery-{VERSION}.dist-info/")}
    assert package == _source_files("pipeline")
    assert "pipeline/sites/site_files/hugo/layouts/shortcodes/gallery.html" in package


def test_sdist_is_the_whole_source_release(dist: Dist) -> None:
    top = f"event_gallery-{VERSION}/"
    with tarfile.open(dist.sdist) as sdist:
        members = {m.name.removeprefix(top) for m in sdist.getmembers() if m.isfile()}
        pkg_info = sdist.extractfile(f"{top}PKG-INFO")
        assert pkg_info is not None
        metadata = pkg_info.read().decode()
    assert "\nLicense-Expression: MIT\n" in metadata
    assert set(SDIST_FILES) <= members
    for folder in SDIST_FOLDERS:
        shipped = {name for name in members if name.startswith(f"{folder}/")}
        assert shipped == _source_files(folder), f"{folder}/ differs from the clone's"
    assert not [name for name in members if re.search(r"(^|/)(\.venv|\.git|\.ci|__pycache__)(/|$)", name)]


def test_wheel_installs_and_runs_in_a_fresh_virtual_environment(dist: Dist, tmp_path: Path) -> None:
    made = _run(sys.executable, "-m", "venv", tmp_path / "venv")
    assert made.returncode == 0, _said(made)
    python, gallery = tmp_path / "venv" / "bin" / "python", tmp_path / "venv" / "bin" / "gallery"
    installed = _run(python, "-m", "pip", "install", "--quiet", dist.wheel)
    assert installed.returncode == 0, f"pip install of the wheel failed: {_said(installed)}"

    # The package comes from the fresh environment, not from this clone.
    where = _run(python, "-c", "import pipeline; print(pipeline.__file__)", cwd=tmp_path)
    assert where.returncode == 0, _said(where)
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv"), where.stdout

    version = _run(gallery, "--version", cwd=tmp_path)
    assert version.returncode == 0, _said(version)
    assert version.stdout.split() == ["gallery", VERSION]

    photos = tmp_path / "photos"
    shutil.copytree(REPO / "sample_images", photos)
    expected = sorted(p.name for p in photos.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    assert len(expected) == 4
    ran = _run(gallery, "process", photos, "--out", tmp_path / "out", "--name", "sample", cwd=tmp_path)
    assert ran.returncode == 0, _said(ran)
    lines = ran.stdout.splitlines()
    assert len(lines) == len(expected), ran.stdout
    for number, line in enumerate(lines, start=1):
        match = re.fullmatch(r'!\[[^\]]*\]\((.+) "[^"]*"\)', line)  # ![alt](url "title")
        assert match, line
        main = tmp_path / "out" / match.group(1).rsplit("/", 1)[-1]
        assert main.name == f"sample-{number:02d}.jpeg"
        with Image.open(main) as image:
            assert image.format == "JPEG"
            assert max(image.size) <= 2048
            image.verify()

    # Package data read through importlib.resources: Hugo's shortcode, written into a Hugo site.
    site = tmp_path / "site"
    site.mkdir()
    (site / "hugo.toml").write_text('title = "Packaging test"\n', encoding="utf-8")
    hugo = _run(gallery, "process", photos, "--markup", "hugo", "--name", "sample", cwd=site)
    assert hugo.returncode == 0, _said(hugo)
    shortcode = site / "layouts" / "shortcodes" / "gallery.html"
    assert shortcode.is_file(), f"no shortcode written into the Hugo site: {_said(hugo)}"
    assert (
        shortcode.read_bytes() == (REPO / "pipeline/sites/site_files/hugo/layouts/shortcodes/gallery.html").read_bytes()
    )
