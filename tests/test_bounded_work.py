"""Bounded work: the watermark is made once per run at the size outputs need, and reading headers
never waits on a FIFO.

What the render jobs receive of the mark must not grow with the length of the text or the size of
the logo (each job is pickled to a worker process). Time and memory are measured apart, in
benchmarks/watermark_cost.py; here only sizes, which do not depend on the machine.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from pipeline.config.sections import MAX_WATERMARK_TEXT, Config
from pipeline.image import render, watermark
from pipeline.model import SourcePhoto

from .conftest import fixture_photo, run_gallery, said

MARK_SIZE = 0.2  # the default watermark.size
WIDEST = 2048  # the default image.max_edge: the widest output, so the widest mark is 410 px


def job_bytes(config: Config) -> int:
    """What one render job pickles to: the mark rides in it to every worker."""
    photo = SourcePhoto(Path("p.jpg"), "JPEG", 1, 1, "hash", 4000, 3000, None)
    job = render.RenderJob(photo, (), {}, config, render.before_run(config))
    return len(pickle.dumps(job))


def test_a_logo_is_reduced_once_to_the_widest_mark_an_output_needs(tmp_path: Path) -> None:
    sizes = {}
    for side in (500, 4000):
        logo = tmp_path / f"logo-{side}.png"
        Image.radial_gradient("L").resize((side, side)).convert("RGBA").save(logo, compress_level=1)
        config = Config().with_overrides(watermark__logo=str(logo))
        mark = watermark.make(config)
        assert mark is not None
        assert mark.image().size == (round(WIDEST * MARK_SIZE),) * 2, "reduced to 410 px, never more"
        sizes[side] = job_bytes(config)
    assert sizes[4000] < sizes[500] * 1.5, f"a job's size grew with the logo's: {sizes}"


def test_a_long_text_mark_is_no_wider_than_an_output_needs() -> None:
    short, longest = "© Jane", "© Jane Doe " * (MAX_WATERMARK_TEXT // 11)
    sizes = {}
    for text in (short, longest):
        config = Config().with_overrides(watermark__text=text)
        mark = watermark.make(config)
        assert mark is not None and mark.image().width <= round(WIDEST * MARK_SIZE)
        sizes[text] = job_bytes(config)
    assert sizes[longest] < sizes[short] + 50_000, f"a job's size grew with the text: {sizes}"


def test_thumbnails_with_a_mark_widen_what_is_prepared() -> None:
    config = Config().with_overrides(
        watermark__text="x" * 40, watermark__thumbnails=True, image__enabled=False,
        variants__widths=(100,), thumbnail__width=600, watermark__size=1.0,
    )  # fmt: skip
    assert watermark.largest_mark_width(config) == 600


# --- FIFOs: inspect and audit skip them with a reason -------------------------------------------------------


def no_hang(*args: str | Path) -> subprocess.CompletedProcess:
    """The command, failing the test (not hanging it) when it waits on the FIFO."""
    try:
        return run_gallery(*args, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`gallery {' '.join(map(str, args))}` hung on a FIFO")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_inspect_skips_a_fifo_with_a_reason(tmp_path: Path) -> None:
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    photo = shutil.copy2(fixture_photo("DSCN0010.jpg"), tmp_path / "real.jpg")
    completed = no_hang("inspect", fifo, photo)
    assert completed.returncode == 1, completed.stderr  # as `process` does: a file that cannot be read
    assert f"{fifo}\n  error         a FIFO, not a regular file: skipped\n" in completed.stdout
    assert "NIKON" in completed.stdout, "the real photo is still described"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_audit_skips_a_fifo_with_a_reason(tmp_path: Path) -> None:
    site = tmp_path / "_site"
    site.mkdir()
    os.mkfifo(site / "photo.jpg")
    Image.new("RGB", (32, 24), "teal").save(site / "clean.jpg")  # no metadata at all
    completed = no_hang("audit", site)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert said(completed.stderr) == [f"{site / 'photo.jpg'}: a FIFO, not a regular file: skipped",
                                             "1 images checked, 0 leaking"]  # fmt: skip
