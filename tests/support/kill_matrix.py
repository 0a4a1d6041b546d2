"""Kill gallery at every change it makes to the file system, restart it, and check what it left.

Run as a program: `python -m tests.support.kill_matrix SPEC.json REPORT.json`. SPEC names a
template folder (the state before the run: photos, output folder, post) and the command line to
run inside a copy of it. For k = 1, 2, ... the command runs in a fresh copy, in a forked child of
this process, and the child kills itself with SIGKILL just before its k-th change to the file
system (a file opened for writing, a rename, a link, a deletion, a new folder); then the command
runs again, to its end, in the same copy. Kill points are deterministic: the command runs with one
job, so every change happens in this process, in the same order each time.

What each kill point left (right after the kill, and after the restart) goes into REPORT: the
files the post and the manifest name that do not exist, how many images the restart encoded
(counted at Pillow's `Image.save`, not from gallery's own account), and whether the restart's
outputs, manifest and post are byte for byte those of a run never killed. The test
(tests/test_kill_matrix.py) judges the report; this program only observes.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_state: dict[str, Any] = {"count": 0, "kill_at": 0, "log": None, "journal_fd": None}


def _tick(what: str, path: object) -> None:
    """One change to the file system is about to happen: count it, note it, and die at the chosen one."""
    _state["count"] += 1
    if _state["log"] is not None:
        os.write(_state["log"], f"{_state['count']}\t{what}\t{os.fsdecode(os.fspath(path))}\n".encode())
    if _state["count"] == _state["kill_at"]:
        os.kill(os.getpid(), signal.SIGKILL)


def _wrap(module: Any, name: str, writes: Any = None) -> None:
    original = getattr(module, name)

    def changed(*args: Any, **kwargs: Any) -> Any:
        if writes is None or writes(*args, **kwargs):
            _tick(name, args[0] if args else "")
        return original(*args, **kwargs)

    setattr(module, name, changed)


def _opens_for_writing(file: object, mode: str = "r", *args: Any, **kwargs: Any) -> bool:
    return isinstance(file, (str, bytes, os.PathLike)) and any(flag in mode for flag in "wax+")


def _os_open_writes(path: object, flags: int, *args: Any, **kwargs: Any) -> bool:
    return bool(flags & WRITE_FLAGS)


def instrument(kill_at: int, log_fd: int | None, finished_fd: int | None, encoded_fd: int | None) -> None:
    """Count every change to the file system in this process; note each image Pillow encodes, and
    each photo whose finished outputs reached the journal (what a restart may keep)."""
    _state.update(kill_at=kill_at, log=log_fd)
    if encoded_fd is not None:
        from PIL import Image

        save = Image.Image.save

        def encoded(image: Image.Image, *args: Any, **kwargs: Any) -> None:
            os.write(encoded_fd, b"1\n")
            save(image, *args, **kwargs)

        Image.Image.save = encoded  # type: ignore[method-assign]
    for name in ("replace", "rename", "link", "symlink", "unlink", "remove", "rmdir", "mkdir", "chmod", "truncate"):
        _wrap(os, name)
    _wrap(os, "open", _os_open_writes)
    _wrap(io, "open", _opens_for_writing)
    builtins.open = io.open
    if finished_fd is not None:
        from pipeline import run
        from pipeline.record import journal

        journal = journal.journal_rendered

        def noted(out_dir: Path, content_hash: str, outputs: Any, *rest: Any) -> None:
            journal(out_dir, content_hash, outputs, *rest)
            os.write(finished_fd, f"{content_hash}\n".encode())

        run.journal_rendered = noted  # the name the orchestrator calls


def _gallery(
    args: list[str], cwd: Path, kill_at: int, log: Path | None, finished: Path | None, encoded: Path | None
) -> int:
    """Run the command line in a forked child; its exit code, or -9 when it was killed."""
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.chdir(cwd)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            log_fd, finished_fd, encoded_fd = (
                os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND) if path else None
                for path in (log, finished, encoded)
            )
            instrument(kill_at, log_fd, finished_fd, encoded_fd)
            from pipeline.cli.app import main

            sys.argv = ["gallery", *args]
            try:
                main()
                code = 0
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else 1
        finally:
            sys.stdout.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def references(work: Path, post: str, manifest: str) -> list[str]:
    """Files the post and the manifest name that are not in the output folder."""
    missing = []
    post_file, manifest_file = work / post, work / manifest
    if post_file.is_file():
        for name in re.findall(r"/([^/\s()\"]+\.(?:jpeg|webp))", post_file.read_text(encoding="utf-8")):
            if not (manifest_file.parent / name).is_file():
                missing.append(f"post: {name}")
    if manifest_file.is_file():
        for photo in json.loads(manifest_file.read_text(encoding="utf-8"))["photos"]:
            names = [output["file"] for output in photo["outputs"]]
            missing += [f"manifest: {name}" for name in names if not (manifest_file.parent / name).is_file()]
    return missing


def snapshot(work: Path, out: str, post: str) -> dict[str, str]:
    """The published result: every visible file of the output folder, and the post, as text or size."""
    folder = work / out
    files = {f"{out}/{p.name}": p.read_bytes().hex() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}
    files[post] = (work / post).read_text(encoding="utf-8") if (work / post).is_file() else ""
    return files


def _warm_up(args: list[str], template: Path, scratch: Path) -> None:
    """Run the command once in this process, so that everything it imports on the way is imported
    before the forks: each forked run then starts at once."""
    from pipeline.cli.app import main

    work = scratch / "warm-up"
    shutil.copytree(template, work, symlinks=True)
    here, sys.argv = Path.cwd(), ["gallery", *args]
    os.chdir(work)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
            main()
    except SystemExit:
        pass
    finally:
        os.chdir(here)
    shutil.rmtree(work)


def main(spec_path: str, report_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    template, scratch = Path(spec["template"]), Path(spec["scratch"])
    args, out, post, manifest = spec["args"], spec["out"], spec["post"], spec["manifest"]
    _warm_up(args, template, scratch)
    # The run never killed: the reference, and the list of its changes to the file system.
    reference = scratch / "reference"
    shutil.copytree(template, reference, symlinks=True)
    log, encoded = scratch / "changes.log", scratch / "reference.encoded"
    assert _gallery(args, reference, 0, log, None, encoded) == 0
    expected = snapshot(reference, out, post)
    never_killed_encodes = len(encoded.read_text().split())
    changes = [line.split("\t") for line in log.read_text().splitlines()]
    points = []
    for kill_at in range(1, len(changes) + 1):
        work = scratch / f"k{kill_at:03d}"
        shutil.copytree(template, work, symlinks=True)
        finished = scratch / f"k{kill_at:03d}.finished"
        code = _gallery(args, work, kill_at, None, finished, None)
        after_kill = references(work, post, manifest)
        encoded = scratch / f"k{kill_at:03d}.encoded"
        restart = _gallery(args, work, 0, None, None, encoded)
        done = set(finished.read_text().split()) if finished.exists() else set()
        points.append(
            {
                "kill_at": kill_at,
                "change": changes[kill_at - 1][1:],
                "killed": code == -signal.SIGKILL,
                "dangling_after_kill": after_kill,
                "restart_exit": restart,
                "dangling_after_restart": references(work, post, manifest),
                "same_as_never_killed": snapshot(work, out, post) == expected,
                "encoded_by_restart": len(encoded.read_text().split()) if encoded.exists() else 0,
                "finished_before_kill": len(done),
            }
        )
        shutil.rmtree(work)
    report = {"changes": len(changes), "encoded_never_killed": never_killed_encodes, "points": points}
    Path(report_path).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
