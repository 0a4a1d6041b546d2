"""A bounded fuzz run in every test run: mutated real image bytes never crash, hang or escape.

Longer runs: `python -m tests.fuzzing --iterations 100000` (see tests/fuzzing.py).
"""

from __future__ import annotations

from pathlib import Path

from .fuzzing import SEEDS, make_inputs, run

ITERATIONS = 300
SECONDS_PER_INPUT = 20  # a generous bound on a loaded CI machine; inputs take milliseconds


def test_mutated_images_give_results_or_clear_errors(tmp_path: Path) -> None:
    assert {seed.suffix.lower() for seed in SEEDS} >= {".jpg", ".png", ".heic", ".webp"}
    paths = make_inputs(tmp_path, ITERATIONS, seed=20261126)
    findings = list(run(paths, SECONDS_PER_INPUT))
    assert not findings, "\n".join(map(str, findings))


def test_the_harness_reports_an_input_that_takes_too_long(tmp_path: Path) -> None:
    paths = make_inputs(tmp_path, 2, seed=1)
    findings = list(run(paths, timeout=0.001))  # the child cannot even start in that time
    assert findings and findings[0].kind == "hang"
