"""`gallery inspect` and `gallery audit` on real files, checked against exiftool's reading.

Leaks are planted with exiftool (an independent writer) in every format audit covers, and the
whole shared corpus goes through `gallery process` to show that nothing leaks by default.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import FIXTURES, run_gallery
from .test_metadata import privacy_leaks

PHOTOS = [FIXTURES / "event/DSCN0010.jpg", FIXTURES / "heic/IMG_2682.heic", FIXTURES / "cameras/prairie_falcon.jpg"]


def test_inspect_json_agrees_with_exiftool(exiftool) -> None:
    completed = run_gallery("inspect", "--json", *PHOTOS)
    assert completed.returncode == 0, completed.stderr
    facts = {Path(entry["path"]).name: entry for entry in json.loads(completed.stdout)}
    for row in exiftool(*PHOTOS, args=("-G1", "-a", "-s")):
        entry = facts[Path(row["SourceFile"]).name]
        make, model = row["IFD0:Make"], row["IFD0:Model"]  # "Canon", "Canon EOS R5": the make is said once
        assert entry["camera"] == (model if model.startswith(make) else f"{make} {model}")
        assert (entry["width"], entry["height"]) == tuple(map(int, row["Composite:ImageSize"].split()))
        assert entry["captured"][:19] == row["ExifIFD:DateTimeOriginal"].replace(":", "-", 2)
        assert entry["icc_profile"] == row.get("ICC_Profile:ProfileDescription")
        if row["File:FileType"] == "JPEG":  # exiftool lists no tag for a HEIF's thumbnail item
            assert entry["thumbnail"] == bool(row.get("IFD1:ThumbnailLength"))
        if "GPS:GPSLatitude" in row:
            latitude, north, longitude, east = entry["location"].replace(",", "").split()
            assert abs(float(latitude) - row["GPS:GPSLatitude"]) < 1e-4 and north == row["GPS:GPSLatitudeRef"]
            assert abs(float(longitude) - row["GPS:GPSLongitude"]) < 1e-4 and east == row["GPS:GPSLongitudeRef"]
        else:
            assert entry["location"] is None
        xmp_serials = sorted(
            f"aux:{key.split(':')[1]}" for key in row if key.startswith("XMP-aux:") and "Serial" in key
        )
        assert sorted(entry["xmp_serials"]) == xmp_serials


def test_inspect_table_is_readable() -> None:
    completed = run_gallery("inspect", FIXTURES / "event/DSCN0010.jpg", FIXTURES / "heic/IMG_2682.heic")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].endswith("DSCN0010.jpg")
    assert "  camera        NIKON COOLPIX P6000" in lines
    assert "  GPS           yes: 43.46745 N, 11.88513 E" in lines
    assert "  ICC profile   Display P3" in lines


def plant(exiftool_binary: str, path: Path, *assignments: str) -> None:
    subprocess.run([exiftool_binary, "-q", "-overwrite_original", *assignments, str(path)], check=True)


def test_audit_finds_leaks_in_every_format(tmp_path: Path, exiftool) -> None:
    binary = shutil.which("exiftool")
    assert binary
    site = tmp_path / "_site"
    clean = tmp_path / "clean"
    result = run_gallery("process", FIXTURES / "cameras", "--out", clean, "--name", "c", "-w", "64", "-f", "avif", "-q")
    assert result.returncode == 0, result.stderr
    site.mkdir()
    shutil.copy(clean / "c-01.jpeg", site / "gps.jpeg")
    shutil.copy(clean / "c-01-0064w.avif", site / "gps.avif")
    shutil.copy(clean / "c-01-thumb.webp", site / "serial.webp")
    shutil.copy(FIXTURES / "edge/pil123p.png", site / "owner.png")
    shutil.copy(FIXTURES / "edge/chi.gif", site / "city.gif")
    shutil.copy(FIXTURES / "edge/tiff_strip_cmyk_jpeg.tif", site / "thumbnail.tif")  # has a Photoshop thumbnail
    shutil.copy(clean / "c-02.jpeg", site / "clean.jpeg")
    (site / "notes.txt").write_text("not an image")
    gps = ("-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E")
    plant(binary, site / "gps.jpeg", *gps)
    plant(binary, site / "gps.avif", *gps)
    plant(binary, site / "serial.webp", "-SerialNumber=ABC123")
    plant(binary, site / "owner.png", "-Artist=Jane Doe")
    plant(binary, site / "city.gif", "-XMP-photoshop:City=Paris")
    # exiftool agrees that each planted file now carries what it should, and the clean one nothing.
    rows = {Path(row["SourceFile"]).name: row for row in exiftool(*sorted(site.iterdir()), args=("-a", "-G0:1", "-s"))}
    assert all(privacy_leaks(rows[name]) for name in rows if name not in ("owner.png", "clean.jpeg", "notes.txt"))
    assert not privacy_leaks(rows["clean.jpeg"])

    completed = run_gallery("audit", site, "--owner", "jane doe")
    assert completed.returncode == 1
    reported = dict(line.split(": ", 1) for line in completed.stdout.splitlines())
    assert {Path(path).name for path in reported} == {
        "gps.jpeg",
        "gps.avif",
        "serial.webp",
        "owner.png",
        "city.gif",
        "thumbnail.tif",
    }
    by_name = {Path(path).name: leak for path, leak in reported.items()}
    assert by_name["gps.jpeg"].startswith("GPS: 48.85840 N, 2.29450 E")
    assert by_name["gps.avif"].startswith("GPS: 48.85840 N, 2.29450 E")
    assert "BodySerialNumber=ABC123" in by_name["serial.webp"]
    assert "owner name 'jane doe'" in by_name["owner.png"]
    assert "XMP location: photoshop:City" in by_name["city.gif"]
    assert "embedded thumbnail" in by_name["thumbnail.tif"]
    assert "7 images checked, 6 leaking" in completed.stderr


def test_audit_passes_a_default_run_and_fails_the_originals(tmp_path: Path) -> None:
    out = tmp_path / "site"
    completed = run_gallery("process", FIXTURES / "event", "--out", out, "-w", "64", "-q")
    assert completed.returncode == 0, completed.stderr
    audited = run_gallery("audit", out)
    assert audited.returncode == 0 and audited.stdout == "", audited.stdout
    assert "0 leaking" in audited.stderr
    originals = run_gallery("audit", FIXTURES / "event")
    assert originals.returncode == 1
    assert "DSCN0010.jpg: GPS: 43.46745 N, 11.88513 E" in originals.stdout


CORPUS_FOLDERS = ["public/orientation", "public/cameras", "public/heic", "public/edge", "bench"]


def undecodable_in_inventory(corpus: Path) -> dict[str, dict[str, str]]:
    """{folder: {file: Pillow's result}} for every file of the corpus INVENTORY.md's table; "ok" when it decodes."""
    table = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in (corpus / "INVENTORY.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| ")
    ]
    header = next(row for row in table if row[:2] == ["folder", "name"])
    folder, name, pillow = (header.index(column) for column in ("folder", "name", "Pillow default"))
    files: dict[str, dict[str, str]] = {}
    for row in table:
        if len(row) == len(header) and row is not header:
            files.setdefault(row[folder], {})[row[name]] = row[pillow]
    return files


@pytest.mark.corpus
@pytest.mark.parametrize("policy", ["strip", "keep"])
def test_whole_corpus_never_leaks(policy: str, corpus: Path, tmp_path: Path, exiftool) -> None:
    """A run over every corpus folder: exiftool finds no GPS, serial, thumbnail or XMP in any output.

    With "strip" it finds no metadata at all; with "keep" only the EXIF that keep promises. Exactly
    the photos that the corpus INVENTORY says Pillow cannot decode fail, each on its own; every
    other file comes out.
    """
    import pipeline

    inventory = undecodable_in_inventory(corpus)
    outputs: list[Path] = []
    for folder in CORPUS_FOLDERS:
        listed = inventory[folder]
        on_disk = {p.name for p in (corpus / folder).iterdir() if p.name != "SOURCES.md"}
        assert on_disk == set(listed), f"{folder}: INVENTORY.md does not list the folder's files"
        # Pillow's stock settings (the inventory's column) and gallery's differ in two ways, neither of
        # which changes this set on the corpus: gallery refuses more than limits.max_pixels (250 MP;
        # Pillow 179 MP, and the inventory treats a DecompressionBombWarning over 89 MP as a failure),
        # and the only file over either, decompression_bomb.gif (4,365 MP), fails both; neither loads
        # truncated images. So gallery's failures must be exactly the inventory's.
        expected = {name for name, pillow in listed.items() if pillow != "ok"}
        result = pipeline.process(
            corpus / folder,
            output__dir=str(tmp_path / folder.replace("/", "-")),
            image__max_edge=96,
            variants__widths=(48,),
            variants__formats=("webp", "avif"),
            metadata__policy=policy,
            progress=False,
        )
        failed = {failure.path.name for failure in result.failures}
        assert failed == expected, (folder, [str(failure) for failure in result.failures])
        assert all(failure.path.parent == corpus / folder and failure.message for failure in result.failures)
        came_out = {photo.source.name for photo in result.photos}
        assert came_out == set(listed) - expected, f"{folder}: every decodable file comes out"
        assert all({o.format for o in photo.outputs} == {"jpeg", "webp", "avif"} for photo in result.photos)
        outputs += sorted(output.path for photo in result.photos for output in photo.outputs)
    rows = exiftool(*outputs, args=("-a", "-G0:1", "-s"))
    assert len(rows) == len(outputs)
    for row in rows:
        assert not privacy_leaks(row), (row["SourceFile"], privacy_leaks(row))
        if policy == "strip":
            assert not [key for key in row if key.split(":")[0] in ("EXIF", "XMP", "IPTC", "MakerNotes")]
    for out in sorted(tmp_path.iterdir()):
        audited = run_gallery("audit", out)
        assert audited.returncode == 0, audited.stdout
