"""One run at a time per output folder: a lock held for the whole run, released even by a killed one."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import LockedError

LOCK_FILE = ".gallery.lock"


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
