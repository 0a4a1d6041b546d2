"""One run at a time per output folder: a lock held for the whole run, released even by a killed one.

The lock is filelock's: flock(2) where the platform has it (the kernel releases it when a process
dies, so a lock left by a killed run is never stale), the platform's own elsewhere. The holder's
process id sits in a file beside it, so a refused run can say who holds the folder. Older filelock
versions open the lock file with O_CREAT|O_TRUNC, following a link: a link planted at its name is
removed before filelock opens it, and the holder's file is written like every other (files.py).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

with warnings.catch_warnings():  # without fcntl it says "only soft file lock is available": known, fine
    warnings.simplefilter("ignore")
    from filelock import FileLock, Timeout

from ..errors import LockedError
from ..files import clear_planted_link, read_regular_file, write_atomically

LOCK_FILE = ".gallery.lock"
HOLDER_FILE = ".gallery.pid"
POLL_SECONDS = 0.2


@contextmanager
def output_lock(out_dir: Path, wait: float = 0) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for the whole run.

    A second run waits up to `wait` seconds for the first to finish, then refuses with LockedError.
    """
    clear_planted_link(out_dir / LOCK_FILE)
    lock = FileLock(out_dir / LOCK_FILE, thread_local=False)
    try:
        lock.acquire(timeout=wait, poll_interval=POLL_SECONDS)
    except Timeout:
        waited = f" (waited {wait:g} s)" if wait else ""
        raise LockedError(
            f"another gallery run (pid {_holder(out_dir)}) is writing to {out_dir}{waited}; let it finish, "
            "or pass --wait SECONDS to queue behind it"
        ) from None
    try:
        write_atomically(out_dir / HOLDER_FILE, str(os.getpid()).encode("ascii"))
        yield
    finally:
        with suppress(OSError):
            (out_dir / HOLDER_FILE).unlink()
        lock.release()


def _holder(out_dir: Path) -> str:
    """The holder's pid as its file says, or "unknown": never another file's text through a link."""
    text = (read_regular_file(out_dir / HOLDER_FILE) or b"").strip()
    return text.decode("ascii") if text.isdigit() else "unknown"
