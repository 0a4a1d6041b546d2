"""Mutation fuzzing of ingest and render with real JPEG, PNG, WebP, GIF, TIFF, HEIC and AVIF bytes.

A short run is part of the test suite (tests/test_fuzz.py). Long runs are started by hand:

    python -m tests.fuzzing --iterations 100000 --seed 7 --keep fuzz-findings/

Every mutated file goes through `ingest.inspect_source` and `render.render`, as a run would send
it, in a child process that answers one verdict line per file. A file is either refused cleanly
(not an image, a PhotoError, a render result with a reason) or rendered, and then every output is
decoded and checked against its plan: the planned file, format and pixel size, and nothing else
written. The parent gives each file a time bound and reports five kinds of finding: a crash (the
child dies), a hang (no answer in time), an exception that escapes the pipeline's per-photo error
handling (which would stop a whole run), an invalid output, and an input that was never checked
(the child ended without judging it). Every input ends with exactly one outcome: `Report.outcomes`
has one entry per input, which the test and the command line check.
Findings are copied to --keep for replay: `python -m tests.fuzzing --replay FILE`.

`--patch MODULE:FUNCTION` calls FUNCTION in the child before any input is checked, to break the
pipeline on purpose: tests/test_fuzz.py uses it to show that each kind of finding is reported.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import io
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
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
    FIXTURES / "edge" / "chi.gif",  # animated GIF, 31 frames
    FIXTURES / "edge" / "tiff_strip_cmyk_jpeg.tif",
    FIXTURES / "heic" / "truncated.heic",  # a small real HEIF
)
# No AVIF photo is among the fixtures: one is encoded from this JPEG (EXIF and ICC profile kept).
AVIF_SOURCE = FIXTURES / "cameras" / "Canon_40D.jpg"
AVIF_SEED = "Canon_40D.avif"
INTERESTING = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff", b"\x00\x00", b"\x7f\xff\xff\xff", b"\xff\xd9")
# What the child says of an input that did not expose a problem; every other outcome is a finding.
CLEAN = ("ok", "refused")
FINDING_KINDS = ("crash", "hang", "escaped", "invalid", "unchecked")
STARTUP_SECONDS = 60  # the child's imports, on a loaded machine; the per-input bound starts after


@dataclass(frozen=True)
class Finding:
    kind: str  # one of FINDING_KINDS
    path: Path
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path.name}: {self.detail}"


@dataclass
class Report:
    """One outcome per input: "ok" (rendered, every output checked), "refused" or a finding's kind."""

    inputs: int
    outcomes: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return len(self.outcomes)

    @property
    def counts(self) -> Counter[str]:
        return Counter(self.outcomes.values())

    def __str__(self) -> str:
        counts = ", ".join(f"{kind} {count}" for kind, count in sorted(self.counts.items()))
        return f"{self.inputs} inputs, {self.judged} judged ({counts}), {len(self.findings)} findings"


@functools.cache
def seed_bytes() -> dict[str, bytes]:
    """Every seed's bytes by file name, the AVIF encoded here from AVIF_SOURCE."""
    from PIL import Image

    seeds = {path.name: path.read_bytes() for path in SEEDS}
    with Image.open(AVIF_SOURCE) as image:
        encoded = io.BytesIO()
        image.save(encoded, "AVIF", quality=60, exif=image.info["exif"], icc_profile=image.info.get("icc_profile"))
    seeds[AVIF_SEED] = encoded.getvalue()
    return seeds


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
    seeds = seed_bytes()
    names = sorted(seeds)
    paths = []
    for index in range(start, start + count):
        rng = random.Random(f"{seed}-{index}")
        name = rng.choice(names)
        path = folder / f"{index:07d}-{name}"
        path.write_bytes(mutate(seeds[name], rng))
        paths.append(path)
    return paths


def write_seeds(folder: Path) -> list[Path]:
    """Every seed unchanged: each must render and pass every check (the harness's own baseline)."""
    paths = []
    for index, (name, data) in enumerate(sorted(seed_bytes().items())):
        path = folder / f"{index:07d}-{name}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def fuzz_config():
    from pipeline.config.sections import Config

    return Config().with_overrides(
        image__max_edge=128,
        variants__widths=(64,),
        thumbnail__width=32,
        quality__webp_method=0,
        limits__max_pixels=4_000_000,  # keeps each input fast; the limit itself is tested elsewhere
    )


