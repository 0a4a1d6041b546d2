"""Regression tests for reported bugs, one test (or a few) per bug, each named after what it pins.

They drive gallery through its command line (a subprocess, or typer's CliRunner where the test
needs the same process id) and judge it by the files it writes, read back with Pillow or exiftool.
Internal function names are not used on purpose: `pipeline/` is being restructured, and these
tests must keep meaning the same thing across that.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from .conftest import REPO, fixture_folder, fixture_photo, require_tool, run_gallery
from .test_watch import Watch

PIPELINE = REPO / "pipeline"


# helpers -------------------------------------------------------------------------------------


def published(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every non-dot file of an output folder with its bytes and mtime."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.iterdir()) if not p.name.startswith(".")}


def manifest(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text(encoding="utf-8"))


def image_outputs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.suffix in (".jpeg", ".webp", ".avif") and not p.name.startswith("."))


# 1. preview re-derives the set's name from the folder and renames the published files ----------


def process_trip(tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    source = fixture_folder(tmp_path, "DSCN0010.jpg", "kodak-dc240.jpg")
    out = tmp_path / "out"
    done = run_gallery("process", source, "--out", out, "--name", "2024-06-23-trip", "--title", "Trip", "-q", *extra)
    assert done.returncode == 0, done.stderr
    return source, out


def test_preview_without_name_keeps_published_files_and_recorded_name(tmp_path: Path) -> None:
    source, out = process_trip(tmp_path)
    before = published(out)
    mains = sorted(name for name in before if re.fullmatch(r"2024-06-23-trip-\d\d\.jpeg", name))
    assert len(mains) == 2, sorted(before)

    shown = run_gallery("preview", source, "--out", out)

    assert shown.returncode == 0, shown.stderr
    after = published(out)
    assert sorted(after) == sorted(before), "preview renamed, added or deleted published files (or a manifest)"
    changed = [name for name in before if after[name] != before[name]]
    assert not changed, f"preview rewrote published files: {changed}"
    page = Path(shown.stdout.strip().splitlines()[-1])
    text = page.read_text(encoding="utf-8")
    for name in mains:
        assert name in text, f"the page does not show {name}, the set's recorded name"
    assert "photos-01" not in text


def test_preview_leaves_post_and_the_files_it_links_to(tmp_path: Path) -> None:
    post = tmp_path / "_posts" / "2024-06-23-trip.md"
    source, out = process_trip(tmp_path, "--post-file", str(post))
    text = post.read_bytes()

    shown = run_gallery("preview", source, "--out", out)

    assert shown.returncode == 0, shown.stderr
    assert post.read_bytes() == text, "preview changed the post"
    linked = re.findall(r"/([^/()\s\"]+\.jpeg)", text.decode("utf-8"))
    assert linked, text
    missing = [name for name in linked if not (out / name).is_file()]
    assert not missing, f"the post links to files preview removed: {missing}; folder holds {sorted(published(out))}"
    listed = {o["file"] for p in manifest(out, "2024-06-23-trip")["photos"] for o in p["outputs"]}
    assert {n for n in listed if not (out / n).is_file()} == set(), "the manifest lists files that are gone"


# 2. preview of a folder whose name is not UTF-8 ------------------------------------------------


def test_preview_of_folder_with_non_utf8_name(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "DSCN0010.jpg", folder=os.fsdecode(b"caf\xe9-photos"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "pipeline"]
    processed = subprocess.run(
        [*command, "process", source, "--out", tmp_path / "a", "-q"], capture_output=True, env=env
    )
    assert processed.returncode == 0, processed.stderr.decode("utf-8", "replace")

    shown = subprocess.run(
        [*command, "preview", source, "--out", tmp_path / "b"], capture_output=True, env=env, timeout=60
    )

    stderr = shown.stderr.decode("utf-8", "replace")
    assert shown.returncode == 0, stderr[-2000:]
    assert b"Traceback" not in shown.stderr
    page = Path(os.fsdecode(shown.stdout.strip().splitlines()[-1]))
    assert page.is_file() and page.stat().st_size > 0


# 3. watch with an output folder that cannot be used ------------------------------------------


def test_watch_once_with_unusable_output_folder_exits_2_without_traceback(tmp_path: Path) -> None:
    uploads = fixture_folder(tmp_path, "DSCN0010.jpg", folder="uploads")

    done = run_gallery("watch", uploads, "--out", "/proc/x", "--once", "--settle", "0.1", timeout=60)

    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    assert any("/proc/x" in line for line in done.stderr.splitlines()), done.stderr
    assert done.returncode == 2, done.stderr


def drop_in(folder: Path, name: str) -> None:
    """Copy a fixture in under a temporary name and rename it, as a sync client does."""
    temp = folder / f"{name}.part"
    shutil.copy(fixture_photo(name), temp)
    os.replace(temp, folder / name)


def test_watch_survives_output_folder_breaking_and_recovers(tmp_path: Path) -> None:
    (tmp_path / "uploads").mkdir()
    watch = Watch(tmp_path)
    uploads, out = watch.uploads, watch.out
    try:
        drop_in(uploads, "DSCN0010.jpg")
        watch.wait_while_running(lambda: "DSCN0010.jpg" in watch.sources(), "the first batch")
        watch.wait_while_running(lambda: watch.batches(), "the first batch's log line")

        shutil.rmtree(out)
        out.write_text("not a folder any more\n")
        mark = len(watch.lines)
        drop_in(uploads, "kodak-dc240.jpg")
        watch.wait_while_running(
            lambda: any(str(out) in line for line in watch.lines[mark:]), "a line about the broken folder"
        )
        time.sleep(0.5)
        assert watch.process.poll() is None, f"watch died:\n{watch.log}"

        out.unlink()
        drop_in(uploads, "Canon_40D.jpg")
        watch.wait_while_running(
            lambda: "Canon_40D.jpg" in watch.sources(), "the next batch after the folder came back"
        )
        files = watch.listed()
        assert files and all((out / name).is_file() for name in files), sorted(p.name for p in out.iterdir())

        code, _ = watch.stop(lambda process: os.killpg(process.pid, signal.SIGINT))
        assert code == 0, watch.log
        assert "Traceback" not in watch.log, watch.log
    finally:
        watch.kill()


# 4. the text writer follows a planted link -------------------------------------------------


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_opened: list[tuple[str, int]] | None = None  # (path, flags) of each open for writing while recording


def _record_open(event: str, args: tuple) -> None:
    if event == "open" and _opened is not None and isinstance(args[0], (str, bytes, os.PathLike)):
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        if flags & _WRITE_FLAGS:
            _opened.append((os.fsdecode(args[0]), flags))


sys.addaudithook(_record_open)  # audit hooks cannot be removed: this one records only inside `_writes`


def _writes(folder: Path, run) -> set[tuple[str, int]]:
    """The names in FOLDER that `run()` opens for writing, with the flags of each open."""
    global _opened
    _opened = []
    try:
        run()
        return {(Path(path).name, flags) for path, flags in _opened if Path(path).parent == folder}
    finally:
        _opened = None


def test_captions_temp_file_is_created_exclusively_not_through_a_planted_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever names the captions writer opens (found by watching its opens, not assumed), it opens
    each exclusively or without following a link; and links planted at all of them before a second
    run, in this process (the same pid, so the same temp names), are never written through."""
    from typer.testing import CliRunner

    from pipeline.cli.app import app

    monkeypatch.chdir(tmp_path)

    def captions(source: Path) -> None:
        result = CliRunner().invoke(app, ["captions", str(source)])
        assert result.exit_code == 0, (result.output, result.exception)

    first = fixture_folder(tmp_path, "DSCN0010.jpg", "kodak-dc240.jpg", folder="first")
    opened = _writes(first, lambda: captions(first))
    assert opened, "the recording saw no file opened for writing"
    unguarded = [name for name, flags in opened if not flags & (os.O_EXCL | getattr(os, "O_NOFOLLOW", 0))]
    assert not unguarded, f"opened for writing, following any link planted there: {unguarded}"

    source = fixture_folder(tmp_path, "DSCN0010.jpg", "kodak-dc240.jpg")
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file\n")
    for name in {name for name, _ in opened} - {"captions.toml"}:
        (source / name).symlink_to(victim)
    captions(source)
    assert victim.read_text() == "someone else's file\n", "captions wrote through a planted link"
    captions_file = source / "captions.toml"
    assert not captions_file.is_symlink(), "captions.toml was replaced by a planted link"
    assert captions_file.is_file()
    entries = tomllib.loads(captions_file.read_text(encoding="utf-8"))
    assert set(entries) == {"DSCN0010.jpg", "kodak-dc240.jpg"}


