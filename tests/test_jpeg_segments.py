"""Lossless JPEG metadata rewrite (pipeline.image.jpeg_segments), checked with independent readers.

Pillow (libjpeg) decodes the rewrites: pixels must be identical to the source's. exiftool reads their
metadata: nothing but what was given. Fuzzing holds the contract the caller relies on: ValueError
or success, never any other exception.
"""

from __future__ import annotations

import io
import math
import random
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pipeline.image.jpeg_segments import ICC_CHUNK, _walk, describe, rewrite
from tests.conftest import FIXTURES, require_tool

REFUSED = {"junk_jpeg_header.jpg": "no marker", "truncated_jpeg.jpg": "no EOI", "heic_hdlr_box.jpg": "no SOI"}
JPEGS = sorted(p for p in FIXTURES.glob("*/*.jpg") if p.name not in REFUSED)
KEPT_APPS = {"APP0 JFIF", "APP14 Adobe"}
# exiftool groups (family 0) a stripped rewrite may show: the file itself, JFIF density, Adobe transform.
ALLOWED_GROUPS = {"SourceFile", "ExifTool", "File", "JFIF", "APP14", "Composite"}


def read(name: str) -> bytes:
    return next(FIXTURES.glob(f"*/{name}")).read_bytes()


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as im:
        return im.mode, im.size, im.tobytes()


def is_metadata(name: str) -> bool:
    return name == "COM" or (name.startswith("APP") and name not in KEPT_APPS)


def image_segments(data: bytes) -> list[bytes]:
    """The bytes of every segment a decoder needs, in order (JFIF aside: its thumbnail is dropped)."""
    segments = zip(_walk(data), describe(data), strict=True)
    return [data[s:e] for (m, s, e), (name, _) in segments if m != 0xE0 and not is_metadata(name)]


def names(data: bytes) -> list[str]:
    return [name for name, _ in describe(data)]


def full_exif(**tags: str) -> bytes:
    """EXIF with the IFD0 tags JPEG requires (so exiftool -validate is quiet) plus the given ones."""
    exif = Image.Exif()
    exif.update({0x011A: 72.0, 0x011B: 72.0, 0x0128: 2, 0x0213: 1})
    exif.update({{"Artist": 0x013B, "Copyright": 0x8298}[k]: v for k, v in tags.items()})
    return exif.tobytes()


def pillow_jpeg(**options) -> bytes:
    """A JPEG made by Pillow from a real photo, e.g. progressive or with restart intervals."""
    buffer = io.BytesIO()
    with Image.open(FIXTURES / "event" / "DSCN0010.jpg") as im:
        im.save(buffer, "JPEG", quality=85, **options)
    return buffer.getvalue()


def read_icc(name: str = "Canon_40D.jpg") -> bytes:
    with Image.open(io.BytesIO(read(name))) as im:
        return im.info["icc_profile"]


@pytest.mark.parametrize("path", JPEGS, ids=lambda p: p.name)
def test_stripped_rewrite_is_pixel_identical_and_no_larger(path: Path) -> None:
    source = path.read_bytes()
    out = rewrite(source, None)
    assert pixels(out) == pixels(source)
    assert len(out) <= len(source)
    assert image_segments(out) == image_segments(source)  # byte for byte, in order
    assert not [n for n in names(out) if is_metadata(n)]
    assert ("APP0 JFIF" in names(out)) == ("APP0 JFIF" in names(source))
    assert rewrite(out, None) == out


def test_stripped_rewrites_show_no_metadata_to_exiftool(tmp_path: Path, exiftool) -> None:
    outputs = []
    for path in JPEGS:
        outputs.append(tmp_path / path.name)
        outputs[-1].write_bytes(rewrite(path.read_bytes(), None))
    rows = exiftool(*outputs, args=("-a", "-G0", "-s"))
    assert len(rows) == len(JPEGS)
    for row in rows:
        groups = {key.split(":", 1)[0] for key in row}
        assert groups <= ALLOWED_GROUPS, (row["SourceFile"], groups - ALLOWED_GROUPS)
        assert not [k for k in row if "Comment" in k or "Thumbnail" in k or "GPS" in k], row


def test_rewrites_validate_without_warnings(tmp_path: Path, exiftool) -> None:
    exif, icc = full_exif(Artist="Ada"), read_icc()
    outputs = []
    for path in JPEGS:
        for tag, (e, i) in {"strip": (None, None), "meta": (exif, icc)}.items():
            outputs.append(tmp_path / f"{tag}_{path.name}")
            outputs[-1].write_bytes(rewrite(path.read_bytes(), e, i))
    rows = exiftool(*outputs, args=("-validate", "-warning", "-a"))
    assert len(rows) == len(outputs)
    for row in rows:
        assert row["Validate"] in ("OK", "0 0 0") and "Warning" not in row, row


