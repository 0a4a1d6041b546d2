"""Any name a file system allows is safe in everything gallery writes and prints (hypothesis).

Two photos (one burst: the same frame twice, apart only in a byte after the image data) get
arbitrary byte names: line breaks, escape sequences, quotes and brackets that mean something in
TOML, bytes that are not UTF-8, NFD spellings. Through `captions --skip-suggested` (whose notes name
the other frame of the burst), `process --json -v`, `process --dry-run --json` and `inspect --json`:
captions.toml stays valid TOML with one key per photo, written as the docs say names are (NFC, a
byte that is not UTF-8 as `\\xNN`; computed here from the bytes typed), a second
`captions` adds nothing, stdout is valid UTF-8 JSON, and stderr holds one line per message (one
summary line; no name starts a line of its own or sends a control character to the terminal).
The commands run in this process (typer's CliRunner): a few small examples, not hundreds.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline.cli.app import app

from .conftest import fixture_photo

SMALL = "[variants]\nwidths = [160]\n[image]\nmax_edge = 320\n[thumbnail]\nwidth = 0\n[run]\njobs = 1\n"
PHOTO = fixture_photo("kodak-dc240.jpg").read_bytes()
# What a line on stderr may start with: a labelled message, a summary, a per-photo line (-v), or
# the captions file's own path.
LINE_STARTS = re.compile(r"(error|warning|alt text|settings): |post |\d+ photos?(: | ha(s|ve) no alt)|\s+\d+  |/")
SUMMARY = re.compile(r"\d+ photos: \d+ processed, ")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

names = st.binary(min_size=1, max_size=12).filter(lambda raw: b"/" not in raw and b"\x00" not in raw)


def gallery(*args: str | Path) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert not CONTROL.search(result.stderr), f"a control character reached the terminal: {result.stderr!r}"
    for line in result.stderr.splitlines():
        assert LINE_STARTS.match(line), f"a line no message starts: {line!r} in {result.stderr!r}"
    return result.exit_code, result.stdout_bytes, result.stderr


def written_name(raw: bytes) -> str:
    """A file name as docs/usage.md says gallery writes it: NFC, a byte that is not UTF-8 as `\\xNN`."""
    return unicodedata.normalize("NFC", raw.decode("utf-8", "backslashreplace"))


def as_json(stdout: bytes) -> object:
    return json.loads(stdout.decode("utf-8"))  # strict: bytes that are not UTF-8 fail here


@pytest.mark.skipif(os.name != "posix", reason="needs a file system that stores any bytes in a name")
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=names, second=names)
@example(first=b"x\n4 photos: forged", second=b"caf\xe9")  # a forged summary; Latin-1
@example(first=b'a"]\nevil = 1\n["b', second=b"\x1b[31mred\r")  # a TOML key; escape sequences
@example(first=b"cafe\xcc\x81", second=b"caf\xc3\xa9")  # NFD and NFC: one display name
def test_any_file_name_is_safe_in_everything_gallery_writes(first: bytes, second: bytes) -> None:
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        photos, out, small = work / "photos", work / "out", work / "small.toml"
        photos.mkdir()
        small.write_text(SMALL, encoding="utf-8")
        paths, keys = [], set()
        for index, raw in enumerate((b"a-" + first + b".jpg", b"b-" + second + b".jpg")):
            path = Path(os.fsdecode(bytes(photos) + b"/" + raw))
            path.write_bytes(PHOTO + bytes([index]))  # a burst: the same frame, other bytes after its end
            paths.append(path)
            keys.add(written_name(raw))

        code, _, stderr = gallery("captions", photos, "--skip-suggested", "--out", out, "--config", small)
        assert code == 0, stderr
        captions = tomllib.loads((photos / "captions.toml").read_text(encoding="utf-8"))
        assert set(captions) == keys
        code, _, stderr = gallery("captions", photos, "--out", out, "--config", small)
        assert code == 0 and ": 0 new entries" in stderr, stderr
        toml = photos / "captions.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("skip = true", "skip = false"), encoding="utf-8")

        code, stdout, stderr = gallery("process", photos, "--out", out, "--json", "-v", "--config", small)
        assert code == 0, stderr
        assert len(as_json(stdout)["photos"]) == 2
        assert len([line for line in stderr.splitlines() if SUMMARY.match(line)]) == 1, stderr

        code, stdout, stderr = gallery("process", photos, "--out", out, "--dry-run", "--json", "--config", small)
        assert code == 0, stderr
        assert len(as_json(stdout)["photos"]) == 2

        code, stdout, stderr = gallery("inspect", *paths, "--json", "--config", small)
        assert code == 0, stderr
        assert [entry["format"] for entry in as_json(stdout)] == ["JPEG", "JPEG"]


def test_text_typed_in_bytes_that_are_not_utf8_is_published_escaped(tmp_path: Path) -> None:
    """A title typed in a Latin-1 terminal reaches the block, the manifest and the post as `\\xNN`;
    a post file whose name is such bytes is still written under that very name."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(PHOTO)
    post = os.fsdecode(b"caf\xe9.md")
    title = os.fsdecode(b"Caf\xe9 \xff")
    code, stdout, stderr = gallery("process", photos, "--out", tmp_path / "out", "--name", "t", "--title", title,
                                   "--post-file", tmp_path / post, "--json")  # fmt: skip
    assert code == 0, stderr
    run = json.loads(stdout.decode("utf-8"))
    assert run["title"] == run["photos"][0]["alt"] == "Caf\\xe9 \\xff"
    manifest = json.loads((tmp_path / "out" / "t.json").read_text(encoding="utf-8"))
    assert manifest["title"] == "Caf\\xe9 \\xff"
    assert os.fsencode(tmp_path / post) in {os.fsencode(path) for path in tmp_path.iterdir()}
    front = (tmp_path / post).read_text(encoding="utf-8").split("\n")
    title_line = next(line for line in front if line.startswith("title: "))
    assert json.loads(title_line.removeprefix("title: ")) == run["title"]
