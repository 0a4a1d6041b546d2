"""`gallery watch` as a real process on a real folder: arrivals, uploads in progress, temporary
names, bad files, deletions, signals and restarts. Every wait polls with a timeout."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer
from PIL import Image

import pipeline
from pipeline.cli.app import app
from pipeline.commands.watch import on_network_mount
from pipeline.image.arrival import is_whole_image
from pipeline.image.ingest import is_temporary_name
from pipeline.publish.post import POST_END, POST_START
from pipeline.record import lock

from .conftest import FIXTURES, REPO, image_difference, run_gallery
from .test_process import EVENT_ORDER

EVENT = FIXTURES / "event"
TIMEOUT = 30.0


def wait_for(condition: Callable[[], object], what: str | Callable[[], str], timeout: float = TIMEOUT) -> object:
    """Poll `condition` until it returns something true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what if isinstance(what, str) else what()}")


class Watch:
    """`python -m pipeline watch` in a subprocess, with its stderr collected line by line."""

    def __init__(self, work: Path, *args: str | Path) -> None:
        self.work = work
        self.uploads, self.out, self.post = work / "uploads", work / "out", work / "post.md"
        self.manifest = self.out / "w.json"
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "pipeline", "watch", self.uploads, "--out", self.out, "--name", "w"),
                *("--title", "W", "--post-file", self.post, "--settle", "0.5", "--jobs", "2", *args),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            start_new_session=True,  # Ctrl-C is simulated by signalling the whole group
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def batches(self) -> list[str]:
        return [line for line in self.lines if " photos: " in line]

    def wait_while_running(self, condition: Callable[[], object], what: str) -> None:
        """Wait for `condition`; fail at once, with the log, if the watch has ended meanwhile."""

        def check() -> object:
            if self.process.poll() is not None:
                self.reader.join(timeout=5)
                pytest.fail(f"watch ended (exit {self.process.returncode}) while waiting for {what}:\n{self.log}")
            return condition()

        wait_for(check, lambda: f"{what}\n{self.log}")

    def block(self) -> list[str]:
        """The lines between the post's gallery markers."""
        if not self.post.exists():
            return []
        text = self.post.read_text()
        start, end = text.find(POST_START), text.find(POST_END)
        return text[start + len(POST_START) : end].strip("\n").splitlines()

    def sources(self) -> list[str]:
        """Source names in the manifest, in block order."""
        if not self.manifest.exists():
            return []
        return [photo["source"] for photo in json.loads(self.manifest.read_text())["photos"]]

    def outputs(self) -> set[str]:
        return {p.name for p in self.out.glob("w-*")}

    def listed(self) -> set[str]:
        """Output files the manifest lists."""
        photos = json.loads(self.manifest.read_text())["photos"]
        return {output["file"] for photo in photos for output in photo["outputs"]}

    def wait_for_sources(self, names: list[str]) -> None:
        wait_for(
            lambda: self.sources() == names and len(self.block()) == len(names), lambda: f"block of {names}\n{self.log}"
        )

    def stop(self, how: Callable[[subprocess.Popen], None] | None = None) -> tuple[int, str]:
        (how or (lambda p: p.send_signal(signal.SIGTERM)))(self.process)
        self.process.wait(timeout=TIMEOUT)  # the block on stdout is far below a pipe's capacity
        self.reader.join(timeout=5)
        assert self.process.stdout is not None
        return self.process.returncode, self.process.stdout.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Watch]]:
    started: list[Watch] = []

    def begin(*args: str | Path) -> Watch:
        (tmp_path / "uploads").mkdir(exist_ok=True)
        started.append(Watch(tmp_path, *args))
        return started[-1]

    yield begin
    for watch in started:
        watch.kill()


def copy_in(watch: Watch, *paths: str | Path) -> None:
    """Drop files in together, as a sync client does: each is copied under a temporary name, then
    all are renamed within a millisecond. Names are relative to the event fixtures."""
    temps = [(EVENT / path, watch.uploads / f"{Path(path).name}.part") for path in paths]
    for path, temp in temps:
        shutil.copy(path, temp)
    for _, temp in temps:
        os.replace(temp, temp.with_suffix(""))


def assert_consistent(watch: Watch) -> None:
    """Block, manifest and output folder tell the same story."""
    manifest = json.loads(watch.manifest.read_text())
    assert watch.block() == [photo["markdown"] for photo in manifest["photos"]]
    assert watch.outputs() == watch.listed()


