"""A bounded fuzz run in every test run: mutated real image bytes never crash, hang, escape or give a
bad output; and the harness itself is shown to report each of those, and to judge every input.

Longer runs: `python -m tests.fuzzing --iterations 100000` (see tests/fuzzing.py).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from .fuzzing import AVIF_SEED, SEEDS, make_inputs, run, write_seeds

ITERATIONS = 300
SECONDS_PER_INPUT = 20  # a generous bound on a loaded CI machine; inputs take milliseconds


def test_mutated_images_give_results_or_clear_errors(tmp_path: Path) -> None:
    assert {seed.suffix.lower() for seed in SEEDS} >= {".jpg", ".png", ".heic", ".webp", ".gif", ".tif"}
    assert AVIF_SEED.endswith(".avif")
    paths = make_inputs(tmp_path, ITERATIONS, seed=20261126)
    report = run(paths, SECONDS_PER_INPUT)
    assert not report.findings, "\n".join(map(str, report.findings))
    # Every input was judged, and enough of them went all the way through render and the output checks.
    assert report.inputs == report.judged == len(paths) == ITERATIONS, report
    assert set(report.outcomes) == {path.name for path in paths}
    assert report.counts["ok"] + report.counts["refused"] == ITERATIONS, report
    assert report.counts["ok"] >= ITERATIONS // 5 and report.counts["refused"] >= ITERATIONS // 5, report


# Faults planted in the child by `run(..., patch="tests.test_fuzz:NAME")`, each hitting only the
# input named in $FUZZ_VICTIM: the other inputs must still be judged, and judged ok.


def _victim(path: Path) -> bool:
    return path.name == os.environ["FUZZ_VICTIM"]


def _wrap_render(fault) -> None:
    from pipeline.image import render

    real = render.render

    def patched(job):
        if not _victim(job.photo.path):
            return real(job)
        return fault(real, job)

    render.render = patched


def render_exits() -> None:
    _wrap_render(lambda real, job: os._exit(3))


def render_segfaults() -> None:
    _wrap_render(lambda real, job: os.kill(os.getpid(), signal.SIGSEGV))


def render_hangs() -> None:
    _wrap_render(lambda real, job: time.sleep(120))


def render_raises() -> None:
    def fault(real, job):
        raise RuntimeError("render let an exception out")

    _wrap_render(fault)


def inspect_raises() -> None:
    from pipeline.image import ingest

    real = ingest.inspect_source

    def patched(candidate, config):
        if _victim(candidate.path):
            raise ValueError("inspect let an exception out")
        return real(candidate, config)

    ingest.inspect_source = patched


def render_writes_garbage() -> None:
    def fault(real, job):
        result = real(job)
        result.outputs[0].path.write_bytes(b"not an image at all")
        return result

    _wrap_render(fault)


def render_writes_wrong_size() -> None:
    def fault(real, job):
        result = real(job)
        output = result.outputs[-1]
        with Image.open(output.path) as image:
            image.load()
            smaller = image.resize((max(1, image.width // 2), max(1, image.height // 2)))
        smaller.save(output.path, image.format)
        return result

    _wrap_render(fault)


def render_forgets_an_output() -> None:
    def fault(real, job):
        result = real(job)
        result.outputs[0].path.unlink()
        return result

    _wrap_render(fault)


def render_fails_but_leaves_a_file() -> None:
    def fault(real, job):
        result = real(job)
        return dataclasses.replace(result, outputs=(), error="pretending to fail")

    _wrap_render(fault)


def child_dies_at_start() -> None:
    os._exit(4)  # before the first input: the old harness passed such a run, having checked nothing


@pytest.mark.parametrize(
    ("patch", "kind", "detail"),
    [
        ("render_exits", "crash", "child ended with status 3"),
        ("render_segfaults", "crash", f"child ended with status {-signal.SIGSEGV}"),
        ("render_hangs", "hang", "no answer in 3 s"),
        ("render_raises", "escaped", "RuntimeError: render let an exception out"),
        ("inspect_raises", "escaped", "ValueError: inspect let an exception out"),
        ("render_writes_garbage", "invalid", "does not decode"),
        ("render_writes_wrong_size", "invalid", "decodes as"),
        ("render_forgets_an_output", "invalid", "does not decode: FileNotFoundError"),
        ("render_fails_but_leaves_a_file", "invalid", "render failed (pretending to fail) but left"),
    ],
)
def test_the_harness_reports_each_kind_of_finding(
    patch: str, kind: str, detail: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_seeds(tmp_path)  # every format once, unmutated: each renders and passes every check
    victim = paths[len(paths) // 2]
    monkeypatch.setenv("FUZZ_VICTIM", victim.name)
    report = run(paths, timeout=3, patch=f"tests.test_fuzz:{patch}")
    assert [(f.kind, f.path) for f in report.findings] == [(kind, victim)], report.findings
    assert detail in report.findings[0].detail, report.findings[0].detail
    # The run went on past the fault: every other input was judged, and judged ok.
    assert report.judged == report.inputs == len(paths), report
    assert {name: outcome for name, outcome in report.outcomes.items() if name != victim.name} == {
        path.name: "ok" for path in paths if path != victim
    }


def test_the_harness_reports_every_input_of_a_child_that_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_seeds(tmp_path)
    monkeypatch.setenv("FUZZ_VICTIM", paths[0].name)
    report = run(paths, timeout=5, patch="tests.test_fuzz:child_dies_at_start")
    assert report.judged == report.inputs == len(paths)
    assert report.counts == {"crash": 1, "unchecked": len(paths) - 1}, report
    assert "status 4 before it was ready" in report.findings[0].detail