@pytest.mark.parametrize("name", ["DSCN0010.jpg", "Landscape_6.jpg", "pil_sample_cmyk.jpg"])
def test_given_exif_is_exactly_what_exiftool_reads(name: str, tmp_path: Path, exiftool) -> None:
    source = read(name)
    out = rewrite(source, full_exif(Artist="Ada Lovelace", Copyright="CC BY 4.0"))
    assert pixels(out) == pixels(source)
    expected_start = ["SOI", "APP0 JFIF", "APP1 Exif"] if "APP0 JFIF" in names(source) else ["SOI", "APP1 Exif"]
    assert names(out)[: len(expected_start)] == expected_start
    (tmp_path / name).write_bytes(out)
    (row,) = exiftool(tmp_path / name, args=("-a", "-G0:1", "-s"))
    exif = {k.split(":", 2)[2]: v for k, v in row.items() if k.startswith("EXIF:")}
    assert exif == {
        "XResolution": 72,
        "YResolution": 72,
        "ResolutionUnit": 2,
        "YCbCrPositioning": 1,
        "Artist": "Ada Lovelace",
        "Copyright": "CC BY 4.0",
    }
    groups = {k.split(":", 1)[0] for k in row}
    assert groups <= ALLOWED_GROUPS | {"EXIF"}, groups


def test_exif_size_limit_and_header() -> None:
    source = read("hopper_gray.jpg")
    largest = b"Exif\x00\x00" + bytes(65533 - 6)
    assert b"\xff\xe1\xff\xff" + largest in rewrite(source, largest)
    with pytest.raises(ValueError, match="exceeds"):
        rewrite(source, largest + b"\x00")
    with pytest.raises(ValueError, match="Exif"):
        rewrite(source, b"II*\x00\x08\x00\x00\x00")
    assert rewrite(source, b"") == rewrite(source, None)


@pytest.mark.parametrize(("icc_from", "chunks"), [("Canon_40D.jpg", 1), ("icc_profile_big.jpg", 7)])
def test_given_icc_profile_reads_back_identical(icc_from: str, chunks: int, tmp_path: Path) -> None:
    exiftool = require_tool("exiftool", "libimage-exiftool-perl")
    icc = read_icc(icc_from)
    assert math.ceil(len(icc) / ICC_CHUNK) == chunks
    source = read("kodak-dc240.jpg")
    out = rewrite(source, None, icc)
    assert pixels(out) == pixels(source)
    assert names(out).count("APP2 ICC_PROFILE") == chunks
    assert Image.open(io.BytesIO(out)).info["icc_profile"] == icc
    (tmp_path / "out.jpg").write_bytes(out)
    extracted = subprocess.run([exiftool, "-b", "-ICC_Profile", tmp_path / "out.jpg"], capture_output=True, check=True)
    assert extracted.stdout == icc


@pytest.mark.parametrize("size", [1, ICC_CHUNK, ICC_CHUNK + 1, 3 * ICC_CHUNK + 5])
def test_icc_chunking(size: int) -> None:
    icc = random.Random(size).randbytes(size)
    out = rewrite(read("hopper_gray.jpg"), None, icc)
    segments = [out[s:e] for m, s, e in _walk(out) if m == 0xE2]
    count = math.ceil(size / ICC_CHUNK)
    assert [(seg[16], seg[17]) for seg in segments] == [(n, count) for n in range(1, count + 1)]
    assert b"".join(seg[18:] for seg in segments) == icc
    assert Image.open(io.BytesIO(out)).info["icc_profile"] == icc


def test_icc_profile_too_big_for_255_chunks() -> None:
    with pytest.raises(ValueError, match="255"):
        rewrite(read("hopper_gray.jpg"), None, bytes(255 * ICC_CHUNK + 1))


