"""Peak memory of one very large photo: a 200-MP phone HEIC and a 100-MP JPEG.

    python benchmarks/memory.py [--keep DIR]

Both photos are made here from a real fixture photo scaled up (nothing big is committed): the HEIC
at 12240x16320, the size a Samsung Galaxy S24 Ultra shoots in 200-MP mode, encoded as a tiled
(grid) HEIF like the phone's own; the JPEG at 12240x8160. Each is then processed by
`pipeline.process` in a fresh child process with one job (rendering stays in that process), and
the child's peak resident set size (VmHWM) is reported beside the size of one full-size RGB copy
of the photo. A baseline child that only imports the pipeline shows the fixed cost.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pillow_heif
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SEED_PHOTO = REPO / "tests" / "fixtures" / "cameras" / "prairie_falcon.jpg"

# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
CHILD = """
import re, sys, pipeline
folder, out = sys.argv[1], sys.argv[2]
if folder != "-":
    settings = dict(output__dir=out, output__name="big", run__jobs=1, run__quiet=True, run__force=True)
    result = pipeline.process(folder, **settings)
    assert result.ok, [str(f) for f in result.failures]
print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())[1])
"""


def make_photo(folder: Path, name: str, size: tuple[int, int]) -> Path:
    """Scale the seed photo up to `size` and save it; HEIC as 512-px grid tiles like phones do."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with Image.open(SEED_PHOTO) as seed:
        big = seed.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    started = time.perf_counter()
    if path.suffix == ".heic":
        pillow_heif.options.GRID_TILE_SIZE = 512
        pillow_heif.from_pillow(big).save(path, quality=60)
    else:
        big.save(path, "JPEG", quality=85)
    del big
    print(
        f"made {name}: {size[0]}x{size[1]}, {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s"
    )
    return path


def peak_rss_mb(folder: str, out: str) -> float:
    """Run the pipeline in a fresh interpreter and return its peak RSS in MB."""
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, folder, out],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    return int(completed.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="make the photos in this folder and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = args.keep or Path(temp)
        baseline = peak_rss_mb("-", "-")
        print(f"baseline (imports only): {baseline:.0f} MB")
        for name, size in (("phone-200mp.heic", (12240, 16320)), ("camera-100mp.jpeg", (12240, 8160))):
            folder = work / name.split(".")[0]
            if not (folder / name).exists():
                make_photo(folder, name, size)
            full_copy = size[0] * size[1] * 3 / 1e6 / 1.048576
            started = time.perf_counter()
            peak = peak_rss_mb(str(folder), str(work / "out" / name))
            print(
                f"{name}: {size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.0f} MP; one full-size RGB copy "
                f"{full_copy:.0f} MB; peak RSS {peak:.0f} MB ({time.perf_counter() - started:.0f} s)"
            )


if __name__ == "__main__":
    main()