# 5. text and GPS in JPEG extended XMP -------------------------------------------------------

KITE = "A red kite over the dunes"
_XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
_EXTENDED_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\x00"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def xmp_packet(attributes: str = "", body: str = "") -> bytes:
    """An XMP packet with one rdf:Description; `attributes` holds its namespaces and simple properties."""
    return (
        "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>"
        f"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='{_RDF}'>"
        f"<rdf:Description rdf:about='' {attributes}>{body}</rdf:Description>"
        "</rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
    ).encode()


def description(prefix: str = "dc") -> tuple[str, str]:
    """(namespace declaration, dc:description element) with DC bound to `prefix`."""
    return (
        f"xmlns:{prefix}='http://purl.org/dc/elements/1.1/'",
        f"<{prefix}:description><rdf:Alt><rdf:li xml:lang='x-default'>{KITE}</rdf:li></rdf:Alt></{prefix}:description>",
    )


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_xmp(standard_attributes: str = "", standard_body: str = "", extended: bytes | None = None) -> bytes:
    """A small JPEG (Pillow) with APP1 XMP segments put in by hand after its JFIF APP0.

    With `extended`, the standard packet names the extended one by its GUID (xmpNote:HasExtendedXMP,
    the MD5 of the extended packet) and the extended packet follows in APP1 chunks: signature, GUID,
    4-byte total length, 4-byte offset, data.
    """
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (190, 60, 40)).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    assert data[2:4] == b"\xff\xe0", "Pillow writes JFIF APP0 first"
    after_app0 = 4 + struct.unpack(">H", data[4:6])[0]
    segments = []
    if extended is None:
        segments.append(_app1(_XMP_SIGNATURE + xmp_packet(standard_attributes, standard_body)))
    else:
        guid = hashlib.md5(extended).hexdigest().upper()
        note = f"xmlns:xmpNote='http://ns.adobe.com/xmp/note/' xmpNote:HasExtendedXMP='{guid}'"
        segments.append(_app1(_XMP_SIGNATURE + xmp_packet(f"{note} {standard_attributes}", standard_body)))
        chunk = 40000
        for offset in range(0, len(extended), chunk):
            header = _EXTENDED_SIGNATURE + guid.encode() + struct.pack(">II", len(extended), offset)
            segments.append(_app1(header + extended[offset : offset + chunk]))
    return data[:after_app0] + b"".join(segments) + data[after_app0:]


