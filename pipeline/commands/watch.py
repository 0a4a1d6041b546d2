"""`gallery watch`: keep the image set and the post's block current while photos arrive.

The watcher processes nothing itself. It watches the folder (watchfiles: native events, or polling
on network mounts), decides which files have fully arrived, and runs `run.process` over the folder
with the others excluded. Each such batch is incremental through the cache, renders in parallel and
writes the block and the manifest once, atomically. A file has arrived when its size and mtime have
not changed for `watch.settle` seconds and it is a whole image (by its structure, else by decoding
it); a file that keeps failing that check is handed over anyway after a longer wait, so that
`process` can say what is wrong with it.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from ..config.sections import Config
from ..errors import OutputError, PhotoError
from ..image import ingest
from ..image.arrival import is_whole_image
from ..messages import Say, photo_line, stderr_line
from ..model import RunResult
from ..record.state import load_state
from ..run import check_folders, process
from ..text.captions_file import CAPTIONS_FILE
from .signals import on_stop

# A batch renders at most this many new or changed photos per worker, so a stop request waits
# for seconds, not for a whole card dump, and the block grows while a large upload is processed.
PHOTOS_PER_WORKER = 8
# A file that stopped changing but does not decode yet (a stalled upload) gets this many settle
# periods more before `process` sees it and reports what is wrong with it.
STALLED_SETTLE_PERIODS = 5
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "davfs", "fuse.sshfs", "fuse.rclone"}
)


Log = Callable[[str], None]
Stat = tuple[int, int]  # size, mtime_ns


def log_to_stderr(line: str) -> None:
    stderr_line(line)  # file names in it cannot forge a line


@dataclass
class _Arrival:
    """The last (size, mtime) seen of a file and since when (monotonic seconds) it has not changed."""

    stat: Stat
    since: float


@dataclass(frozen=True)
class _Readiness:
    """One look at the folder: what a batch would include, and what it must leave out."""

    ready: dict[str, Stat]
    settling: frozenset[str]  # still being written, or too recently changed
    failed: frozenset[str]  # failed before and unchanged since: not tried again
    deferred: frozenset[str]  # arrived, but left for the next batch

    @property
    def exclude(self) -> frozenset[str]:
        return self.settling | self.failed | self.deferred


class Watcher:
    """What the watcher knows between batches: arrivals, what was processed, which files failed."""

    def __init__(self, source: Path, config: Config, say: Say | None = None, once: bool = False) -> None:
        self.source = source
        self.once = once
        self.config = config
        self.say = say or Say()
        self.arrivals: dict[str, _Arrival] = {}
        self.processed = self._already_processed()
        self.failed: dict[str, Stat | None] = {}
        self.complete: dict[str, tuple[Stat, bool]] = {}
        self.warned: set[str] = set()
        self.retrying = False
        self.result: RunResult | None = None
        self.photos: set[str] = set()  # names that were photos (or failed as photos) in the last batch

    def _already_processed(self) -> dict[str, Stat]:
        """Files the output folder's record already holds unchanged: a restart does not count them as new."""
        state = load_state(Path(self.config.output.dir))
        processed = {}
        for path in self.source.iterdir():
            known = state.sources.get(str(path.resolve()))
            if known:
                processed[path.name] = (known.size, known.mtime_ns)
        return processed

    def scan(self, now: float) -> None:
        """Note every final-named regular file's size and mtime; a change restarts its settle clock."""
        settle, wall = self.config.watch.settle, time.time()
        seen: dict[str, _Arrival] = {}
        for entry in os.scandir(self.source):
            if ingest.is_temporary_name(entry.name):
                continue
            try:
                info = entry.stat()
            except OSError:
                continue
            if not entry.is_file():
                continue
            stat = (info.st_size, info.st_mtime_ns)
            known = self.arrivals.get(entry.name)
            if known and known.stat == stat:
                seen[entry.name] = known
            else:
                # A file first seen long after its last write (at start, or renamed from `.part`)
                # has settled already; anything else starts its clock now.
                old = known is None and wall - info.st_mtime_ns / 1e9 >= settle
                seen[entry.name] = _Arrival(stat, now - settle if old else now)
        self.arrivals = seen
        self.failed = {name: stat for name, stat in self.failed.items() if name in seen or stat is None}

    def readiness(self, now: float) -> _Readiness:
        settle = self.config.watch.settle
        ready: dict[str, Stat] = {}
        settling: set[str] = set()
        failed: set[str] = set()
        for name, arrival in self.arrivals.items():
            quiet = now - arrival.since
            if quiet < settle:
                settling.add(name)
            elif name in self.failed and self.failed[name] == arrival.stat:
                failed.add(name)
            elif (
                self.processed.get(name) != arrival.stat
                and quiet < settle * STALLED_SETTLE_PERIODS
                and not self._whole(name, arrival.stat)
            ):
                settling.add(name)
            else:
                ready[name] = arrival.stat
        # New and changed files in order of arrival; beyond one batch's worth they wait their turn.
        work = sorted((n for n, stat in ready.items() if self.processed.get(n) != stat), key=lambda n: ready[n][1])
        deferred = frozenset(work[PHOTOS_PER_WORKER * self.config.jobs :])
        for name in deferred:
            del ready[name]
        return _Readiness(ready, frozenset(settling), frozenset(failed), deferred)

    def _whole(self, name: str, stat: Stat) -> bool:
        known = self.complete.get(name)
        if known is None or known[0] != stat:
            known = (stat, is_whole_image(self.source / name, self.config))
            self.complete[name] = known
        return known[1]

    def needs_batch(self, readiness: _Readiness) -> bool:
        """Something arrived, changed or went; a file being rewritten counts only once it settles.

        The first batch runs even when nothing changed (settings may have), but not while a photo
        processed before is being rewritten (its outputs would be pruned) nor while every file is
        still arriving (an empty block would be published).
        """
        published = {n: s for n, s in self.processed.items() if n not in readiness.settling}
        rewriting = readiness.settling & self.processed.keys()
        first = self.result is None and not rewriting and (bool(readiness.ready) or not readiness.settling)
        return first or readiness.ready != published or bool(readiness.deferred)

    def batch(self, readiness: _Readiness) -> None:
        """One `process` call over everything that has arrived; one log line saying what it did."""
        before = self.processed
        try:
            result = process(
                self.source,
                self.config,
                prune=True,
                exclude=readiness.exclude,
                keep_deleted=self.config.watch.keep_deleted,
            )
        except OutputError as error:
            # Another run holds the output folder, or it cannot be written just now (a full disk, a
            # share gone away): say so once and try again shortly. `--once` has no later to wait for.
            if self.once:
                raise
            if not self.retrying:
                self.say.error(f"waiting: {error}; retrying")
            self.retrying = True
            return
        self.retrying = False
        self.result = result
        # --force means "redo what is there now", not "redo everything at every batch".
        self.config = self.config.with_overrides(run__force=False)
        self.processed = dict(readiness.ready)
        for failure in result.failures:
            name = failure.path.name
            stat = self.arrivals[name].stat if name in self.arrivals else None
            if name not in self.failed or self.failed[name] != stat:
                self.say.error(failure)
            self.failed[name] = stat
            self.processed.pop(name, None)
        for problem in result.unwritten:  # tried again at every batch: said at every batch
            self.say.error(problem)
        for label, problems in (("warning", result.warnings), ("alt text", result.alt_warnings)):
            for warning in map(str, problems):
                if warning not in self.warned:
                    self.say.warning(warning, label)
                    self.warned.add(warning)
        photos = {photo.source.name for photo in result.photos} | {f.path.name for f in result.failures}
        self.say.info(self._batch_line(before, readiness.ready, result, photos))
        for photo in result.photos:
            self.say.detail(photo_line(photo))
        self.photos = photos

    def _batch_line(self, before: dict[str, Stat], now: dict[str, Stat], result: RunResult, photos: set[str]) -> str:
        """What arrived, changed or went among the photos (other files, such as notes, are not
        photos), and what the batch made of it."""
        new = [n for n in now if n not in before and n in photos]
        changed = [n for n in now if n in before and before[n] != now[n] and n in photos]
        gone = [n for n in before if n not in self.arrivals and n in self.photos]
        came = ", ".join(
            f"{len(names)} {label} ({_names(names)})"
            for names, label in ((new, "new"), (changed, "changed"), (gone, self._deleted_label))
            if names
        )
        if CAPTIONS_FILE in before and CAPTIONS_FILE in now and before[CAPTIONS_FILE] != now[CAPTIONS_FILE]:
            came = ", ".join(filter(None, (came, f"{CAPTIONS_FILE} changed")))
        rendered = [photo for photo in result.photos if photo.rendered]
        files = sum(len(photo.outputs) for photo in rendered)
        written = sum(output.bytes for photo in rendered for output in photo.outputs)
        failed = f", {len(result.failures)} failed" if result.failures else ""
        target = f"; block in {self.config.output.post_file}" if self.config.output.post_file else ""
        return (
            f"{time.strftime('%H:%M:%S')} {came or 'no changes'} -> {len(result.photos)} photos: "
            f"{len(rendered)} rendered ({files} files, {written / 1e6:.1f} MB), {result.unchanged} unchanged"
            f"{failed}{target}; {result.seconds:.1f} s"
        )

    @property
    def _deleted_label(self) -> str:
        return "deleted, kept" if self.config.watch.keep_deleted else "deleted"

    @property
    def failures(self) -> list[str]:
        return sorted(self.failed)


