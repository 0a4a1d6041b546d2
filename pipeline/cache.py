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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = ".gallery-state.json"
LOCK_FILE = ".gallery.lock"
STATE_VERSION = 1


class LockedError(RuntimeError):
    """Another run is writing to the same output folder."""


@dataclass
class State:
    """`sources`: path -> {size, mtime_ns, hash, width, height, format, captured}.
    `outputs`: content hash -> output key -> {file, role, format, width, height, bytes}."""

    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def load_state(out_dir: Path) -> State:
    try:
        raw = json.loads((out_dir / STATE_FILE).read_text(encoding="utf-8"))
        if raw.get("version") != STATE_VERSION:
            return State()
        return State(sources=dict(raw["sources"]), outputs=dict(raw["outputs"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return State()


def save_state(out_dir: Path, state: State) -> None:
    payload = {"version": STATE_VERSION, "sources": state.sources, "outputs": state.outputs}
    # Compact on purpose: without `indent` json uses its C encoder, ~4x faster on the record of a
    # large set, which every run writes, even one that finds nothing to do.
    write_text_atomically(out_dir / STATE_FILE, json.dumps(payload, separators=(",", ":"), sort_keys=True) + "\n")


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
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for the whole run.

    flock is released by the kernel when a process dies, so a lock left by a killed run is never
    stale: the next run simply takes it.
    """
    path = out_dir / LOCK_FILE
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LockedError(
                f"another gallery run (pid {holder}) is writing to {out_dir}; wait for it to finish and run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