def test_arrivals_deletions_signal_and_restart(start: Callable[..., Watch]) -> None:
    watch = start()
    copy_in(watch, "DSCN0010.jpg", "kodak-dc240.jpg")
    watch.wait_for_sources(["kodak-dc240.jpg", "DSCN0010.jpg"])
    assert_consistent(watch)

    copy_in(watch, "IMG_2682.heic", "arrow.heic")
    expected = [
        name for name in EVENT_ORDER if name in {"DSCN0010.jpg", "kodak-dc240.jpg", "IMG_2682.heic", "arrow.heic"}
    ]
    watch.wait_for_sources(expected)
    assert_consistent(watch)

    (watch.uploads / "DSCN0010.jpg").unlink()
    expected.remove("DSCN0010.jpg")
    watch.wait_for_sources(expected)
    wait_for(lambda: watch.outputs() == watch.listed(), "outputs of the deleted photo to go")
    assert_consistent(watch)

    code, stdout = watch.stop()
    assert code == 0, watch.log
    assert stdout.splitlines() == watch.block(), "stdout carries the final block and nothing else"
    assert "Traceback" not in watch.log
    assert_consistent(watch)
    assert any("1 deleted (DSCN0010.jpg)" in line for line in watch.batches()), watch.log

    snapshot = {p.name: p.stat().st_mtime_ns for p in watch.out.glob("w-*")}
    again = start()
    wait_for(again.batches, lambda: f"the restart's first batch\n{again.log}")
    code, stdout = again.stop()
    assert code == 0
    assert "0 rendered" in again.batches()[0] and "3 unchanged" in again.batches()[0], again.log
    assert {p.name: p.stat().st_mtime_ns for p in watch.out.glob("w-*")} == snapshot, "nothing may be redone"
    assert stdout.splitlines() == watch.block()


