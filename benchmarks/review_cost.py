"""What `gallery review` costs over `gallery process` on the same photos, from scratch each time.

    python benchmarks/review_cost.py [PHOTOS] [--runs 3]

Review renders the set as process does (its scores come from pixels rendering decodes anyway), then
groups and flags; the target is at most 10 % over process. The two take turns within each round,
each into a fresh output folder, and the ratio is paired round by round: median [min-max].
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "bench"


def timed(*args: str | Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="?", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    process_times, review_times, ratios = [], [], []
    for round_number in range(options.runs):
        with tempfile.TemporaryDirectory() as work:
            first, second = ("process", "review") if round_number % 2 == 0 else ("review", "process")
            times = {
                command: timed(command, options.photos, "--out", Path(work) / command) for command in (first, second)
            }
        process_times.append(times["process"])
        review_times.append(times["review"])
        ratios.append(times["review"] / times["process"])
        print(f"round {round_number + 1}: process {times['process']:.2f} s, review {times['review']:.2f} s", flush=True)
    print(
        f"photos: {options.photos}\n"
        f"process {statistics.median(process_times):.2f} s, review {statistics.median(review_times):.2f} s (medians)\n"
        f"review/process: {statistics.median(ratios):.3f} [{min(ratios):.3f}-{max(ratios):.3f}] (target <= 1.10)"
    )


if __name__ == "__main__":
    main()
