"""Mutation fuzzing of ingest and render with real JPEG, PNG, WebP, GIF, TIFF and HEIC bytes.

A short run is part of the test suite (tests/test_fuzz.py). Long runs are started by hand:

    python -m tests.fuzzing --iterations 100000 --seed 7 --keep fuzz-findings/

Every mutated file goes through `ingest.inspect_source` and `render.render`, as a run would send
it, in a child process that answers one line per file. The parent gives each file a time bound and
reports three kinds of finding: a crash (the child dies), a hang (no answer in time) and an
exception that escapes the pipeline's per-photo error handling (which would stop a whole run).
Findings are copied to --keep for replay: `python -m tests.fuzzing --replay FILE`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
SEEDS = (
    FIXTURES / "cameras" / "Canon_40D.jpg",  # JPEG with EXIF and an embedded thumbnail
    FIXTURES / "edge" / "hopper_gray.jpg",
    FIXTURES / "edge" / "transparent.png",
    FIXTURES / "edge" / "i_trns.png",  # 16-bit greyscale
    FIXTURES / "edge" / "pil123p.png",  # palette
    FIXTURES / "edge" / "transparent.webp",
    FIXTURES / "edge" / "tiff_strip_cmyk_jpeg.tif",
    FIXTURES / "heic" / "truncated.heic",  # a small real HEIF
)
INTERESTING = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff", b"\x00\x00", b"\x7f\xff\xff\xff", b"\xff\xd9")


@dataclass(frozen=True)
class Finding:
    kind: str  # "crash", "hang" or "escaped"
    path: Path
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path.name}: {self.detail}"


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits; headers (the first 1 KB) are hit more often than pixel data."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buffer:
            break
        limit = len(buffer) if rng.random() < 0.5 else min(len(buffer), 1024)
        at = rng.randrange(limit)
        action = rng.randrange(6)
        if action == 0:
            buffer[at] ^= 1 << rng.randrange(8)
        elif action == 1:
            value = rng.choice(INTERESTING)
            buffer[at : at + len(value)] = value
        elif action == 2:
            buffer[at] = rng.randrange(256)
        elif action == 3:
            del buffer[rng.randrange(1, len(buffer) + 1) :]
        elif action == 4:
            size = rng.randint(1, 64)
            buffer[at:at] = buffer[rng.randrange(len(buffer)) :][:size]
        else:
            del buffer[at : at + rng.randint(1, 64)]
    return bytes(buffer)


def make_inputs(folder: Path, count: int, seed: int, start: int = 0) -> list[Path]:
    """Write `count` mutated files; the same seed and index always give the same bytes."""
    paths = []
    for index in range(start, start + count):
        rng = random.Random(f"{seed}-{index}")
        source = rng.choice(SEEDS)
        path = folder / f"{index:07d}-{source.stem}{source.suffix}"
        path.write_bytes(mutate(source.read_bytes(), rng))
        paths.append(path)
    return paths


def check_one(path: Path, out_dir: Path) -> str | None:
    """Send one file through ingest and render; return a traceback if an exception escaped."""
    from pipeline import ingest, plan, render
    from pipeline.errors import PhotoError
    from pipeline.model import Candidate
    from pipeline.config import Config

    config = Config().with_overrides(
        image__max_edge=128,
        variants__widths=(64,),
        thumbnail__width=32,
        quality__webp_method=0,
        limits__max_pixels=4_000_000,  # keeps each input fast; the limit itself is tested elsewhere
    )
    try:
        info = path.stat()
        kind = ingest.sniff(path.read_bytes()[:64])
        if kind is None:
            return None
        candidate = Candidate(path, kind, info.st_size, info.st_mtime_ns)
        try:
            photo = ingest.inspect_source(candidate, config)
        except (PhotoError, OSError):
            return None
        specs = plan.output_specs(photo, "fuzz", config)
        render.render(render.RenderJob(photo, specs, frozenset(s.key for s in specs), out_dir, config))
    except Exception:
        return traceback.format_exc(limit=-3)
    return None


def _child(folder: Path) -> None:
    """Answer `start NAME` / `done NAME` per file, with any escaped exception in between."""
    out_dir = Path(tempfile.mkdtemp(prefix="fuzz-out-"))
    try:
        for path in sorted(folder.iterdir()):
            print(f"start {path.name}", flush=True)
            escaped = check_one(path, out_dir)
            if escaped:
                print(f"escaped {path.name} {json.dumps(escaped)}", flush=True)
            print(f"done {path.name}", flush=True)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def run(paths: list[Path], timeout: float) -> Iterator[Finding]:
    """Check `paths` in child processes; a child that crashes or hangs is replaced and the run goes on."""
    pending = sorted(paths)
    while pending:
        with tempfile.TemporaryDirectory(prefix="fuzz-in-") as temp:
            for path in pending:
                os.link(path, Path(temp) / path.name) if _same_device(path, temp) else shutil.copy(path, temp)
            by_name = {path.name: path for path in pending}
            child = subprocess.Popen(
                [sys.executable, "-m", "tests.fuzzing", "--child", temp],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            assert child.stdout is not None
            current: str | None = None
            finished: set[str] = set()
            stopped: Finding | None = None
            while True:
                ready, _, _ = select.select([child.stdout], [], [], timeout)
                if not ready:
                    child.kill()
                    stopped = Finding("hang", by_name[current] if current else pending[0], f"no answer in {timeout} s")
                    break
                line = child.stdout.readline()
                if not line:
                    child.wait()
                    if current is not None:
                        stopped = Finding("crash", by_name[current], f"child ended with status {child.returncode}")
                    break
                word, name, *rest = line.rstrip("\n").split(" ", 2)
                if word == "start":
                    current = name
                elif word == "done":
                    finished.add(name)
                    current = None
                elif word == "escaped":
                    yield Finding("escaped", by_name[name], json.loads(rest[0]))
            child.wait()
            if stopped is None:
                return
            yield stopped
            finished.add(stopped.path.name)
            pending = [path for path in pending if path.name not in finished]


def _same_device(path: Path, folder: str) -> bool:
    return path.stat().st_dev == os.stat(folder).st_dev


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30, help="seconds one input may take")
    parser.add_argument("--keep", type=Path, help="copy findings here")
    parser.add_argument("--replay", type=Path, help="check one file in this process and print the outcome")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    if args.replay:
        with tempfile.TemporaryDirectory() as out:
            print(check_one(args.replay, Path(out)) or "no escaped exception")
        return
    findings = 0
    batch = 500
    for start in range(0, args.iterations, batch):
        with tempfile.TemporaryDirectory(prefix="fuzz-") as temp:
            paths = make_inputs(Path(temp), min(batch, args.iterations - start), args.seed, start)
            for finding in run(paths, args.timeout):
                findings += 1
                print(finding, flush=True)
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(finding.path, args.keep / finding.path.name)
        print(f"{start + len(paths)} inputs, {findings} findings", file=sys.stderr, flush=True)
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
