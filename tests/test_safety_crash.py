"""Crashes and concurrency: kill -9 mid-run, two runs on one output folder, full and read-only disks.

Every test drives the real command line in subprocesses: a real SIGKILL, a real second process
contending for the lock, a real full (tmpfs) or size-limited file system.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from pipeline.config.sections import Config
from pipeline.record.lock import HOLDER_FILE, LOCK_FILE
from pipeline.run import private_folder

from .conftest import FIXTURES, REPO, require_tool, run_gallery, said, unavailable

PHOTOS = sorted((FIXTURES / "orientation").glob("*.jpg"))  # 12 distinct real photos, ~350 KB each
FEW = 3
SOME = 6  # a batch of about 3 s with one job: time for a second Ctrl-C
OUTPUTS_PER_PHOTO = 5  # main JPEG, three WebP widths, thumbnail (every fixture is 1800x1200)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """All twelve: enough work for a run to be caught in the middle."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in PHOTOS:
        shutil.copy(photo, folder / photo.name)
    return folder


@pytest.fixture
def few_photos(tmp_path: Path) -> Path:
    folder = tmp_path / "few"
    folder.mkdir()
    for photo in PHOTOS[:FEW]:
        shutil.copy(photo, folder / photo.name)
    return folder


def _gallery(*args: str | Path, **popen: object) -> subprocess.Popen:
    """Start the real command line without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        **popen,  # type: ignore[arg-type]
    )


def _poll(condition, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _complete_photos(out: Path) -> set[str]:
    """Stems (`k-03`) whose every output is on disk."""
    stems: dict[str, int] = {}
    for path in out.glob("k-*"):
        if not path.name.startswith("."):
            stem = "-".join(path.name.split("-")[:2]).split(".")[0]
            stems[stem] = stems.get(stem, 0) + 1
    return {stem for stem, count in stems.items() if count == OUTPUTS_PER_PHOTO}


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def _check_complete(out: Path, count: int) -> None:
    """Every planned output exists and decodes; the manifest lists every photo; no temp files."""
    manifest = json.loads((out / "k.json").read_text(encoding="utf-8"))
    assert len(manifest["photos"]) == count
    for entry in manifest["photos"]:
        assert len(entry["outputs"]) == OUTPUTS_PER_PHOTO
        for output in entry["outputs"]:
            with Image.open(out / output["file"]) as image:
                image.load()
                assert image.size == (output["width"], output["height"])
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def _check_rerun(completed: subprocess.CompletedProcess, photos: int, failed: tuple[str, ...] = ()) -> str:
    """A run after a crash: exit 0, or 1 naming exactly the bad files; no traceback; the summary counts
    every photo. Returns the summary line."""
    assert completed.returncode == (1 if failed else 0), completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    assert sorted(Path(line.split(": ")[1]).name for line in errors) == sorted(failed), completed.stderr
    summary = completed.stderr.splitlines()[-1]
    assert summary.startswith(f"{photos + len(failed)} photos: ") and f" {len(failed)} failed;" in summary, summary
    assert len(completed.stdout.splitlines()) == photos
    return summary


def test_sigkill_mid_run_then_rerun_completes_and_keeps_finished_work(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # A bad file as well: the re-run must still fail it, and it alone (it sorts last: the others keep their numbers).
    shutil.copy(FIXTURES / "edge" / "truncated_jpeg.jpg", photos / "zz-cut.jpg")
    before = _hashes(photos)
    run = _gallery("process", photos, "--out", out, "--name", "k", "--jobs", "2", stdout=subprocess.DEVNULL)
    try:
        _poll(lambda: len(_complete_photos(out)) >= 4 or run.poll() is not None, what="four finished photos")
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert run.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    finished = _complete_photos(out)
    identity = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("k-*") if not p.name.startswith(".")}
    # The holder file still names the killed run (its lock died with it); the next run takes over.
    assert (out / HOLDER_FILE).read_text().strip() == str(run.pid)
    rerun = run_gallery("process", photos, "--out", out, "--name", "k", "--wait", "30")
    _check_rerun(rerun, len(PHOTOS), failed=("zz-cut.jpg",))
    assert "zz-cut.jpg: cannot decode image data: the file is truncated" in rerun.stderr
    _check_complete(out, len(PHOTOS))
    kept = {
        stem
        for stem in finished
        if all(
            (p.stat().st_ino, p.stat().st_mtime_ns) == identity[p.name]
            for p in out.glob(f"{stem}*")
            if not p.name.startswith(".")
        )
    }
    # Only photos whose results were still on their way to the killed run (one per job) may be redone.
    assert len(finished - kept) <= 2, (finished, kept)
    assert f"{len(PHOTOS) - len(kept)} processed, {len(kept)} unchanged" in rerun.stderr
    assert _hashes(photos) == before, "originals must never be modified"


def test_second_ctrl_c_abandons_the_watch_batch_with_exit_130(tmp_path: Path) -> None:
    """The first Ctrl-C lets `gallery watch` finish its batch; a second one abandons it: exit 130, no
    traceback, no block, and the next run completes the set, keeping what was finished."""
    out, log, photos = tmp_path / "out", tmp_path / "watch.log", tmp_path / "uploads"
    photos.mkdir()
    for photo in PHOTOS[:SOME]:
        shutil.copy(photo, photos / photo.name)
    with log.open("w") as errors:
        watch = _gallery(
            *("watch", photos, "--out", out, "--name", "k", "--jobs", "1", "--settle", "0.2"),
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            start_new_session=True,  # Ctrl-C in a terminal signals the whole process group
        )
    try:
        _poll(lambda: _complete_photos(out) or watch.poll() is not None, what="the batch's first photo")
        os.killpg(watch.pid, signal.SIGINT)
        _poll(lambda: "SIGINT: stopping" in log.read_text() or watch.poll() is not None, what="the first Ctrl-C")
        assert watch.poll() is None, f"the batch ended before the second Ctrl-C\n{log.read_text()}"
        os.killpg(watch.pid, signal.SIGINT)
        stdout, _ = watch.communicate(timeout=120)
    finally:
        watch.kill()
        watch.wait()
    stderr = log.read_text()
    assert watch.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stdout == "", "an abandoned batch prints no block"
    finished = _complete_photos(out)
    assert 0 < len(finished) < SOME, f"the batch was abandoned part-way\n{stderr}"
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    rerun = run_gallery("process", photos, "--out", out, "--name", "k", "--wait", "30")
    summary = _check_rerun(rerun, SOME)
    assert f"{SOME - len(finished)} processed, {len(finished)} unchanged" in summary, summary
    _check_complete(out, SOME)


def test_second_run_on_the_same_output_is_refused_while_the_first_finishes(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _gallery(
        *("process", photos, "--out", out, "--name", "k", "--jobs", "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _poll(lambda: (out / HOLDER_FILE).is_file() and (out / HOLDER_FILE).read_text() == str(first.pid))
        second = run_gallery("process", photos, "--out", out, "--name", "k")
        assert first.poll() is None, "the first run ended too early for this test"
        assert second.returncode == 2
        assert second.stdout == ""
        assert f"another gallery run (pid {first.pid}) is writing to {out}" in second.stderr
        assert "--wait" in second.stderr
        stdout, stderr = first.communicate(timeout=300)
    finally:
        first.kill()
    _check_rerun(subprocess.CompletedProcess(first.args, first.returncode, stdout, stderr), len(PHOTOS))
    _check_complete(out, len(PHOTOS))


@contextmanager
def _lock_held_by_helper(out: Path) -> Iterator[subprocess.Popen]:
    """Another process holds the output folder's lock until the block ends."""
    out.mkdir(parents=True, exist_ok=True)
    code = (
        "import fcntl, os, sys\n"
        f"handle = open({str(out / LOCK_FILE)!r}, 'a+')\n"
        "fcntl.flock(handle, fcntl.LOCK_EX)\n"
        f"open({str(out / HOLDER_FILE)!r}, 'w').write(str(os.getpid()))\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_wait_queues_behind_the_lock_holder(few_photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with _lock_held_by_helper(out) as holder:
        refused = run_gallery("process", few_photos, "--out", out, "--name", "k", "--wait", "1")
        assert refused.returncode == 2
        assert f"(pid {holder.pid})" in refused.stderr and "waited 1 s" in refused.stderr
        assert not list(out.glob("k-*")), "a refused run writes nothing"
        waiting = _gallery(
            *("process", few_photos, "--out", out, "--name", "k", "--wait", "120"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=3)  # cannot finish while the lock is held, however long that is
    # The holder was killed: the waiting run takes the lock and completes.
    stdout, stderr = waiting.communicate(timeout=300)
    _check_rerun(subprocess.CompletedProcess(waiting.args, waiting.returncode, stdout, stderr), FEW)
    _check_complete(out, FEW)


@pytest.mark.parametrize("command", [["review"], ["preview"], ["captions", "--skip-suggested"]])
def test_commands_rendering_privately_wait_too(command: list[str], few_photos: Path, tmp_path: Path) -> None:
    """review, preview and captions render into the private folder of --out, under its own lock:
    the --wait their refusal points at is theirs too."""
    out = tmp_path / "out"
    private = private_folder(Config().with_overrides(output__dir=str(out)))
    with _lock_held_by_helper(private) as holder:
        refused = run_gallery(*command, few_photos, "--out", out, "--wait", "1")
    assert refused.returncode == 2, refused.stderr
    assert f"(pid {holder.pid})" in refused.stderr and "waited 1 s" in refused.stderr, refused.stderr
    assert run_gallery(*command, few_photos, "--out", out, "--wait", "1").returncode == 0


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _no_partial_outputs(out: Path, photos_out: int) -> None:
    """A failed photo leaves nothing: no temp files, only the outputs of photos that came out, whole."""
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    manifest = json.loads((out / "k.json").read_text(encoding="utf-8"))
    assert len(manifest["photos"]) == photos_out
    outputs = {p.name for p in out.glob("k-*")}
    assert outputs == {o["file"] for photo in manifest["photos"] for o in photo["outputs"]}
    for path in out.glob("k-*"):
        with Image.open(path) as image:
            image.load()


def test_files_too_large_to_write_fail_cleanly(photos: Path, tmp_path: Path) -> None:
    """Writes fail with EFBIG past a file-size limit: the outputs that fit are written, the rest fail."""
    out = tmp_path / "out"
    shutil.copy(FIXTURES / "cameras" / "Canon_40D.jpg", photos / "small.jpg")  # 100x68: its outputs fit
    before = _hashes(photos)
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "process", photos, "--out", out, "--name", "k"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=_limit_file_size(150_000),  # the limit applies to the child only
        timeout=300,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "File too large" in completed.stderr
    assert len(completed.stdout.splitlines()) == 1
    _no_partial_outputs(out, 1)
    assert _hashes(photos) == before


@contextmanager
def _tmpfs(path: Path, options: str) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        unavailable(f"requires mounting a tmpfs (as root): {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_disk_gives_a_clear_error_and_leaves_nothing_partial(few_photos: Path, tmp_path: Path) -> None:
    before = _hashes(few_photos)
    with _tmpfs(tmp_path / "small", "size=1m") as disk:
        out = disk / "out"
        completed = run_gallery("process", few_photos, "--out", out, "--name", "k")
        assert completed.returncode in (1, 2), completed.stderr
        assert "Traceback" not in completed.stderr
        assert "No space left on device" in completed.stderr
        _no_partial_outputs(out, len(completed.stdout.splitlines()))
        # Once there is room again, a re-run completes the set.
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        completed = run_gallery("process", few_photos, "--out", out, "--name", "k")
        _check_rerun(completed, FEW)
        _check_complete(out, FEW)
    assert _hashes(few_photos) == before


def test_read_only_output_folder_gives_a_clear_error(few_photos: Path, tmp_path: Path) -> None:
    before = _hashes(few_photos)
    with _tmpfs(tmp_path / "readonly", "ro,size=1m") as disk:
        for out in (disk, disk / "sub"):
            completed = run_gallery("process", few_photos, "--out", out, "--name", "k")
            assert completed.returncode == 2, completed.stderr
            assert "Traceback" not in completed.stderr
            lines = said(completed.stderr)
            assert lines[0].startswith("gallery: ") and "Read-only file system" in completed.stderr
            assert str(out) in completed.stderr
    assert _hashes(few_photos) == before


def test_output_folder_without_write_permission_gives_a_clear_error() -> None:
    # root ignores file modes, so as root the run is made as `nobody`, which needs a readable folder.
    base = Path(tempfile.mkdtemp(prefix="gallery-perm-"))
    try:
        base.chmod(0o755)
        photos = base / "photos"
        photos.mkdir()
        for photo in PHOTOS[:FEW]:
            shutil.copy(photo, photos / photo.name)
        locked = base / "locked"
        locked.mkdir(mode=0o755)
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = [require_tool("setpriv", "util-linux"), "--reuid=65534", "--regid=65534", "--clear-groups"]
        else:
            locked.chmod(0o555)
        before = _hashes(photos)
        for out in (locked, locked / "sub"):
            completed = subprocess.run(
                [*prefix, sys.executable, "-m", "pipeline", "process", str(photos), "--out", str(out)],
                capture_output=True,
                text=True,
                cwd=base,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                timeout=120,
                check=False,
            )
            assert completed.returncode == 2, completed.stderr
            lines = said(completed.stderr)
            assert lines[0].startswith("gallery: cannot use ") and "Permission denied" in completed.stderr
            assert "Traceback" not in completed.stderr
        assert not list(locked.iterdir())
        assert _hashes(photos) == before
    finally:
        shutil.rmtree(base)