def extended_packet(attributes: str = "", body: str = "") -> bytes:
    """The extended part: a bare x:xmpmeta, no xpacket wrapper (as the XMP spec says)."""
    return (
        f"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='{_RDF}'>"
        f"<rdf:Description rdf:about='' {attributes}>{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def alt_of_processed(tmp_path: Path, photo: bytes) -> str:
    source = tmp_path / "photos"
    source.mkdir()
    (source / "kite.jpg").write_bytes(photo)
    done = run_gallery("process", source, "--out", tmp_path / "out", "--name", "kite", "--title", "Birds", "-q")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_extended_xmp_description_becomes_alt_text(tmp_path: Path, exiftool) -> None:
    photo = jpeg_with_xmp(extended=extended_packet(*description()))
    (tmp_path / "check.jpg").write_bytes(photo)
    [row] = exiftool(tmp_path / "check.jpg")
    assert row.get("XMP-dc:Description") == KITE, "exiftool reads the description from the extended packet"

    block = alt_of_processed(tmp_path, photo)

    assert block.startswith(f"![{KITE}]("), block


@pytest.mark.parametrize("packet", ["standard", "extended"])
def test_xmp_dc_bound_to_unusual_prefix_is_read(tmp_path: Path, exiftool, packet: str) -> None:
    namespace, element = description("d")
    if packet == "standard":
        photo = jpeg_with_xmp(namespace, element)
    else:
        photo = jpeg_with_xmp(extended=extended_packet(namespace, element))
    (tmp_path / "check.jpg").write_bytes(photo)
    [row] = exiftool(tmp_path / "check.jpg")
    assert row.get("XMP-dc:Description") == KITE

    block = alt_of_processed(tmp_path, photo)

    assert block.startswith(f"![{KITE}]("), block


def test_audit_flags_gps_only_in_extended_xmp(tmp_path: Path, exiftool) -> None:
    gps = "xmlns:exif='http://ns.adobe.com/exif/1.0/' exif:GPSLatitude='43,27.6N' exif:GPSLongitude='11,53.1E'"
    images = tmp_path / "site" / "assets" / "img"
    images.mkdir(parents=True)
    leaking = images / "trip-01.jpeg"
    leaking.write_bytes(jpeg_with_xmp(extended=extended_packet(gps)))
    [row] = exiftool(leaking)
    assert "XMP-exif:GPSLatitude" in row, "exiftool reads the position from the extended packet"

    done = run_gallery("audit", tmp_path / "site")

    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = [line for line in done.stdout.splitlines() if "trip-01.jpeg" in line]
    assert lines and "GPS" in lines[0], done.stdout


# 6. captions numbers photos as process does --------------------------------------------------


def test_captions_numbering_matches_process_with_duplicate_file(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "DSCN0010.jpg", "kodak-dc240.jpg", "canon_hdr_NO.jpg")
    shutil.copy(source / "DSCN0010.jpg", source / "DSCN0010-copy.jpg")  # same bytes, second name
    done = run_gallery("process", source, "--out", tmp_path / "out", "--name", "set", "-q")
    assert done.returncode == 0, done.stderr
    photos = manifest(tmp_path / "out", "set")["photos"]
    numbered = {photo["source"]: (photo["number"], len(photos)) for photo in photos}

    captions = run_gallery("captions", source)

    assert captions.returncode == 0, captions.stderr
    notes = {}
    for line in (source / "captions.toml").read_text(encoding="utf-8").splitlines():
        found = re.match(r'\["(.+)"\]\s*#\s*photo (\d+) of (\d+)', line)
        if found:
            notes[found[1]] = (int(found[2]), int(found[3]))
    assert {name: notes.get(name) for name in numbered} == numbered


# 7. AVIF outputs re-serialise EXIF ----------------------------------------------------------

# Tags whose value legitimately differs per output: sizes, and Orientation (AVIF carries none, by design).
SIZE_DEPENDENT = {"ExifImageWidth", "ExifImageHeight", "RelatedImageWidth", "RelatedImageHeight", "Orientation"}


def validate_warnings(exiftool_binary: str, path: Path) -> list[str]:
    done = subprocess.run(
        [exiftool_binary, "-validate", "-warning", "-a", "-s", str(path)], capture_output=True, text=True, check=False
    )
    return [line.split(":", 1)[1].strip() for line in done.stdout.splitlines() if line.startswith("Warning")]


def test_avif_outputs_keep_exif_types_and_values_as_jpeg(tmp_path: Path, exiftool) -> None:
    binary = require_tool("exiftool", "libimage-exiftool-perl")
    source = fixture_folder(tmp_path, "Canon_40D.jpg", "canon_hdr_NO.jpg")
    out = tmp_path / "out"
    done = run_gallery(
        *("process", source, "--out", out, "--name", "k", "--metadata", "keep"),
        *("-f", "avif", "-f", "webp", "-w", "480", "-q"),
    )
    assert done.returncode == 0, done.stderr

    problems = []
    for photo in manifest(out, "k")["photos"]:
        files = {o["file"]: o["format"] for o in photo["outputs"]}
        main = next(out / o["file"] for o in photo["outputs"] if o["role"] == "main")
        allowed = len(validate_warnings(binary, main))
        [main_exif] = exiftool(main, args=("-a", "-G1", "-EXIF:all"))
        assert len(main_exif) > 10, main_exif
        for name, fmt in files.items():
            warned = validate_warnings(binary, out / name)
            if len(warned) > allowed:
                problems.append(f"{name}: {len(warned)} validate warnings, the JPEG has {allowed}: {warned}")
            if fmt != "avif":
                continue
            [exif] = exiftool(out / name, args=("-a", "-G1", "-EXIF:all"))
            differ = sorted(
                key
                for key in set(exif) | set(main_exif)
                if key != "SourceFile"
                and key.split(":")[-1] not in SIZE_DEPENDENT
                and exif.get(key) != main_exif.get(key)
            )
            if differ:
                problems.append(f"{name}: EXIF differs from {main.name}: {differ}")
    assert not problems, "\n".join(problems)


# 8. metadata.owners enforced when publishing -------------------------------------------------


def test_owner_name_never_published_under_keep(tmp_path: Path, exiftool) -> None:
    source = fixture_folder(tmp_path, "prairie_falcon.jpg")
    [row] = exiftool(source / "prairie_falcon.jpg")
    assert row.get("IFD0:Artist") == "NPS / Gavin Emmons"
    config = tmp_path / "gallery.toml"
    config.write_text('[metadata]\npolicy = "keep"\nowners = ["Gavin Emmons"]\n', encoding="utf-8")
    out = tmp_path / "out"

    done = run_gallery("process", source, "--out", out, "--name", "falcon", "--config", config)

    assert done.returncode == 0, done.stderr
    outputs = image_outputs(out)
    assert outputs
    leaking = [
        f"{Path(reading['SourceFile']).name} {key}={value!r}"
        for reading in exiftool(*outputs)
        for key, value in reading.items()
        if key != "SourceFile" and "gavin emmons" in str(value).casefold()
    ]
    leaking += [f"{p.name} (raw bytes)" for p in outputs if b"gavin emmons" in p.read_bytes().lower()]
    assert not leaking, leaking
    assert any("prairie_falcon.jpg" in line and "Artist" in line for line in done.stderr.splitlines()), done.stderr


# 9. keep publishes tags that identify a person or a device ------------------------------------

IDENTIFYING = {"OwnerName": "Jane Q. Photographer", "ImageUniqueID": "9f3c2a41d7e64b0c8a55e1f0b2c3d4e5"}
IDENTIFYING["HostComputer"] = "Janes-MacBook-Pro"


def test_keep_drops_owner_unique_id_and_host_computer(tmp_path: Path, exiftool) -> None:
    binary = require_tool("exiftool", "libimage-exiftool-perl")
    source = fixture_folder(tmp_path, "DSCN0010.jpg")
    photo = source / "DSCN0010.jpg"
    written = subprocess.run(
        [binary, "-overwrite_original", *(f"-{tag}={value}" for tag, value in IDENTIFYING.items()), str(photo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    [row] = exiftool(photo, args=("-a", "-s"))
    assert {tag: row.get(tag) for tag in IDENTIFYING} == IDENTIFYING
    out = tmp_path / "out"

    done = run_gallery(
        *("process", source, "--out", out, "--name", "p", "--metadata", "keep", "-f", "webp", "-f", "avif", "-q")
    )

    assert done.returncode == 0, done.stderr
    outputs = image_outputs(out)
    assert {p.suffix for p in outputs} == {".jpeg", ".webp", ".avif"}
    problems = []
    for path, reading in zip(outputs, exiftool(*outputs, args=("-a", "-G1", "-s")), strict=True):
        assert reading.get("IFD0:Make"), f"{path.name}: keep should keep the camera's EXIF"
        for key, value in reading.items():
            if key.split(":")[-1] in (*IDENTIFYING, "CameraOwnerName") or any(
                str(planted) in str(value) for planted in IDENTIFYING.values()
            ):
                problems.append(f"{path.name}: {key}={value!r}")
        with Image.open(path) as image:
            size = image.size
        for key, index in (("ExifIFD:ExifImageWidth", 0), ("ExifIFD:ExifImageHeight", 1)):
            if key in reading and reading[key] != size[index]:
                problems.append(f"{path.name}: {key}={reading[key]} but the file is {size[0]}x{size[1]}")
    assert not problems, "\n".join(problems)
