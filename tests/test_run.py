"""The orchestrator: one plan per command, nothing written where it does not belong, nothing left
dangling when every photo is skipped, and outputs never taken for photos."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

import pipeline
from pipeline import plan
from pipeline import run as run_module
from pipeline.commands.captions import update_captions
from pipeline.commands.preview import preview
from pipeline.commands.review import review
from pipeline.config.load import load_config

from .conftest import fixture_folder, run_gallery

PHOTOS = ("kodak-dc240.jpg", "DSCN0010.jpg", "canon_hdr_NO.jpg")


def _tree(folder: Path) -> dict[str, str]:
    """Everything under FOLDER (dotfiles included): each file with a digest of its bytes, each folder
    as "folder", so an empty folder made where nothing belongs is seen too."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): "folder" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
    }


def _files_by_inode(folder: Path) -> dict[tuple[int, int], tuple[Path, int]]:
    """Every file under FOLDER by its identity (device, inode), with its path and mtime: a file hard
    linked elsewhere is the same entry there."""
    return {
        (stat.st_dev, stat.st_ino): (p, stat.st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and (stat := p.stat())
    }


@pytest.mark.parametrize("inside", ["", "web"])
@pytest.mark.parametrize("command", ["process", "watch"])
def test_an_output_folder_among_the_photos_is_refused(command: str, inside: str, tmp_path: Path) -> None:
    """Each run would take its own outputs for new photos (2 -> 10 -> 34 photos): refused, exit 2."""
    source = fixture_folder(tmp_path, *PHOTOS[:2])
    before = _tree(source)
    extra = ["--once"] if command == "watch" else []
    completed = run_gallery(command, source, "--out", source / inside, *extra)
    assert completed.returncode == 2, completed.stderr
    assert "inside the photo folder" in completed.stderr and "Traceback" not in completed.stderr
    assert _tree(source) == before, "nothing was written among the photos"
    assert inside == "" or not (source / inside).exists(), "the output folder is not even created"


def test_skipping_every_photo_empties_the_block_and_says_so(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, *PHOTOS[:2])
    out, post = tmp_path / "out", tmp_path / "post.md"
    first = run_gallery("process", source, "--out", out, "--name", "s", "--post-file", post)
    assert first.returncode == 0, first.stderr
    assert post.read_text().count("![") == 2
    (source / "captions.toml").write_text("".join(f'["{name}"]\nskip = true\n' for name in PHOTOS[:2]))

    again = run_gallery("process", source, "--out", out, "--name", "s", "--post-file", post)

    assert again.returncode == 0, again.stderr
    assert "every photo is marked skip = true" in again.stderr
    text = post.read_text()
    block = text[text.index("<!-- gallery:start -->") : text.index("<!-- gallery:end -->")]
    assert "![" not in block and "s-0" not in text, "the post names no output any more"
    assert json.loads((out / "s.json").read_text())["photos"] == []
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["s.json"], "outputs are gone"


def test_review_captions_and_preview_write_nothing_where_the_site_publishes(tmp_path: Path) -> None:
    """A folder not yet published: the output folder is not even created, nor is anything beside it."""
    source = fixture_folder(tmp_path, *PHOTOS)
    site = tmp_path / "site"
    site.mkdir()
    out = site / "assets" / "img"
    for command in (["review", "--json"], ["captions", "--skip-suggested"], ["preview"]):
        completed = run_gallery(command[0], source, "--out", out, *command[1:], cwd=tmp_path)
        assert completed.returncode == 0, completed.stderr
    assert list(site.iterdir()) == [], "review, captions and preview created nothing in the site, not even a folder"
    assert _tree(site) == {}, "review, captions and preview wrote into the site"
    assert set(_tree(source)) == {*PHOTOS, "captions.toml"}, "only captions.toml is written beside the photos"


def test_process_after_review_takes_its_renders(tmp_path: Path, private_cache: Path) -> None:
    """The private folder's renders are taken by `process` (no photo rendered twice), byte for byte what a
    run without review writes."""
    source = fixture_folder(tmp_path, *PHOTOS)
    earlier = _files_by_inode(private_cache)
    reviewed = run_gallery("review", source, "--out", tmp_path / "out", "--json")
    assert reviewed.returncode == 0, reviewed.stderr
    renders = {key: found for key, found in _files_by_inode(private_cache).items() if key not in earlier}
    after_review = run_gallery("process", source, "--out", tmp_path / "out", "--name", "t", "--json")
    alone = run_gallery("process", source, "--out", tmp_path / "alone", "--name", "t", "--json")
    assert after_review.returncode == alone.returncode == 0
    # Judged by the files themselves: the private folder lies on the same file system as the output
    # folder (both under the test's temporary folder), so a render taken is a hard link to review's.
    published = sorted((tmp_path / "out").glob("t-*"))
    assert len(published) == len(list((tmp_path / "alone").glob("t-*"))) >= 3 * len(PHOTOS)
    for path in published:
        stat = path.stat()
        assert (stat.st_dev, stat.st_ino) in renders, f"{path.name} was rendered again, not taken from review"
    assert _files_by_inode(private_cache).items() >= renders.items(), "process wrote nothing in the private folder"
    assert [p.name for p in (tmp_path / "alone").glob("t-*") if p.stat().st_nlink != 1] == [], "alone, all rendered"
    assert [p["rendered"] for p in json.loads(after_review.stdout)["photos"]] == [False] * len(PHOTOS)
    assert [p["rendered"] for p in json.loads(alone.stdout)["photos"]] == [True] * len(PHOTOS)
    visible = re.compile(r"t-.*")
    assert {k: v for k, v in _tree(tmp_path / "out").items() if visible.fullmatch(k)} == {
        k: v for k, v in _tree(tmp_path / "alone").items() if visible.fullmatch(k)
    }


def test_dry_run_after_review_says_what_it_would_copy(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, *PHOTOS[:1])
    assert run_gallery("review", source, "--out", tmp_path / "out").returncode == 0
    dry = run_gallery("process", source, "--out", tmp_path / "out", "--name", "t", "--dry-run", "--json")
    (photo,) = json.loads(dry.stdout)["photos"]
    # A 640x480 photo: the main image, variants 480 and 640 px wide (960 and 1600 collapse), the thumbnail.
    expected = ["t-01-0480w.webp", "t-01-0640w.webp", "t-01-thumb.webp", "t-01.jpeg"]
    assert photo["render"] == [] and sorted(photo["copied"]) == expected
    assert not (tmp_path / "out").exists()


def test_each_command_makes_one_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = fixture_folder(tmp_path, *PHOTOS[:2])
    config = load_config(output__dir=str(tmp_path / "out"), run__jobs=1, run__quiet=True)
    plans = []
    make_plan = plan.make_plan
    monkeypatch.setattr(run_module, "make_plan", lambda *a, **k: plans.append(1) or make_plan(*a, **k))
    for command in (
        lambda: pipeline.process(source, config),
        lambda: review(source, config),
        lambda: review(source, config, render=False),
        lambda: preview(source, config),
        lambda: update_captions(source, config, write=False, skip_suggested=True),
        lambda: update_captions(source, config, write=False),
    ):
        plans.clear()
        command()
        assert len(plans) == 1, command
    shutil.rmtree(tmp_path / "out")


def test_process_tells_each_photo_rendered(tmp_path: Path) -> None:
    """What the editor's progress bar shows: (rendered, to render) at the start and after each photo."""
    source = fixture_folder(tmp_path, *PHOTOS)
    heard: list[tuple[int, int]] = []
    config = load_config(output__dir=str(tmp_path / "out"), run__quiet=True)
    pipeline.process(source, config, on_rendered=lambda done, total: heard.append((done, total)))
    assert heard == [(done, len(PHOTOS)) for done in range(len(PHOTOS) + 1)]
    heard.clear()
    pipeline.process(source, config, on_rendered=lambda done, total: heard.append((done, total)))
    assert heard == [(0, 0)], "nothing to render the second time"


def test_the_private_folder_keeps_only_what_the_set_needs(tmp_path: Path, private_cache: Path) -> None:
    """Review's folder is a cache nothing links to: a photo gone from the folder takes its renders along."""
    source = fixture_folder(tmp_path, *PHOTOS[:2])
    config = load_config(output__dir=str(tmp_path / "out"), run__jobs=1, run__quiet=True)
    review(source, config)
    private = run_module.private_folder(config)
    before = {p.name for p in private.iterdir() if not p.name.startswith(".")}
    (source / PHOTOS[1]).unlink()
    review(source, config)
    after = {p.name for p in private.iterdir() if not p.name.startswith(".")}
    assert after and after < before, "the gone photo's renders are deleted, the other's kept"
    assert private.is_relative_to(private_cache)