def check_one(path: Path, out_dir: Path) -> tuple[str, str]:
    """Send one file through ingest and render into the empty folder `out_dir`; return (outcome, detail).

    The outcome is "ok" (rendered, every output checked), "refused" (a clear per-photo error),
    "escaped" (an exception the pipeline's error handling would not catch) or "invalid" (an output
    that is missing, does not decode or is not what was planned).
    """
    from pipeline import plan
    from pipeline.errors import PhotoError
    from pipeline.image import ingest, render
    from pipeline.model import Candidate
    from pipeline.record.keys import file_stamps

    config = fuzz_config()
    try:
        info = path.stat()
        kind = ingest.sniff(path.read_bytes()[:64])
        if kind is None:
            return "refused", "not an image by content"
        candidate = Candidate(path, kind, info.st_size, info.st_mtime_ns)
        try:
            photo = ingest.inspect_source(candidate, config)
        except (PhotoError, OSError) as error:
            return "refused", f"ingest: {error}"
        specs = plan.output_specs(photo, "fuzz", config, file_stamps(config))
        targets = {spec.key: out_dir / spec.filename for spec in specs}
        result = render.render(render.RenderJob(photo, specs, targets, config, None))
    except Exception:
        return "escaped", traceback.format_exc(limit=-3)
    if result.error is not None and not (isinstance(result.error, str) and result.error):
        return "invalid", f"render's error is {result.error!r}: neither None (success) nor a reason"
    if result.error is not None:
        left = sorted(p.name for p in out_dir.iterdir())
        if left:
            return "invalid", f"render failed ({result.error}) but left {left}"
        return "refused", f"render: {result.error}"
    problems = check_outputs(result, specs, out_dir)
    if problems:
        return "invalid", "; ".join(problems)
    return "ok", f"{len(result.outputs)} outputs"


def check_outputs(result, specs, out_dir: Path) -> list[str]:
    """Each planned output written once, where planned, and decoding to its planned format and size."""
    from PIL import Image

    from pipeline import formats

    problems = []
    by_key = {output.key: output for output in result.outputs}
    if sorted(by_key) != sorted(spec.key for spec in specs) or len(result.outputs) != len(specs):
        problems.append(f"outputs {[o.key for o in result.outputs]} are not the planned {[s.key for s in specs]}")
    for spec in specs:
        output = by_key.get(spec.key)
        if output is None:
            continue
        planned = (spec.role, spec.format, spec.width, spec.height, out_dir / spec.filename)
        if (output.role, output.format, output.width, output.height, output.path) != planned:
            problems.append(f"{spec.filename}: result says {output}, the plan {spec}")
            continue
        try:
            size = output.path.stat().st_size
            with Image.open(output.path) as image:
                image.load()
                decoded = (image.format, image.size)
        except Exception as error:
            problems.append(f"{spec.filename} does not decode: {type(error).__name__}: {error}")
            continue
        expected = (formats.get(spec.format).pillow_name, (spec.width, spec.height))
        if decoded != expected:
            problems.append(f"{spec.filename} decodes as {decoded}, planned {expected}")
        if size != output.bytes:
            problems.append(f"{spec.filename} holds {size} bytes, the result says {output.bytes}")
    extra = sorted({p.name for p in out_dir.iterdir()} - {spec.filename for spec in specs})
    if extra:
        problems.append(f"unplanned files written: {extra}")
    return problems


def _child(folder: Path, patch: str | None) -> None:
    """Say `ready`, then `start NAME` / `judged NAME OUTCOME DETAIL` per file, then `end COUNT`."""

    if patch:
        module, _, function = patch.partition(":")
        getattr(importlib.import_module(module), function)()
    print("ready", flush=True)
    count = 0
    with tempfile.TemporaryDirectory(prefix="fuzz-out-") as temp:
        for path in sorted(folder.iterdir()):
            out_dir = Path(temp) / path.name
            out_dir.mkdir()  # empty for each input: a stale output cannot stand in for a missing one
            print(f"start {path.name}", flush=True)
            outcome, detail = check_one(path, out_dir)
            print(f"judged {path.name} {outcome} {json.dumps(detail)}", flush=True)
            shutil.rmtree(out_dir, ignore_errors=True)
            count += 1
    print(f"end {count}", flush=True)


