"""The worker pool: the one place that decides where per-photo work runs.

By default rendering runs in a local process pool with one worker per core. Any
`concurrent.futures.Executor` can take its place (`process(..., executor=...)`): a Dask cluster's
`Client.get_executor()` runs the render stage on many machines sharing a file system.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm

PR_SET_PDEATHSIG = 1  # prctl option from <linux/prctl.h>
ORPHAN_CHECK_SECONDS = 0.5
T = TypeVar("T")
R = TypeVar("R")


def _start_worker(parent: int) -> None:
    """Worker start-up: end with the run, even a killed one, and leave Ctrl-C to the run.

    A worker left behind by `kill -9` would wait forever on its queue and, holding a copy of the
    run's lock, keep every later run out of the output folder. Ctrl-C reaches the whole process
    group; only the parent decides what it means, so workers finish their photo instead of dying
    with a traceback each.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # at once, by the kernel
    else:
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the run died before the lines above took effect
        os._exit(1)


def _exit_when_orphaned(parent: int) -> None:
    """Where the kernel cannot be asked to end a worker with its parent: notice it, and end."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)


@contextmanager
def _local_pool(workers: int, threads: bool) -> Iterator[Executor]:
    pool: Executor = (
        ThreadPoolExecutor(workers)
        if threads
        else ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(os.getpid(),))
    )
    try:
        yield pool
    finally:
        # On Ctrl-C, photos already in a worker's hands finish; queued ones never start.
        pool.shutdown(cancel_futures=True)


def run_all(
    function: Callable[[T], R],
    items: list[T],
    *,
    workers: int,
    executor: Executor | None = None,
    threads: bool = False,
    progress: bool = False,
    label: str = "",
    on_result: Callable[[R], None] | None = None,
) -> list[R]:
    """Run `function` over `items`; results in item order.

    `executor` runs them when given (it stays open: its owner shuts it down); otherwise `workers`
    local processes (threads with `threads`), or the calling thread for one worker. `on_result`
    sees each result as soon as it is ready, in whatever order they finish. Rendering uses
    processes: Pillow releases the GIL in decode, resize and encode, and threads measured level with
    processes on two cores, but processes keep each worker's peak memory its own.
    """
    if not items:
        return []
    bar = tqdm(total=len(items), desc=label, unit="photo", disable=not progress, file=sys.stderr, leave=False)
    results: dict[int, R] = {}

    def collect(index: int, result: R) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)
        bar.update()

    with bar:
        if executor is None and min(workers, len(items)) == 1:
            for index, item in enumerate(items):
                collect(index, function(item))
        elif executor is not None:
            _collect_from(executor, function, items, collect)
        else:
            with _local_pool(min(workers, len(items)), threads) as pool:
                _collect_from(pool, function, items, collect)
    return [results[index] for index in range(len(items))]


def _collect_from(
    executor: Executor, function: Callable[[T], R], items: list[T], collect: Callable[[int, R], None]
) -> None:
    futures = {executor.submit(function, item): index for index, item in enumerate(items)}
    try:
        for future in as_completed(futures):
            collect(futures[future], future.result())
    finally:
        for future in futures:
            future.cancel()
