"""Hostile and odd input: every file gives valid outputs or a clear per-file error, never a crash.

Real files from Pillow's own test corpus (corrupt, bombs, odd modes, animations, alpha) plus
generated cases for what real files cannot show (sockets, FIFOs, symbolic links, hostile names).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps
from pillow_heif.as_plugin import HeifImageFile

import pipeline
from benchmarks.memory import make_photo, peak_rss_mb
from pipeline.config.sections import Config
from pipeline.errors import PhotoError
from pipeline.image.ingest import find_candidates, inspect_source, open_image
from pipeline.image.previews import render_preview
from pipeline.image.render import REDUCING_GAP, _decoded

from .conftest import FIXTURES, image_difference, run_gallery

EDGE = FIXTURES / "edge"
PHOTO = FIXTURES / "cameras" / "Canon_40D.jpg"  # 100x68, small and real
# Files of the edge corpus that must be refused, and a word the reason must contain.
MUST_FAIL = {
    "decompression_bomb.gif": "4,364,696,535 pixels",
    "png_decompression_dos.png": "damaged",
    "truncated_image.png": "truncated",
    "truncated_jpeg.jpg": "truncated",
    "ultrahdr.jpg": "truncated",
    "crash-0c7e0e8e11ce787078f00b5b0ca409a167f070e0.tif": "decode",
}


def _check_run(folder: Path, out: Path) -> pipeline.RunResult:
    """Process `folder` and check the outcome of every image-named file in it."""
    result = pipeline.process(folder, output__dir=str(out), output__name="edge", run__quiet=True)
    named = {p.name for p in folder.iterdir() if p.suffix.lower() != ".md"}
    accounted = {p.source.name for p in result.photos} | {f.path.name for f in result.failures}
    accounted |= {w.path.name for w in result.warnings if "same content" in w.message}
    assert accounted == named, "every file must come out or be reported"
    for failure in result.failures:
        assert failure.message and "\n" not in failure.message and "Traceback" not in failure.message
        if failure.path.name in MUST_FAIL:
            assert MUST_FAIL[failure.path.name] in failure.message, failure
    assert not {p.source.name for p in result.photos} & set(MUST_FAIL), "a corrupt file came out as a photo"
    for photo in result.photos:
        for output in photo.outputs:
            with Image.open(output.path) as image:
                image.load()
                assert image.size == (output.width, output.height), output.path
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    return result


def test_edge_fixtures_give_outputs_or_clear_errors(tmp_path: Path) -> None:
    result = _check_run(EDGE, tmp_path / "out")
    failed = {f.path.name for f in result.failures}
    assert failed == set(MUST_FAIL) & {p.name for p in EDGE.iterdir()}
    assert result.processed == len(result.photos), "the summary counts the photos this run rendered"


def test_whole_edge_corpus_gives_outputs_or_clear_errors(corpus: Path, tmp_path: Path) -> None:
    result = _check_run(corpus / "public" / "edge", tmp_path / "out")
    assert {f.path.name for f in result.failures} == set(MUST_FAIL)


def _png(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header declares `width` x `height` (RGB, 8 bit), with the given pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF) is patched to declare another size."""
    data = bytearray(PHOTO.read_bytes())
    offset = 2  # walk the segments: an EXIF thumbnail inside APP1 has a frame header of its own
    while data[offset + 1] not in (0xC0, 0xC1, 0xC2):
        offset += 2 + struct.unpack(">H", data[offset + 2 : offset + 4])[0]
    data[offset + 5 : offset + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_bad_files_each_get_a_clear_error_and_the_rest_come_out(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    real = PHOTO.read_bytes()
    shutil.copy(PHOTO, photos / "good.jpg")
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.jpg").write_text("not a photo\n")
    (photos / "cut.jpg").write_bytes(real[: len(real) // 2])
    png = (EDGE / "transparent.png").read_bytes()
    (photos / "cut.png").write_bytes(png[: len(png) // 3])
    (photos / "header-only.png").write_bytes(_png(64, 64))
    (photos / "no-pixels.png").write_bytes(_png(0, 0))
    (photos / "trailing-garbage.jpg").write_bytes(real + os.urandom(4096))
    (photos / "folder.jpg").mkdir()
    os.mkfifo(photos / "pipe.jpg")  # opening it for reading would block forever
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(photos / "socket.png"))
    try:
        completed = run_gallery("process", photos, "--out", tmp_path / "out", "--name", "x", timeout=120)
    finally:
        listener.close()
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    errors = {
        Path(line.removeprefix("error: ").split(": ")[0]).name: line
        for line in completed.stderr.splitlines()
        if line.startswith("error: ")
    }
    expected = {"empty.jpg", "notes.jpg", "cut.jpg", "cut.png", "header-only.png", "no-pixels.png"}
    expected |= {"folder.jpg", "pipe.jpg", "socket.png"}
    assert set(errors) == expected, completed.stderr
    assert "empty" in errors["empty.jpg"] and "not an image" in errors["notes.jpg"]
    assert all("not a regular file" in errors[name] for name in ("folder.jpg", "pipe.jpg", "socket.png"))
    # The good photo and the one with bytes after its end marker both came out.
    assert completed.stdout.count("\n") == 2
    for number in (1, 2):
        with Image.open(tmp_path / "out" / f"x-{number:02d}.jpeg") as image:
            assert image.size == (100, 68)


def test_pixel_limit_refuses_bombs_before_decoding_and_admits_200_mp_photos(tmp_path: Path) -> None:
    config = Config()
    # Samsung Galaxy S24 Ultra, 200-MP mode: 12240x16320 = 199.8 MP; stock Pillow refuses it.
    phone = tmp_path / "phone.jpg"
    phone.write_bytes(_jpeg_declaring(12240, 16320))
    assert Image.MAX_IMAGE_PIXELS is not None
    photo = inspect_source(find_candidates(tmp_path, config)[0][0], config)
    assert (photo.width, photo.height) == (12240, 16320)
    phone.unlink()
    # Bombs: billions of pixels declared in a few bytes. Both refusal paths name the size.
    for name, width, height, words in (
        ("huge.png", 100_000, 100_000, "10,000,000,000 pixels"),
        ("large.png", 20_000, 20_000, "20000x20000"),
    ):
        (tmp_path / name).write_bytes(_png(width, height, zlib.compress(b"\0" * 1000)))
        candidate = find_candidates(tmp_path, config)[0][0]
        with pytest.raises(PhotoError, match=words) as raised:
            inspect_source(candidate, config)
        assert "limits.max_pixels" in str(raised.value)
        (tmp_path / name).unlink()


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(PHOTO, photos / "small.jpg")  # 6,800 pixels
    shutil.copy(FIXTURES / "orientation" / "Landscape_1.jpg", photos / "large.jpg")  # 2,160,000 pixels
    (tmp_path / "gallery.toml").write_text("[limits]\nmax_pixels = 1_000_000\n")
    completed = run_gallery("process", photos, "--out", tmp_path / "out", cwd=tmp_path)
    assert completed.returncode == 1
    refusal = r"error: .*large\.jpg: refused: .*(1800x1200|2,160,000 pixels).*1,000,000"
    assert re.search(refusal, completed.stderr), completed.stderr
    assert completed.stdout.count("\n") == 1


@pytest.mark.parametrize("name", ["chi.gif", "iss634.webp"])
def test_animations_give_their_first_frame(tmp_path: Path, name: str) -> None:
    result = pipeline.process(
        _folder_with(tmp_path, EDGE / name), output__dir=str(tmp_path / "out"), variants__formats=("webp", "avif")
    )
    assert result.ok, result.failures
    [photo] = result.photos
    with Image.open(EDGE / name) as source:
        frames = []
        for index in range(source.n_frames):
            source.seek(index)
            frames.append(_on_white(source))
    size = frames[0].size
    assert image_difference(frames[0], frames[len(frames) // 2], size) > 2, "the test needs frames that differ"
    for output in photo.outputs:
        with Image.open(output.path) as image:
            assert getattr(image, "n_frames", 1) == 1
            assert image.size == (output.width, output.height) == size
            seen = _on_white(image)
        distances = [image_difference(seen, frame, size) for frame in frames]
        assert distances.index(min(distances)) == 0, (output.path.name, distances)


def _on_white(image: Image.Image) -> Image.Image:
    """What a page shows: the image over a white background."""
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")


def _folder_with(tmp_path: Path, *files: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir(exist_ok=True)
    for file in files:
        shutil.copy(file, folder / file.name)
    return folder


@pytest.mark.parametrize("name", ["transparent.png", "transparent.webp"])
def test_alpha_is_kept_in_webp_and_avif_and_flattened_in_jpeg(tmp_path: Path, name: str) -> None:
    with Image.open(EDGE / name) as source:
        source_alpha = source.convert("RGBA").getchannel("A")
    # Pixels well inside fully transparent areas (JPEG blurs colour edges a little).
    clear = [
        (x, y)
        for x in range(4, 196, 6)
        for y in range(4, 146, 6)
        if source_alpha.crop((x - 4, y - 4, x + 5, y + 5)).getextrema() == (0, 0)
    ]
    assert len(clear) > 20, "the fixture must have fully transparent areas"
    result = pipeline.process(
        _folder_with(tmp_path, EDGE / name),
        output__dir=str(tmp_path / "out"),
        variants__widths=(200,),
        variants__formats=("webp", "avif"),
        metadata__background="#ff0000",
    )
    assert result.ok, result.failures
    outputs = {o.format: o.path for o in result.photos[0].outputs if o.width == 200}
    assert set(outputs) == {"jpeg", "webp", "avif"}
    for fmt in ("webp", "avif"):
        with Image.open(outputs[fmt]) as image:
            assert image.mode == "RGBA", fmt
            alpha = image.getchannel("A")
            assert all(alpha.getpixel(xy) < 16 for xy in clear), fmt
            assert image_difference(alpha.convert("RGB"), source_alpha.convert("RGB")) < 4, fmt
    with Image.open(outputs["jpeg"]) as image:
        assert image.mode == "RGB"
        for xy in clear:
            red, green, blue = image.getpixel(xy)
            assert red > 230 and green < 30 and blue < 30, (xy, image.getpixel(xy))


@pytest.mark.parametrize(
    "name",
    [
        "mode_16bit.png",
        "i_trns.png",
        "pil_sample_cmyk.jpg",
        "tiff_strip_cmyk_jpeg.tif",
        "pil123p.png",
        "hopper_gray.jpg",
    ],
)
def test_odd_modes_give_valid_outputs_of_the_right_size(tmp_path: Path, name: str) -> None:
    with Image.open(EDGE / name) as source:
        size = source.size
    result = pipeline.process(_folder_with(tmp_path, EDGE / name), output__dir=str(tmp_path / "out"))
    assert result.ok, result.failures
    for output in result.photos[0].outputs:
        with Image.open(output.path) as image:
            image.load()
            assert image.mode in ("RGB", "RGBA")
            assert image.size == (output.width, output.height)
    with Image.open(result.photos[0].main.path) as main:
        assert main.size == size and main.mode == "RGB"


def test_symbolic_links(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    outside = tmp_path / "outside"
    photos.mkdir()
    outside.mkdir()
    shutil.copy(PHOTO, photos / "real.jpg")
    shutil.copy(FIXTURES / "cameras" / "Pentax_K10D.jpg", outside / "secret.jpg")
    os.mkfifo(outside / "trap.jpg")  # reading through the link would block: proves it is never opened
    (photos / "out-link.jpg").symlink_to(outside / "secret.jpg")
    (photos / "trap-link.jpg").symlink_to(outside / "trap.jpg")
    (photos / "broken.jpg").symlink_to(tmp_path / "missing.jpg")
    (photos / "loop-a.jpg").symlink_to(photos / "loop-b.jpg")
    (photos / "loop-b.jpg").symlink_to(photos / "loop-a.jpg")
    (photos / "inside-link.jpg").symlink_to(photos / "real.jpg")
    completed = run_gallery("process", photos, "--out", tmp_path / "out", "--name", "s", timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count("\n") == 1, "only the real photo (once) comes out"
    warnings = "\n".join(line for line in completed.stderr.splitlines() if line.startswith("warning: "))
    assert re.search(r"out-link\.jpg: symbolic link to .*outside.*skipped", warnings)
    assert re.search(r"trap-link\.jpg: symbolic link to .*outside.*skipped", warnings)
    for name in ("broken.jpg", "loop-a.jpg", "loop-b.jpg"):
        assert re.search(rf"{name}: broken symbolic link", warnings), name
    assert re.search(r"(inside-link|real)\.jpg: same content as (real|inside-link)\.jpg", warnings)
    # Following links out of the folder is a setting; then the linked photo comes out.
    (photos / "trap-link.jpg").unlink()
    (tmp_path / "gallery.toml").write_text("[limits]\nfollow_external_symlinks = true\n")
    completed = run_gallery("process", photos, "--out", tmp_path / "out2", "--name", "s", cwd=tmp_path, timeout=120)
    assert completed.stdout.count("\n") == 2, completed.stderr


HOSTILE_NAMES = [
    'it\'s "quoted".jpg',
    "[brackets](and)parens.jpg",
    "<script>alert(1)<\\script>.jpg",
    "{{ site.secret }}.jpg",
    "{% include secret %}.jpg",
    "-rf --force.jpg",
    "two\nlines.jpg",
    "a" * 246 + ".jpg",
    "caf\u00e9.jpg",  # NFC
    "cafe\u0301.jpg",  # NFD: a different file with the same-looking name
    os.fsdecode(b"latin1-\xe9t\xe9.jpg"),  # not UTF-8
]


def test_hostile_file_names_never_reach_paths_or_markup(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    real = PHOTO.read_bytes()
    for index, name in enumerate(HOSTILE_NAMES):
        (photos / name).write_bytes(real + bytes([index]))  # distinct bytes after the end marker
    before = {p for p in tmp_path.rglob("*")}
    out = tmp_path / "site" / "img"
    completed = run_gallery("process", photos, "--out", out, "--title", "T", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == len(HOSTILE_NAMES)
    for number, line in enumerate(lines, start=1):
        assert line == f'![T]({{{{ site.baseurl }}}}/assets/img/photos-{number:02d}.jpeg "T")'
    created = {p for p in tmp_path.rglob("*")} - before
    assert all(p == tmp_path / "site" or p.is_relative_to(out) for p in created), created
    assert all(re.fullmatch(r"\.?[a-z0-9.-]+", p.name) for p in out.iterdir())
    manifest = json.loads((out / "photos.json").read_text(encoding="utf-8"))
    sources = {entry["source"] for entry in manifest["photos"]}
    assert "{{ site.secret }}.jpg" in sources and "latin1-\\xe9t\\xe9.jpg" in sources
    # With the file name in the alt text, each photo is still exactly one line with a clean URL.
    completed = run_gallery("process", photos, "--out", out, "--title", "T", "--alt", "{filename}", cwd=tmp_path)
    lines = completed.stdout.splitlines()
    assert len(lines) == len(HOSTILE_NAMES), completed.stdout
    for number, line in enumerate(lines, start=1):
        assert line.startswith("![") and line.endswith(
            f'({{{{ site.baseurl }}}}/assets/img/photos-{number:02d}.jpeg "T")'
        )


@pytest.mark.parametrize("name", ["../../escape", "-rf", "/etc/passwd", ".hidden", "a/../../b"])
def test_hostile_output_names_stay_in_the_output_folder(tmp_path: Path, name: str) -> None:
    photos = _folder_with(tmp_path, PHOTO)
    before = {p for p in tmp_path.rglob("*")}
    completed = run_gallery("process", photos, "--out", "out", f"--name={name}", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    created = {p for p in tmp_path.rglob("*")} - before
    assert created and all(p.is_relative_to(tmp_path / "out") for p in created), created
    assert all(re.fullmatch(r"\.?[a-z0-9][a-z0-9.-]*", p.name) for p in (tmp_path / "out").iterdir())


def test_large_heif_is_reduced_band_by_band_exactly_as_a_whole(tmp_path: Path) -> None:
    """The banded decode that keeps 200-MP HEICs to one full-size copy gives Pillow's own reduce."""
    source = FIXTURES / "event" / "arrow.heic"  # 3024x4032 phone photo
    config = Config()
    with open_image(source, config) as image:
        reduced = _decoded(image, (375, 500))
    with Image.open(source) as whole:
        expected = whole.reduce(int(min(3024 / 375, 4032 / 500) / REDUCING_GAP))
    assert reduced.size == expected.size == (1512, 2016)
    assert ImageChops.difference(reduced.convert("RGB"), expected.convert("RGB")).getbbox() is None


def test_the_editors_preview_of_a_heif_is_reduced_band_by_band_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The editor shows every photo: a phone's HEIF is never loaded whole for a 480-px picture, and
    the picture still shows the photo as Pillow sees it."""
    source = FIXTURES / "event" / "arrow.heic"
    whole_loads = []
    load = HeifImageFile.load
    monkeypatch.setattr(HeifImageFile, "load", lambda self: whole_loads.append(self) or load(self))
    shown = Image.open(io.BytesIO(render_preview(source, Config(), 480)))
    monkeypatch.undo()
    assert whole_loads == []
    with Image.open(source) as photo:
        expected = ImageOps.exif_transpose(photo).convert("RGB")
    assert max(shown.size) == 480 and abs(shown.width / shown.height - expected.width / expected.height) < 0.01
    assert image_difference(shown, expected) < 4


def test_a_100_mp_jpeg_is_processed_in_far_less_than_one_full_size_copy(tmp_path: Path) -> None:
    width, height = 12240, 8160
    make_photo(tmp_path / "photos", "camera-100mp.jpeg", (width, height))
    peak = peak_rss_mb(str(tmp_path / "photos"), str(tmp_path / "out"))
    one_copy = width * height * 3 / 2**20
    assert peak < one_copy / 2, f"peak RSS {peak:.0f} MB; one RGB copy is {one_copy:.0f} MB"
    with Image.open(tmp_path / "out" / "big-01.jpeg") as main:
        assert main.size == (2048, 1365)