def run(
    paths: list[Path], timeout: float, *, patch: str | None = None, on_finding: Callable[[Finding], None] | None = None
) -> Report:
    """Check `paths` in child processes; a child that crashes or hangs is replaced and the run goes on.

    Returns one outcome per input. An input the child never judged (it ended between inputs, could
    not start, or skipped one) becomes an "unchecked" finding, so a run cannot pass without checking.
    """
    report = Report(len(paths))
    by_name = {path.name: path for path in paths}
    assert len(by_name) == len(paths), "input names must be distinct"

    def judge(name: str, outcome: str, detail: str = "") -> None:
        assert name not in report.outcomes, f"{name} judged twice"
        report.outcomes[name] = outcome
        if outcome not in CLEAN:
            finding = Finding(outcome, by_name[name], detail)
            report.findings.append(finding)
            if on_finding:
                on_finding(finding)

    while pending := sorted(name for name in by_name if name not in report.outcomes):
        judged_before = len(report.outcomes)
        with tempfile.TemporaryDirectory(prefix="fuzz-in-") as temp, tempfile.TemporaryFile("w+") as errors:
            for name in pending:
                path = by_name[name]
                os.link(path, Path(temp) / name) if _same_device(path, temp) else shutil.copy(path, Path(temp) / name)
            child = subprocess.Popen(
                [sys.executable, "-m", "tests.fuzzing", "--child", temp, *(["--patch", patch] if patch else [])],
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            assert child.stdout is not None
            ready = False
            current: str | None = None
            ended: int | None = None
            while True:
                ready_to_read, _, _ = select.select([child.stdout], [], [], timeout if ready else STARTUP_SECONDS)
                if not ready_to_read:
                    child.kill()
                    child.wait()
                    if not ready:
                        _abandon(judge, pending, "hang", f"child not ready in {STARTUP_SECONDS} s", errors)
                    else:
                        unjudged = [name for name in pending if name not in report.outcomes]
                        if current or unjudged:  # else it hung on its way out, after judging every input
                            judge(current or unjudged[0], "hang", f"no answer in {timeout} s")
                    break
                line = child.stdout.readline()
                if not line:
                    child.wait()
                    status = f"child ended with status {child.returncode}"
                    unjudged = [name for name in pending if name not in report.outcomes]
                    if not ready:
                        _abandon(judge, pending, "crash", f"{status} before it was ready", errors)
                    elif current is not None:
                        judge(current, "crash", f"{status}{_tail(errors)}")
                    elif ended is None and unjudged:  # the next child goes on with the rest
                        judge(unjudged[0], "crash", f"{status} before starting this input{_tail(errors)}")
                    break
                word, _, rest = line.rstrip("\n").partition(" ")
                if word == "ready":
                    ready = True
                elif word == "start":
                    current = rest
                elif word == "judged":
                    name, outcome, detail = rest.split(" ", 2)
                    judge(name, outcome, json.loads(detail))
                    current = None
                elif word == "end":
                    ended = int(rest)
            # A child that said `end` had no more to judge; one that judged nothing would be started
            # again forever. Either way, what it left is reported, so the run always ends.
            if ended is not None or len(report.outcomes) == judged_before:
                for name in pending:
                    if name not in report.outcomes:
                        judge(name, "unchecked", f"the child ended without judging it (end line: {ended})")
    assert report.judged == report.inputs
    return report


def _abandon(judge: Callable[..., None], pending: list[str], kind: str, detail: str, errors) -> None:
    """A child that cannot start checks nothing: blame the first input, and report the rest unchecked."""
    judge(pending[0], kind, f"{detail}{_tail(errors)}")
    for name in pending[1:]:
        judge(name, "unchecked", "not checked: the child could not start")


def _tail(errors, limit: int = 2000) -> str:
    """The end of the child's stderr, where a fatal error or a faulthandler dump lands."""
    errors.flush()
    errors.seek(0)
    text = errors.read()[-limit:].strip()
    return f"; stderr: {text}" if text else ""


def _same_device(path: Path, folder: str) -> bool:
    return path.stat().st_dev == os.stat(folder).st_dev


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30, help="seconds one input may take")
    parser.add_argument("--keep", type=Path, help="copy findings here")
    parser.add_argument("--replay", type=Path, help="check one file in this process and print the outcome")
    parser.add_argument("--patch", help="MODULE:FUNCTION to call in the child first (tests break the pipeline)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.patch)
        return
    if args.replay:
        with tempfile.TemporaryDirectory() as out:
            outcome, detail = check_one(args.replay, Path(out))
            print(f"{outcome}: {detail}")
        return

    def keep(finding: Finding) -> None:
        print(finding, flush=True)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(finding.path, args.keep / finding.path.name)

    total = Report(0)
    batch = 500
    for start in range(0, args.iterations, batch):
        with tempfile.TemporaryDirectory(prefix="fuzz-") as temp:
            paths = make_inputs(Path(temp), min(batch, args.iterations - start), args.seed, start)
            report = run(paths, args.timeout, patch=args.patch, on_finding=keep)
        total.inputs += report.inputs
        total.outcomes.update(report.outcomes)
        total.findings += report.findings
        print(total, file=sys.stderr, flush=True)
    sys.exit(1 if total.findings or total.judged != total.inputs else 0)


if __name__ == "__main__":
    main()
