"""The output folder's own state: a lock for the run and a record of what was written from what.

The record lets a re-run skip unchanged photos without decoding them: a source is recognised by
size and mtime first (cheap), by content hash when those changed, and each output by a key made of
the settings that shape its bytes. An unreadable record is a cache miss, never an error.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

STATE_FILE = ".gallery-state.json"
JOURNAL_FILE = ".gallery-state.journal"
LOCK_FILE = ".gallery.lock"
STATE_VERSION = 1


class LockedError(RuntimeError):
    """Another run is writing to the same output folder."""


class OutputError(RuntimeError):
    """A folder or file the run needs cannot be read or written (disk full, permission denied)."""


@dataclass
class State:
    """`sources`: path -> {size, mtime_ns, hash, width, height, format, captured}.
    `outputs`: content hash -> output key -> {file, role, format, width, height, bytes}.
    `placeholders`: content hash -> {key (of the smallest output it was made from), color, lqip}."""

    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    placeholders: dict[str, dict[str, str]] = field(default_factory=dict)


def load_state(out_dir: Path) -> State:
    """The record of the last complete run, plus the photos a killed run finished after it."""
    try:
        raw = json.loads((out_dir / STATE_FILE).read_text(encoding="utf-8"))
        if raw.get("version") == STATE_VERSION:
            state = State(
                sources=dict(raw["sources"]),
                outputs=dict(raw["outputs"]),
                placeholders=dict(raw.get("placeholders", {})),
            )
        else:
            state = State()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        state = State()
    _replay_journal(out_dir, state)
    return state


def save_state(out_dir: Path, state: State) -> None:
    """Write the whole record; the journal is folded into it and goes."""
    payload = {
        "version": STATE_VERSION,
        "sources": state.sources,
        "outputs": state.outputs,
        "placeholders": state.placeholders,
    }
    # Compact on purpose: without `indent` json uses its C encoder, ~4x faster on the record of a
    # large set, which every run writes, even one that finds nothing to do.
    write_text_atomically(out_dir / STATE_FILE, json.dumps(payload, separators=(",", ":"), sort_keys=True) + "\n")
    (out_dir / JOURNAL_FILE).unlink(missing_ok=True)


def journal_outputs(
    out_dir: Path, content_hash: str, records: dict[str, dict[str, Any]], placeholder: dict[str, str] | None
) -> None:
    """Note one photo's finished outputs the moment they exist, one appended line each.

    The full record is written once, at the end of a run; a run killed before then would forget
    every photo it finished. The journal keeps them, so the next run renders only the rest. A line
    cut short by the kill is ignored when read.
    """
    entry = {"hash": content_hash, "outputs": records, "placeholder": placeholder}
    line = json.dumps(entry, sort_keys=True) + "\n"
    with (out_dir / JOURNAL_FILE).open("a", encoding="utf-8") as handle:
        handle.write(line)


def _replay_journal(out_dir: Path, state: State) -> None:
    try:
        lines = (out_dir / JOURNAL_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in lines:
        try:
            entry = json.loads(line)
            state.outputs.setdefault(entry["hash"], {}).update(entry["outputs"])
            if entry.get("placeholder"):
                state.placeholders[entry["hash"]] = entry["placeholder"]
        except (ValueError, KeyError, TypeError, AttributeError):
            continue


def write_text_atomically(path: Path, text: str) -> None:
    """Write through a temp file and rename, so readers see the old or the new text, never half."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def remove_stale_temp_files(out_dir: Path) -> None:
    """Temp files left by a killed run; safe to remove because we hold the folder's lock."""
    for temp in out_dir.glob(".*.tmp"):
        temp.unlink(missing_ok=True)


@contextmanager
def output_lock(out_dir: Path, wait: float = 0) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for the whole run.

    A second run waits up to `wait` seconds for the first to finish, then refuses with LockedError.
    flock is released by the kernel when a process dies, so a lock left by a killed run is never
    stale: the next run simply takes it (once any worker processes of the killed run have exited).
    """
    path = out_dir / LOCK_FILE
    deadline = time.monotonic() + wait
    with path.open("a+") as handle:
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                waited = f" (waited {wait:g} s)" if wait else ""
                raise LockedError(
                    f"another gallery run (pid {holder}) is writing to {out_dir}{waited}; let it finish, "
                    "or pass --wait SECONDS to queue behind it"
                )
            time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False
    return True