def _names(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(sorted(names)[:shown]) + more


def on_network_mount(path: Path, mounts: str | None = None) -> bool:
    """Whether `path` lies on NFS, SMB, sshfs and the like, where events from other machines never
    arrive. `mounts` is the mount table in /proc/mounts format (read from there by default)."""
    if mounts is None:
        if not sys.platform.startswith("linux"):
            return False  # the mount table is read from Linux's /proc; elsewhere --poll is the way
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return False
    target = str(path.resolve())
    best, kind = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda code: chr(int(code[1], 8)), fields[1])  # `\040` is a space
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, kind = point, fields[2]
    return kind in NETWORK_FILESYSTEMS


def watch(
    source: str | Path,
    config: Config | None = None,
    *,
    once: bool = False,
    stop: threading.Event | None = None,
    say: Say | None = None,
) -> Watcher:
    """Process `source` now, then again whenever photos arrive, change or go, until `stop` is set.

    With `once`, return as soon as everything that is there has been processed. Returns the
    watcher, whose `result` is the last batch's `RunResult` and `failures` the files that failed.
    """
    config = config or Config()
    source = Path(source)
    check_folders(source, config)
    if config.output.post_file and Path(config.output.post_file).parent.resolve() == source.resolve():
        # Each batch's own writes would look like new uploads and start the next batch.
        raise PhotoError(f"write the post outside {source}: it is the folder being watched")
    stop = stop or threading.Event()
    settle = config.watch.settle
    polling = config.watch.poll or on_network_mount(source)
    say = say or Say()
    watcher = Watcher(source, config, say, once)
    say.info(
        f"watching {source} ({'polling' if polling else 'file-system events'}; a file is read once unchanged "
        f"for {settle:g} s){'' if once else '; Ctrl-C to stop'}"
    )
    events = watchfiles.watch(
        source,
        watch_filter=None,
        debounce=400,
        step=50,
        rust_timeout=round(min(max(settle / 2, 0.1), 1.0) * 1000),
        yield_on_timeout=True,
        stop_event=stop,
        force_polling=polling,
        poll_delay_ms=300,
        recursive=False,
    )
    look, first_wait = True, True
    while not stop.is_set():
        if look:
            now = time.monotonic()
            watcher.scan(now)
            readiness = watcher.readiness(now)
            if watcher.needs_batch(readiness):
                watcher.batch(readiness)
                if not watcher.retrying:
                    continue
            if once and not readiness.settling and not watcher.retrying:
                break
        changes = next(events, None)
        if changes is None:
            break
        # A quiet spell matters only while a file settles or a batch must be retried, and once
        # after start: the watch begins with the first wait, so a file may have come in just before.
        look = bool(changes) or bool(readiness.settling) or watcher.retrying or first_wait
        first_wait = False
    events.close()
    return watcher


@contextmanager
def stop_on_signals(stop: threading.Event, log: Log = log_to_stderr) -> Iterator[None]:
    """Ctrl-C and SIGTERM set `stop`: the batch in hand finishes and its block is written. A second
    one abandons the batch (KeyboardInterrupt) once the photos in the workers' hands are done."""

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        log(f"{signal.Signals(signum).name}: stopping after the batch in hand")

    with on_stop(handle):
        yield