@pytest.mark.parametrize(
    "options",
    [
        {"progressive": True},
        {"restart_marker_blocks": 1},
        {"progressive": True, "restart_marker_rows": 1},
        {"progressive": True, "subsampling": 0, "comment": b"private note", "dpi": (300, 300)},
    ],
    ids=["progressive", "restart", "progressive-restart", "progressive-444-comment"],
)
def test_progressive_and_restart_intervals(options: dict, tmp_path: Path, exiftool) -> None:
    with Image.open(FIXTURES / "event" / "DSCN0010.jpg") as im:
        source = pillow_jpeg(exif=im.info["exif"], icc_profile=read_icc(), **options)
    out = rewrite(source, None)
    assert pixels(out) == pixels(source)
    assert image_segments(out) == image_segments(source)
    scans = names(out).count("SOS")
    if options.get("progressive"):
        assert scans > 1
        assert "DHT" in names(out)[names(out).index("SOS") :]  # tables between scans are kept
    if "restart_marker_blocks" in options or "restart_marker_rows" in options:
        assert "DRI" in names(out)
        assert any(bytes((0xFF, 0xD0 + n)) in out for n in range(8))
    (tmp_path / "out.jpg").write_bytes(out)
    (row,) = exiftool(tmp_path / "out.jpg", args=("-a", "-G0", "-s"))
    assert {k.split(":", 1)[0] for k in row} <= ALLOWED_GROUPS
    jfif = ("jfif_unit", "jfif_density")  # Pillow's dpi also reads EXIF, which the rewrite dropped
    with Image.open(io.BytesIO(out)) as a, Image.open(io.BytesIO(source)) as b:
        assert [a.info[k] for k in jfif] == [b.info[k] for k in jfif]


def test_bytes_after_eoi_are_dropped(tmp_path: Path, exiftool) -> None:
    source = read("Landscape_1.jpg")
    trailer = read("DSCN0010.jpg") + b"\x00\x00\x00\x18ftypmp42 motion photo video" + b"\xff" * 9
    out = rewrite(source + trailer, None)
    assert out == rewrite(source, None)
    assert out.endswith(b"\xff\xd9") and out.count(b"\xff\xd8") == 1
    (tmp_path / "out.jpg").write_bytes(rewrite(read("DSCN0010.jpg") + read("Canon_40D.jpg"), None))
    (row,) = exiftool(tmp_path / "out.jpg", args=("-a", "-G0", "-s", "-ee"))
    assert {k.split(":", 1)[0] for k in row} <= ALLOWED_GROUPS


def test_adobe_app14_is_kept_because_it_changes_pixels() -> None:
    source = read("pil_sample_cmyk.jpg")
    out = rewrite(source, None)
    adobe = [source[s:e] for m, s, e in _walk(source) if m == 0xEE]
    assert adobe and [out[s:e] for m, s, e in _walk(out) if m == 0xEE] == adobe
    assert pixels(out) == pixels(source) and pixels(out)[0] == "CMYK"
    without = out.replace(adobe[0], b"")
    assert pixels(without) != pixels(source)  # why APP14 must stay: the CMYK decodes differently without it


def test_jfif_kept_first_with_density_and_no_thumbnail() -> None:
    source = pillow_jpeg(dpi=(300, 300))
    (jfif,) = [source[s:e] for m, s, e in _walk(source) if m == 0xE0]
    thumbnail = jfif[:4] + jfif[4:16] + b"\x02\x01" + b"\x7f" * 6  # a 2x1 RGB thumbnail
    thumbnail = thumbnail[:2] + (len(thumbnail) - 2).to_bytes(2, "big") + thumbnail[4:]
    exif = full_exif(Artist="x")
    moved = b"\xff\xd8" + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + thumbnail + source[2 + len(jfif) :]
    assert describe(moved)[1:3] == [("APP1 Exif", len(exif) + 4), ("APP0 JFIF", 24)]
    out = rewrite(moved, None)
    assert names(out)[:2] == ["SOI", "APP0 JFIF"] and describe(out)[1][1] == 18
    assert out[2:20] == jfif[:16] + b"\x00\x00"
    with Image.open(io.BytesIO(out)) as im:
        assert im.info["dpi"] == (300, 300)
    assert pixels(out) == pixels(source)
    assert "APP0 JFIF" not in names(rewrite(read("DSCN0010.jpg"), None))  # never added


