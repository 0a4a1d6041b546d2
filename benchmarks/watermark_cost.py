"""What a watermark costs: a long text and a huge logo, before and after the mark is made once per run.

    python benchmarks/watermark_cost.py [--quick]

Two 640x480 photos (copies of a fixture photo, apart in one byte after the image) are processed with
a watermark by `pipeline.process`, one job, in a fresh child process per case; each line gives the
wall time of the run and the child's peak resident set size (VmHWM).

- "before" is how gallery stamped until the mark was prepared per run: the mark at full size in
  every job (text drawn at 200 px, a logo decoded whole, per photo), scaled down from full size for
  each output, with no cap on the text or the logo. It is emulated by handing the jobs the
  unreduced mark and lifting the caps.
- "after" is the pipeline as it is: the mark made once and reduced to the widest mark any output
  needs (`watermark.size` of the widest output), the text capped at 200 characters and the logo at
  25,000,000 pixels; a case over a cap is refused at once, before anything is created (exit 2).

`--quick` leaves out the two cases over the caps (a 10,000-character text, a 12000x12000 logo),
whose "before" takes about 1.5 GB and half a minute each.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "tests" / "fixtures" / "event" / "kodak-dc240.jpg"
TEXT = "© Jane Doe Photography, all rights reserved. "

# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
CHILD = """
import dataclasses, re, sys, time
from pipeline import ConfigError, config as settings, process, watermark
from pipeline.config import Config

folder, out, mode, kind, value = sys.argv[1:6]
base = Config().with_overrides(output__dir=out, output__name="wm", run__jobs=1, run__quiet=True, run__force=True)
chosen = {"text": value} if kind == "text" else {"logo": value} if kind == "logo" else {}
try:
    if mode == "before":  # no caps, and the mark at full size in every job
        watermark.MAX_LOGO_PIXELS = settings.MAX_WATERMARK_TEXT = 10**12
        watermark.Image.MAX_IMAGE_PIXELS = None  # the full-size text mark is handed over as a PNG
        watermark.largest_mark_width = lambda config: 10**9
        config = dataclasses.replace(base, watermark=dataclasses.replace(base.watermark, **chosen))
    else:
        config = base.with_overrides(**{f"watermark__{key}": item for key, item in chosen.items()})
    started = time.perf_counter()
    result = process(folder, config)
    assert result.ok and len(result.photos) == 2, [str(f) for f in result.failures]
    seconds = f"{time.perf_counter() - started:.2f} s"
except ConfigError:
    seconds = "refused (exit 2)"
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())[1]) / 1000
print(f"{seconds}|{peak:.0f} MB")
"""


def make_logo(path: Path, side: int) -> Path:
    """A square RGBA logo: a filled circle on transparency, saved fast (it only has to be big)."""
    logo = Image.new("RGBA", (side, side))
    ImageDraw.Draw(logo).ellipse((0, 0, side - 1, side - 1), fill=(200, 30, 30, 255))
    logo.save(path, compress_level=1)
    return path


def run_case(folder: Path, out: Path, mode: str, kind: str, value: str) -> str:
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), str(out), mode, kind, value],
        capture_output=True, text=True, check=False, cwd=REPO,
    )  # fmt: skip
    if done.returncode != 0:
        return f"failed: {done.stderr.strip().splitlines()[-1]}"
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the cases within the caps")
    quick = parser.parse_args().quick
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        photos = work / "photos"
        photos.mkdir()
        data = PHOTO.read_bytes()
        for index in range(2):
            (photos / f"photo-{index}.jpg").write_bytes(data + bytes([index]))
        cases = [("none", "", "no watermark"), ("text", (TEXT * 5)[:200], "text, 200 characters (the cap)")]
        cases.append(("logo", str(make_logo(work / "logo-5000.png", 5000)), "logo, 5000x5000 (the cap)"))
        if not quick:
            cases.append(("text", (TEXT * 250)[:10_000], "text, 10,000 characters"))
            cases.append(("logo", str(make_logo(work / "logo-12000.png", 12_000)), "logo, 12000x12000"))
        print(f"{'case':<34} {'before':>26} {'after':>26}")
        for kind, value, label in cases:
            row = [run_case(photos, work / "out", mode, kind, value) for mode in ("before", "after")]
            print(f"{label:<34} " + " ".join(f"{cell.replace('|', ', '):>26}" for cell in row))


if __name__ == "__main__":
    main()
