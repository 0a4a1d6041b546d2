"""One run at a time per output folder: a lock held for the whole run, released even by a killed one.

The lock is filelock's: flock(2) where the platform has it (the kernel releases it when a process
dies, so a lock left by a killed run is never stale), the platform's own elsewhere. The holder's
process id sits in a file beside it, so a refused run can say who holds the folder.
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

from .errors import LockedError

LOCK_FILE = ".gallery.lock"
HOLDER_FILE = ".gallery.pid"
POLL_SECONDS = 0.2


@contextmanager
def output_lock(out_dir: Path, wait: float = 0) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for the whole run.

    A second run waits up to `wait` seconds for the first to finish, then refuses with LockedError.
    """
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
        (out_dir / HOLDER_FILE).write_text(str(os.getpid()), encoding="ascii")
        yield
    finally:
        with suppress(OSError):
            (out_dir / HOLDER_FILE).unlink()
        lock.release()


def _holder(out_dir: Path) -> str:
    try:
        return (out_dir / HOLDER_FILE).read_text(encoding="ascii").strip() or "unknown"
    except OSError:
        return "unknown"
