"""Settings that cannot work stop the run before it starts: exit 2, one line, nothing created or locked.

A colour Pillow cannot read, a watermark logo that is not an image or too large, credit text that
cannot fit beside a photo's EXIF, a watermark text too long to draw, and settings or captions files
that are not UTF-8 (UTF-16, Latin-1, binary) each fail every photo one by one, or crash, when they
are found late. Here each must be refused at once, naming the setting or the file, with the output
folder never created. The accepted forms are judged by Pillow reading the outputs.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.config.sections import MAX_CREDIT_BYTES, MAX_WATERMARK_TEXT

from .conftest import fixture_photo, said

ARTIST = 0x013B


def gallery(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


def png_declaring(width: int, height: int) -> bytes:
    """A PNG that declares a size and holds a few bytes of pixels: refused before decoding, or it fails."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    pixels = zlib.compress(bytes(10))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "photos").mkdir()
    shutil.copy2(fixture_photo("kodak-dc240.jpg"), tmp_path / "photos")
    (tmp_path / "notes.txt").write_text("not an image\n", encoding="utf-8")
    (tmp_path / "huge.png").write_bytes(png_declaring(10_000, 10_000))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# settings text -> what the one line must name
REFUSED_SETTINGS = {
    "colour": ('[metadata]\nbackground = "notacolor"\n', "metadata.background"),
    "logo not an image": ('[watermark]\nlogo = "notes.txt"\n', "watermark.logo notes.txt"),
    "logo too large": ('[watermark]\nlogo = "huge.png"\n', "watermark.logo huge.png is 10000x10000"),
    "artist of 70,000 characters": (f'[credit]\nartist = "{"a" * 70_000}"\n', "credit.artist"),
    "copyright over the cap in UTF-8": (f'[credit]\ncopyright = "{"©" * (MAX_CREDIT_BYTES // 2 + 1)}"\n',
                                        "credit.copyright"),
    "watermark text of 10,000 characters": (f'[watermark]\ntext = "{"a" * 10_000}"\n', "watermark.text"),
    "watermark text of two lines": ('[watermark]\ntext = "one\\ntwo"\n', "watermark.text"),
}  # fmt: skip


def assert_refused_before_the_run(work: Path, code: int, stderr: str, named: str) -> None:
    assert code == 2, stderr
    lines = said(stderr)
    assert len(lines) == 1 and lines[0].startswith("gallery: ") and named in stderr, stderr
    assert not (work / "out").exists(), "refused before the run: nothing created or locked"


@pytest.mark.parametrize("case", list(REFUSED_SETTINGS))
def test_settings_that_cannot_work_are_refused_before_the_run(work: Path, case: str) -> None:
    text, named = REFUSED_SETTINGS[case]
    (work / "settings.toml").write_text(text, encoding="utf-8")
    code, stderr = gallery("process", work / "photos", "--out", work / "out", "--config", "settings.toml")
    assert_refused_before_the_run(work, code, stderr, named)


ENCODINGS = {
    "UTF-16": '[text]\ntitle = "Café"\n'.encode("utf-16"),
    "Latin-1": '[text]\ntitle = "Café"\n'.encode("latin-1"),
    "binary": bytes(range(256)),
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("where", ["--config", "gallery.toml", "captions.toml"])
def test_files_not_in_utf8_are_one_line_and_exit_2(work: Path, where: str, encoding: str) -> None:
    data = ENCODINGS[encoding] if where != "captions.toml" else ENCODINGS[encoding].replace(b"[text]", b"[x.jpg]")
    path = {"--config": work / "mine.toml", "gallery.toml": work / "gallery.toml"}.get(where, work / "photos")
    path = path / "captions.toml" if path.is_dir() else path
    path.write_bytes(data)
    extra = ("--config", path) if where == "--config" else ()
    code, stderr = gallery("process", work / "photos", "--out", work / "out", *extra)
    assert_refused_before_the_run(work, code, stderr, f"{path.name} is not UTF-8 text")


# --- what is accepted ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("colour", ["rgb(255, 0, 0)", "#f00", "#ff000080", "red", "hsl(0, 100%, 50%)"])
def test_every_colour_form_pillow_reads_is_a_background(tmp_path: Path, colour: str) -> None:
    """A transparent PNG's JPEG is flattened onto the colour, as Pillow reads the JPEG back."""
    (tmp_path / "photos").mkdir()
    shutil.copy2(fixture_photo("transparent.png"), tmp_path / "photos")
    with Image.open(fixture_photo("transparent.png")) as source:
        alpha = source.convert("RGBA").getchannel("A")
        clear = next((x, y) for y in range(alpha.height) for x in range(alpha.width) if alpha.getpixel((x, y)) == 0)
    (tmp_path / "settings.toml").write_text(f'[metadata]\nbackground = "{colour}"\n', encoding="utf-8")
    code, stderr = gallery("process", tmp_path / "photos", "--out", tmp_path / "out", "--name", "t",
                           "--config", tmp_path / "settings.toml", "-q")  # fmt: skip
    assert code == 0, stderr
    with Image.open(tmp_path / "out/t-01.jpeg") as main:
        red, green, blue = main.convert("RGB").getpixel(clear)
    assert red > 230 and green < 25 and blue < 25, (red, green, blue)


def test_credit_and_mark_at_their_caps_are_written(work: Path) -> None:
    artist, text = "a" * MAX_CREDIT_BYTES, "b" * MAX_WATERMARK_TEXT
    (work / "settings.toml").write_text(f'[credit]\nartist = "{artist}"\n[watermark]\ntext = "{text}"\n')
    code, stderr = gallery("process", work / "photos", "--out", work / "out", "--name", "t", "--config",
                           "settings.toml", "-q")  # fmt: skip
    assert code == 0, stderr
    with Image.open(work / "out/t-01.jpeg") as main:
        assert main.getexif()[ARTIST] == artist