def test_upload_in_progress_is_never_read(start: Callable[..., Watch]) -> None:
    """A photo written in chunks over several seconds, with a stall longer than the settle period:
    no output before the last chunk, a correct one after."""
    watch = start()
    wait_for(watch.batches, "the first (empty) batch")
    data = (EVENT / "DSCN0010.jpg").read_bytes()
    chunks = [data[i : i + len(data) // 12 + 1] for i in range(0, len(data), len(data) // 12 + 1)]
    target = watch.uploads / "IMG_0001.jpg"
    with target.open("wb") as handle:
        for index, chunk in enumerate(chunks):
            handle.write(chunk)
            handle.flush()
            assert not list(watch.out.glob("w-*")), f"output appeared before chunk {index + 1}/{len(chunks)}"
            time.sleep(1.2 if index == len(chunks) // 2 else 0.2)  # pacing the upload, not an assertion
    finished = time.time_ns()
    watch.wait_for_sources(["IMG_0001.jpg"])
    main = watch.out / "w-01.jpeg"
    assert main.stat().st_mtime_ns >= finished
    with Image.open(main) as output, Image.open(EVENT / "DSCN0010.jpg") as original:
        assert output.size == original.size
        assert image_difference(output, original) < 3, "the output must show the whole photo"
    code, _ = watch.stop()
    assert code == 0 and "error" not in watch.log, watch.log


def test_temporary_names_and_bad_files(start: Callable[..., Watch]) -> None:
    watch = start()
    copy_in(watch, "DSCN0010.jpg")
    watch.wait_for_sources(["DSCN0010.jpg"])
    for temporary in ("kodak-dc240.jpg.part", "kodak-dc240.jpg.crdownload", "kodak-dc240.jpg.tmp", "kodak-dc240.jpg~"):
        shutil.copy(EVENT / "kodak-dc240.jpg", watch.uploads / temporary)
    shutil.copy(EVENT / "kodak-dc240.jpg", watch.uploads / "._kodak-dc240.jpg")
    shutil.copy(FIXTURES / "edge/truncated_jpeg.jpg", watch.uploads / "cut.jpg")
    (watch.uploads / "fake.jpg").write_text("this is not a JPEG")
    copy_in(watch, "IMG_2682.heic")
    watch.wait_for_sources(["DSCN0010.jpg", "IMG_2682.heic"])
    wait_for(
        lambda: "cut.jpg" in watch.log and "fake.jpg" in watch.log, lambda: f"both bad files reported\n{watch.log}"
    )

    os.replace(watch.uploads / "kodak-dc240.jpg.part", watch.uploads / "kodak-dc240.jpg")
    watch.wait_for_sources(["kodak-dc240.jpg", "DSCN0010.jpg", "IMG_2682.heic"])
    # The bad file changes into a good photo: it is tried again.
    shutil.copy(EVENT / "canon_hdr_NO.jpg", watch.uploads / "fake.jpg")
    watch.wait_for_sources(["kodak-dc240.jpg", "DSCN0010.jpg", "fake.jpg", "IMG_2682.heic"])  # by capture time
    assert watch.process.poll() is None, "the watcher keeps running"

    code, _ = watch.stop()
    assert code == 0
    errors = [line for line in watch.lines if line.startswith("error:")]
    assert len(errors) == 2, f"each bad file is reported once:\n{watch.log}"
    assert any("cut.jpg" in line and "truncated" in line for line in errors), errors
    assert any("fake.jpg" in line and "not an image" in line for line in errors), errors
    assert_consistent(watch)


def test_ctrl_c_finishes_the_batch_in_hand(start: Callable[..., Watch]) -> None:
    watch = start()
    wait_for(watch.batches, "the first (empty) batch")
    jpegs = [name for name in EVENT_ORDER if name.endswith(".jpg")]
    copy_in(watch, *jpegs)
    wait_for(lambda: list(watch.out.glob("w-*")), "the batch to start writing")
    code, stdout = watch.stop(lambda p: os.killpg(p.pid, signal.SIGINT))  # what Ctrl-C in a terminal does
    assert code == 0, watch.log
    assert "Traceback" not in watch.log and "KeyboardInterrupt" not in watch.log, watch.log
    stops = [n for n, line in enumerate(watch.lines) if "stopping" in line]
    assert len(stops) == 1, f"only the watcher itself answers Ctrl-C, not its workers:\n{watch.log}"
    assert stops[0] < len(watch.lines) - 1 and " photos: " in watch.lines[-1], "the batch in hand was finished"
    assert_consistent(watch)
    assert stdout.splitlines() == watch.block() and watch.block()


def test_a_burst_is_processed_in_batches(start: Callable[..., Watch]) -> None:
    watch = start("--width", "160", "--max-edge", "320")  # small outputs: the batching is under test
    wait_for(watch.batches, "the first (empty) batch")
    burst = [*(FIXTURES / "orientation").glob("*.jpg"), *(FIXTURES / "cameras").glob("*.jpg"), *EVENT.glob("*.jpg")]
    copy_in(watch, *burst)

    def arrived() -> int:
        return sum(int(re.search(r"(\d+) new", line)[1]) for line in watch.batches() if " new " in line)

    wait_for(lambda: arrived() == len(burst), lambda: f"batches of all {len(burst)} photos\n{watch.log}")
    batches = watch.batches()[1:]
    # 2 workers take 16 photos a batch; files that settle a moment later make at most one more.
    assert 2 <= len(batches) <= 3, watch.log
    assert "16 new" in batches[0] or "16 new" in batches[1], watch.log
    assert_consistent(watch)
    assert watch.stop()[0] == 0


def test_polling_and_keep_deleted(start: Callable[..., Watch]) -> None:
    watch = start("--poll", "--keep-deleted")
    wait_for(lambda: "polling" in watch.log, "the start line")
    copy_in(watch, "kodak-dc240.jpg")
    watch.wait_for_sources(["kodak-dc240.jpg"])
    copy_in(watch, "DSCN0010.jpg")
    watch.wait_for_sources(["kodak-dc240.jpg", "DSCN0010.jpg"])
    (watch.uploads / "kodak-dc240.jpg").unlink()
    wait_for(lambda: "1 deleted, kept (kodak-dc240.jpg)" in watch.log, lambda: f"the deletion\n{watch.log}")
    assert watch.sources() == ["kodak-dc240.jpg", "DSCN0010.jpg"], "--keep-deleted keeps the photo in the block"
    assert_consistent(watch)
    assert watch.stop()[0] == 0


def test_waits_while_another_run_holds_the_output(start: Callable[..., Watch]) -> None:
    watch = start()
    wait_for(watch.batches, "the first batch")
    with lock.output_lock(watch.out):
        copy_in(watch, "kodak-dc240.jpg")
        wait_for(
            lambda: "waiting: another gallery run" in watch.log, lambda: f"the watcher to notice the lock\n{watch.log}"
        )
        assert not list(watch.out.glob("w-*"))
    watch.wait_for_sources(["kodak-dc240.jpg"])
    assert watch.stop()[0] == 0


def test_once_processes_and_exits(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for name in ("DSCN0010.jpg", "kodak-dc240.jpg"):
        shutil.copy(EVENT / name, uploads)
    args = ("watch", uploads, "--once", "--out", tmp_path / "out", "--name", "o", "--title", "T", "--settle", "0.2")
    first = run_gallery(*args, timeout=60)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        '![T]({{ site.baseurl }}/assets/img/o-01.jpeg "T")',
        '![T]({{ site.baseurl }}/assets/img/o-02.jpeg "T")',
    ]
    (uploads / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    second = run_gallery(*args, timeout=60)
    assert second.returncode == 1, "a failed photo fails --once, as it fails process"
    assert "broken.jpg" in second.stderr and "0 rendered" in second.stderr
    assert second.stdout == first.stdout


def test_watch_takes_every_option_of_process() -> None:
    """Options are defined once: a flag added to `process` reaches `watch` without another edit."""
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    process_options = {name for param in commands["process"].params for name in param.opts}
    watch_options = {name for param in commands["watch"].params for name in param.opts}
    assert process_options - watch_options == {"--prune"}, "watch replaces --prune by --keep-deleted"
    assert {"--settle", "--poll", "--once", "--keep-deleted"} <= watch_options


def test_process_skips_temporary_names_and_excluded_files(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(EVENT / "DSCN0010.jpg", source)
    shutil.copy(EVENT / "kodak-dc240.jpg", source / "kodak-dc240.jpg.crdownload")
    shutil.copy(EVENT / "IMG_2682.heic", source)
    result = pipeline.process(source, output__dir=str(tmp_path / "out"), exclude={"IMG_2682.heic"})
    assert result.ok and [photo.source.name for photo in result.photos] == ["DSCN0010.jpg"]
    names = ["a.jpg.part", "A.JPG.PART", "a.jpg.partial", "a.crdownload", "a.tmp", "a.jpg~", ".a.jpg", "._a.jpg"]
    assert all(is_temporary_name(name) for name in names)
    assert not any(is_temporary_name(name) for name in ("a.jpg", "party.jpg", "a.tmp.jpg", "IMG_0001.HEIC"))


@pytest.mark.parametrize(
    "fixture",
    ["event/DSCN0010.jpg", "event/arrow.heic", "edge/transparent.png", "edge/transparent.webp", "edge/chi.gif"],
)
def test_a_cut_off_file_is_not_whole(fixture: str, tmp_path: Path) -> None:
    data = (FIXTURES / fixture).read_bytes()
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    whole.write_bytes(data)
    cut.write_bytes(data[: len(data) * 2 // 3])
    config = pipeline.Config()
    assert is_whole_image(whole, config)
    assert not is_whole_image(cut, config)


def test_whole_image_edge_cases(tmp_path: Path) -> None:
    config = pipeline.Config()
    assert not is_whole_image(FIXTURES / "edge/truncated_jpeg.jpg", config)
    # Data after the end-of-image marker (motion photos append a video): decoded, and whole.
    trailer = tmp_path / "motion.jpg"
    trailer.write_bytes((EVENT / "DSCN0010.jpg").read_bytes() + b"ftypmp42" + bytes(5000))
    assert is_whole_image(trailer, config)
    (tmp_path / "notes.jpg").write_text("not an image at all: process reports it")
    assert is_whole_image(tmp_path / "notes.jpg", config)


def test_keep_deleted_keeps_photos_whose_source_went(tmp_path: Path) -> None:
    source, out = tmp_path / "in", str(tmp_path / "out")
    source.mkdir()
    for name in ("DSCN0010.jpg", "kodak-dc240.jpg", "IMG_2682.heic"):
        shutil.copy(EVENT / name, source)
    first = pipeline.process(source, output__dir=out, output__name="k")
    (source / "DSCN0010.jpg").unlink()
    os.replace(source / "IMG_2682.heic", source / "renamed.jpg")  # a rename is not a deletion
    kept = pipeline.process(source, output__dir=out, output__name="k", prune=True, keep_deleted=True)
    assert kept.ok and kept.processed == 0
    assert [p.source.name for p in kept.photos] == ["kodak-dc240.jpg", "DSCN0010.jpg", "renamed.jpg"]
    assert kept.markdown == first.markdown and all(o.path.exists() for p in kept.photos for o in p.outputs)
    dropped = pipeline.process(source, output__dir=out, output__name="k", prune=True)
    assert [p.source.name for p in dropped.photos] == ["kodak-dc240.jpg", "renamed.jpg"]


def test_usage_errors(tmp_path: Path) -> None:
    missing = run_gallery("watch", tmp_path / "nope", "--once")
    assert missing.returncode == 2 and "is not a folder" in missing.stderr
    # Outputs written into the watched folder would look like new uploads, batch after batch.
    inside = run_gallery("watch", tmp_path, "--out", tmp_path, "--once")
    assert inside.returncode == 2 and "outside" in inside.stderr
    bad = run_gallery("watch", tmp_path, "--settle", "-1", "--once")
    assert bad.returncode == 2 and "watch.settle" in bad.stderr


def test_network_mounts_are_polled() -> None:
    mounts = (
        "/dev/sda1 / ext4 rw 0 0\n"
        "nas:/photos /mnt/event\\040photos nfs4 rw 0 0\n"
        "//nas/share /mnt/share cifs rw 0 0\n"
        "tmpfs /mnt/share/cache tmpfs rw 0 0\n"
    )
    assert on_network_mount(Path("/mnt/event photos/uploads"), mounts)
    assert on_network_mount(Path("/mnt/share/uploads"), mounts)
    assert not on_network_mount(Path("/mnt/share/cache/uploads"), mounts), "the innermost mount decides"
    assert not on_network_mount(Path("/mnt/event"), mounts)
    assert not on_network_mount(Path("/home/me/uploads"), mounts)