SMALL = read("hopper_gray.jpg")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no SOI"),
        (b"GIF89a" + bytes(20), "no SOI"),
        (b"\xff\xd8", "no EOI"),
        (b"\xff\xd8\xff\xd9", "no SOS"),
        (b"\xff\xd8\xff\xfe\x00\x01\xff\xd9", "length"),
        (b"\xff\xd8\xff\xfe\x00\x10abc", "length"),
        (b"\xff\xd8\xff\xfe\x00", "truncated"),
        (b"\xff\xd8\xff\xda\x00\x02\x00\xff\xd9", "SOF"),
        (b"\xff\xd8\xff\xf7\x00\x02\xff\xd9", "unsupported"),
        (b"\xff\xd8\xff\x50\x00\x02\xff\xd9", "unsupported"),
        (SMALL[:-2], "no EOI"),
        (SMALL[:2] + b"x" + SMALL[2:], "no marker"),
        *[(read(name), reason) for name, reason in REFUSED.items()],
    ],
)
def test_refuses_what_it_does_not_understand(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        rewrite(data, None)
    with pytest.raises(ValueError, match=reason):
        describe(data)


def test_every_truncation_is_refused() -> None:
    for cut in range(len(SMALL)):
        with pytest.raises(ValueError):
            rewrite(SMALL[:cut], None)


SEEDS = [read(n) for n in ("Canon_40D.jpg", "orientation_rectangle.jpg", "multiple_exif.jpg", "pil_sample_cmyk.jpg")]
SEEDS.append(pillow_jpeg(progressive=True, restart_marker_blocks=4, comment=b"x"))
INTERESTING = [0x00, 0xFF, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2, 0xEE, 0xFE, 0xD0, 0xC0, 0xC2, 0x01, 0x02]


def check_contract(data: bytes, exif: bytes | None = None, icc: bytes | None = None, must_accept: bool = False) -> None:
    """ValueError or a well-formed result: what the caller relies on. With `must_accept` (the data's
    marker structure is intact) only a well-formed result: refusing is not a way to pass."""
    try:
        out = rewrite(data, exif, icc)
    except ValueError as error:
        if must_accept:
            pytest.fail(f"refused a JPEG whose structure is intact: {error}")
        return
    assert out.startswith(b"\xff\xd8") and out.endswith(b"\xff\xd9")
    assert not [n for n in names(out) if is_metadata(n) and n not in ("APP1 Exif", "APP2 ICC_PROFILE")]
    if exif is None and icc is None:
        assert rewrite(out, None) == out and len(out) <= len(data)


def mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(buffer) + 1) if rng.random() < 0.5 else rng.randrange(min(len(buffer), 600) + 1)
        kind = rng.randrange(5)
        if kind == 0 and at < len(buffer):
            buffer[at] = rng.choice(INTERESTING) if rng.random() < 0.5 else rng.randrange(256)
        elif kind == 1:
            buffer[at:at] = bytes(rng.choice(INTERESTING) for _ in range(rng.randint(1, 4)))
        elif kind == 2:
            del buffer[at : at + rng.randint(1, 64)]
        elif kind == 3:
            del buffer[at:]
        else:
            buffer += rng.randbytes(rng.randint(1, 32))
    return bytes(buffer)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512), st.booleans())
def test_fuzz_random_bytes(data: bytes, with_soi: bool) -> None:
    check_contract(b"\xff\xd8" + data if with_soi else data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(SEEDS))), st.integers(0, 2**32 - 1), st.booleans())
def test_fuzz_mutated_real_jpegs(seed: int, rng_seed: int, with_metadata: bool) -> None:
    data = mutate(SEEDS[seed], random.Random(rng_seed))
    check_contract(data, *((full_exif(Artist="x"), b"icc") if with_metadata else (None, None)))


def first_scan(data: bytes) -> tuple[int, int]:
    """Where the first scan's entropy-coded data lies, found by walking the segments from SOI (a
    reader of its own: the module under test must not locate what it is tested on)."""
    pos = 2
    while data[pos + 1] != 0xDA:
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    start = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    end = start
    while not (data[end] == 0xFF and data[end + 1] != 0x00 and not 0xD0 <= data[end + 1] <= 0xD7):
        end += 1
    return start, end


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(range(len(SEEDS))), st.lists(st.tuples(st.integers(0), st.integers(0, 0xFE)), max_size=8))
def test_fuzz_scan_data_mutations_are_rewritten(seed: int, changes: list[tuple[int, int]]) -> None:
    """Bytes changed inside the compressed data (never into or next to a 0xFF, which could make a
    marker) leave the structure a rewrite reads intact: each such file must be rewritten."""
    data = bytearray(SEEDS[seed])
    start, end = first_scan(bytes(data))
    for offset, value in changes:
        at = start + offset % (end - start)
        if data[at] != 0xFF and data[at - 1] != 0xFF:
            data[at] = value
    check_contract(bytes(data), must_accept=True)


def test_fuzz_seeds_are_rewritten() -> None:
    for seed in SEEDS:
        check_contract(seed, must_accept=True)
        check_contract(seed, full_exif(Artist="x"), b"icc", must_accept=True)


def test_fuzz_many_mutations() -> None:
    rng = random.Random(20240607)
    for _ in range(3000):
        check_contract(mutate(rng.choice(SEEDS), rng))
