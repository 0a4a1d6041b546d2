"""Where alt/title/caption come from, `gallery captions`, and the alt-text lint, on real photos.

Embedded text is written into copies of fixtures with exiftool (an independent writer), so each
source (XMP, EXIF, IPTC) can be tested on its own.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from PIL import Image

import pipeline
from pipeline.config import values
from pipeline.config.sections import ConfigError
from pipeline.model import Captions, PhotoText
from pipeline.text import captions_file, clean, lint

from .conftest import fixture_photo, require_tool, run_gallery

FALCON_ALT = (
    "Adult female prairie falcon flying from a nest on one of our sedimentary slide walls. "
    "Note the four eggs in the eroded water chute."
)
FALCON_TITLE = "Prairie falcon female with eggs"


def _exiftool_write(path: Path, *assignments: str) -> None:
    binary = require_tool("exiftool", "libimage-exiftool-perl")
    subprocess.run([binary, "-q", "-overwrite_original", *assignments, str(path)], check=True)


def _photos(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy2(fixture_photo(name), folder / name)
    return folder


def _run(folder: Path, tmp_path: Path, **overrides: object) -> pipeline.RunResult:
    return pipeline.process(
        folder, output__dir=str(tmp_path / "out"), output__name="set", text__title="Trade Mission", **overrides
    )


def test_embedded_text_of_real_photos(tmp_path: Path, exiftool) -> None:
    """The falcon's XMP description and title win; blank descriptions (DSCN0010, canon_hdr_NO) do not."""
    folder = _photos(tmp_path, "prairie_falcon.jpg", "DSCN0010.jpg", "canon_hdr_NO.jpg")
    read = {Path(row["SourceFile"]).name: row for row in exiftool(*sorted(folder.iterdir()), args=("-G1",))}
    assert read["prairie_falcon.jpg"]["XMP-dc:Description"] == FALCON_ALT
    assert read["prairie_falcon.jpg"]["XMP-dc:Title"] == FALCON_TITLE
    assert not str(read["DSCN0010.jpg"]["IFD0:ImageDescription"]).strip()
    photos = {p.source.name: p for p in _run(folder, tmp_path).photos}
    falcon = photos["prairie_falcon.jpg"]
    assert (falcon.alt, falcon.title, falcon.caption) == (FALCON_ALT, FALCON_TITLE, FALCON_ALT)
    for name in ("DSCN0010.jpg", "canon_hdr_NO.jpg"):
        assert (photos[name].alt, photos[name].title, photos[name].caption) == ("Trade Mission", "Trade Mission", "")


@pytest.mark.parametrize(
    ("assignments", "alt", "title"),
    [
        # Each embedded source on its own, written by exiftool into a photo that had none.
        (("-XMP-dc:Description=From XMP", "-XMP-dc:Title=XMP title"), "From XMP", "XMP title"),
        (("-EXIF:ImageDescription=From EXIF",), "From EXIF", "Trade Mission"),
        (("-IPTC:Caption-Abstract=From IPTC", "-IPTC:ObjectName=IPTC title"), "From IPTC", "IPTC title"),
        # XMP wins over EXIF and IPTC when they disagree.
        (("-EXIF:ImageDescription=From EXIF", "-XMP-dc:Description=From XMP"), "From XMP", "Trade Mission"),
        # UTF-8 in EXIF (which Pillow reads as Latin-1) comes out right.
        (("-EXIF:ImageDescription=Café in Tōkyō, 会議",), "Café in Tōkyō, 会議", "Trade Mission"),
        # Camera boilerplate and file names are not descriptions: the template wins.
        (("-EXIF:ImageDescription=OLYMPUS DIGITAL CAMERA         ",), "Trade Mission", "Trade Mission"),
        (("-EXIF:ImageDescription=SONY DSC",), "Trade Mission", "Trade Mission"),
        (("-EXIF:ImageDescription=SANYO DIGITAL CAMERA",), "Trade Mission", "Trade Mission"),
        (("-EXIF:ImageDescription=<Digimax i50 MP3, Samsung #1 MP3>",), "Trade Mission", "Trade Mission"),
        (
            ("-XMP-dc:Description=SAMSUNG CAMERA PICTURES", "-XMP-dc:Title=KODAK Digital Still Camera"),
            "Trade Mission",
            "Trade Mission",
        ),
        (("-XMP-dc:Description=IMG_1234.JPG",), "Trade Mission", "Trade Mission"),
    ],
)
def test_each_embedded_source(assignments: tuple[str, ...], alt: str, title: str, tmp_path: Path) -> None:
    folder = _photos(tmp_path, "kodak-dc240.jpg")
    _exiftool_write(folder / "kodak-dc240.jpg", *assignments)
    (photo,) = _run(folder, tmp_path).photos
    assert (photo.alt, photo.title) == (alt, title)


def test_untrusted_embedded_text_is_cleaned(tmp_path: Path) -> None:
    """Control characters, bidi overrides and runaway length never reach the post."""
    folder = _photos(tmp_path, "kodak-dc240.jpg")
    nasty = "Dog\x07 on\u202e a  rug\r\n" + "x" * 5000
    _exiftool_write(folder / "kodak-dc240.jpg", f"-EXIF:ImageDescription={nasty}")
    (photo,) = _run(folder, tmp_path).photos
    assert photo.alt.startswith("Dog on a rug x")
    assert len(photo.alt) <= clean.MAX_TEXT
    assert not any(ord(ch) < 32 or ch == "\u202e" for ch in photo.alt)
    assert "\n" not in photo.markdown


def test_captions_file_wins_and_changes_no_pixels(tmp_path: Path) -> None:
    """A person's captions.toml beats embedded text; editing it re-renders nothing."""
    folder = _photos(tmp_path, "prairie_falcon.jpg", "kodak-dc240.jpg")
    first = _run(folder, tmp_path)
    assert first.processed == 2
    mtimes = {o.path: o.path.stat().st_mtime_ns for p in first.photos for o in p.outputs}
    (folder / "captions.toml").write_text(
        '["prairie_falcon.jpg"]\nalt = "A falcon leaves its nest"\ncaption = ""\n\n'
        '["kodak-dc240.jpg"]\ntitle = "Our dog"\ncaption = "Resting after the reception"\n',
        encoding="utf-8",
    )
    second = _run(folder, tmp_path)
    photos = {p.source.name: p for p in second.photos}
    # Per field: the file's text, else the embedded text, else the template.
    assert (photos["prairie_falcon.jpg"].alt, photos["prairie_falcon.jpg"].title) == (
        "A falcon leaves its nest",
        FALCON_TITLE,
    )
    assert photos["prairie_falcon.jpg"].caption == FALCON_ALT  # empty in the file: falls through
    kodak = photos["kodak-dc240.jpg"]
    assert (kodak.alt, kodak.title, kodak.caption) == ("Trade Mission", "Our dog", "Resting after the reception")
    assert second.processed == 0
    assert {o.path: o.path.stat().st_mtime_ns for p in second.photos for o in p.outputs} == mtimes


def test_malformed_captions_file_names_file_and_line(tmp_path: Path) -> None:
    folder = _photos(tmp_path, "kodak-dc240.jpg")
    captions = folder / "captions.toml"
    captions.write_text('["kodak-dc240.jpg"]\nalt = "fine"\ntitle = unquoted words\n', encoding="utf-8")
    completed = run_gallery("process", folder, "--out", tmp_path / "out", "-q")
    assert completed.returncode == 2
    assert str(captions) in completed.stderr and "line 3" in completed.stderr
    assert completed.stdout == ""
    captions.write_text('["kodak-dc240.jpg"]\nalt = "fine"\nalt_text = "typo"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 1: unknown key 'alt_text'"):
        captions_file.load_captions(folder)
    captions.write_text("[kodak-dc240.jpg]\nalt = 'unquoted name'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r'line 1: put file names in quotes: \["kodak-dc240.jpg"\]'):
        captions_file.load_captions(folder)
    captions.write_text('\n\n["kodak-dc240.jpg"]\nalt = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 3: .* alt must be text"):
        captions_file.load_captions(folder)


def test_captions_command_writes_then_merges(tmp_path: Path) -> None:
    folder = _photos(tmp_path, "prairie_falcon.jpg", "kodak-dc240.jpg", "DSCN0010.jpg")
    completed = run_gallery("captions", folder)
    assert completed.returncode == 0, completed.stderr
    path = folder / "captions.toml"
    assert completed.stdout.strip() == str(path)
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    # One entry per photo, in capture order (kodak 1999, DSCN0010 2008, falcon 2022), pre-filled.
    assert list(document) == ["kodak-dc240.jpg", "DSCN0010.jpg", "prairie_falcon.jpg"]
    assert document["prairie_falcon.jpg"] == {"alt": FALCON_ALT, "title": FALCON_TITLE, "caption": FALCON_ALT}
    assert document["kodak-dc240.jpg"] == {"alt": "", "title": "", "caption": ""}
    assert "2 photos have no alt text yet" in completed.stderr

    # A person edits the file (comments, their own wording, even the falcon's pre-filled text)...
    edited = path.read_text(encoding="utf-8").replace('alt = ""', 'alt = "Our dog on the rug"  # mine', 1)
    edited = edited.replace(FALCON_TITLE, "Falcon, edited by hand")
    path.write_bytes(edited.encode("utf-8"))
    # ...and a new photo with a name TOML must quote arrives.
    shutil.copy2(fixture_photo("canon_hdr_NO.jpg"), folder / 'odd "name" #1.jpg')
    completed = run_gallery("captions", folder)
    assert completed.returncode == 0, completed.stderr
    merged = path.read_bytes()
    assert merged.startswith(edited.encode("utf-8")), "what a person wrote must stay byte for byte"
    document = tomllib.loads(merged.decode("utf-8"))
    assert list(document)[-1] == 'odd "name" #1.jpg'
    assert document["prairie_falcon.jpg"]["title"] == "Falcon, edited by hand"
    assert "1 new entry, 3 kept" in completed.stderr
    # A third run has nothing to add and leaves the file alone.
    before = path.stat().st_mtime_ns
    assert run_gallery("captions", folder).returncode == 0
    assert path.stat().st_mtime_ns == before
    # And process uses it.
    result = _run(folder, tmp_path)
    assert {p.source.name: p.alt for p in result.photos}["kodak-dc240.jpg"] == "Our dog on the rug"


def test_captions_command_refuses_a_malformed_file(tmp_path: Path) -> None:
    folder = _photos(tmp_path, "kodak-dc240.jpg")
    broken = b'["kodak-dc240.jpg"\nalt = "x"\n'
    (folder / "captions.toml").write_bytes(broken)
    completed = run_gallery("captions", folder)
    assert completed.returncode == 2 and "captions.toml" in completed.stderr and "line 1" in completed.stderr
    assert (folder / "captions.toml").read_bytes() == broken


def test_alt_lint_on_stderr(tmp_path: Path) -> None:
    """Each lint fires on the photo it is about, one line each with a hint; stdout stays the block."""
    folder = _photos(tmp_path, "prairie_falcon.jpg", "kodak-dc240.jpg", "DSCN0010.jpg", "canon_hdr_NO.jpg")
    (folder / "captions.toml").write_text(
        '["kodak-dc240.jpg"]\nalt = "IMG_1234"\n\n'
        f'["DSCN0010.jpg"]\nalt = "{"A very long description. " * 8}"\n\n'
        '["gone.jpg"]\nalt = "a photo that was renamed"\n',
        encoding="utf-8",
    )
    completed = run_gallery("process", folder, "--out", tmp_path / "out", "--alt", "")
    assert completed.returncode == 0, completed.stderr
    lint = [line for line in completed.stderr.splitlines() if line.startswith("alt text: ")]
    assert any("kodak-dc240.jpg" in line and "is a file name" in line and "captions.toml" in line for line in lint)
    assert any("DSCN0010.jpg" in line and "over 150" in line and "caption" in line for line in lint)
    assert any("canon_hdr_NO.jpg" in line and "no alt text" in line and "gallery captions" in line for line in lint)
    assert any("gone.jpg" in line and "matches no photo" in line for line in lint)
    assert not any("prairie_falcon.jpg" in line for line in lint), "a real 131-character description is fine"
    assert "alt text" not in completed.stdout and completed.stdout.count("\n") == 4

    same = run_gallery("process", _photos(tmp_path / "b", "kodak-dc240.jpg", "DSCN0010.jpg"), "--out", tmp_path / "o2")
    assert "the same alt text" in same.stderr and "every photo" in same.stderr


def test_library_reports_lint_apart_from_warnings(tmp_path: Path) -> None:
    result = _run(_photos(tmp_path, "kodak-dc240.jpg", "DSCN0010.jpg"), tmp_path)
    assert not result.warnings
    assert [w.message for w in result.alt_warnings if "same alt text" in w.message]


def test_lint_rules() -> None:
    problems = dict(
        lint.lint_alt(
            [("IMG_0001.JPG", "IMG_0001"), ("b.jpg", "DSC01234.JPG"), ("c.jpg", "A dog"), ("d.jpg", "P1010001")]
        )
    )
    assert set(problems) == {"IMG_0001.JPG", "b.jpg", "d.jpg"}
    assert lint.lint_alt([("a.jpg", "Delegates at the Osaka expo, 2024"), ("b.jpg", "Signing in Tokyo")]) == []
    assert lint.lint_alt([("a.jpg", "Room 101"), ("b.jpg", "Gate 3")]) == []


def test_clean_text_and_toml_round_trip() -> None:
    tricky = 'quote " backslash \\ tab\t newline\n del\x7f é 会'
    assert tomllib.loads(f"key = {values.toml_string(tricky)}")["key"] == tricky
    assert clean.clean_text(b"caf\xc3\xa9") == "café"
    assert clean.clean_text(b"caf\xe9") == "café"  # not UTF-8: read as Latin-1
    assert clean.clean_text("a\x00b\u200bc") == "a b c"
    assert clean.clean_text(12) == ""


def test_heic_header_pass_reads_no_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedded text comes from the header pass; a cached re-run does not even open the photos."""
    folder = _photos(tmp_path, "xiaomi.heic", "prairie_falcon.jpg")
    _run(folder, tmp_path)
    opened: list[str] = []
    original = Image.open

    def spy(fp, *args, **kwargs):
        opened.append(str(fp))
        return original(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    again = _run(folder, tmp_path, run__jobs=1)
    assert opened == []
    assert {p.source.name: p.title for p in again.photos}["prairie_falcon.jpg"] == FALCON_TITLE


# Matching captions.toml's entries to photos ---------------------------------------------------


def _named(tmp_path: Path, **files: str) -> Path:
    """A folder of fixture photos under new names: {name in the folder: fixture}."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, fixture in files.items():
        shutil.copy2(fixture_photo(fixture), folder / name)
    return folder


def test_a_skip_entry_in_another_case_leaves_the_photo_out(tmp_path: Path) -> None:
    """`skip = true` for IMG_0000.JPG when the camera wrote IMG_0000.jpg: the photo is not published,
    and a note says which file the entry was taken to mean."""
    folder = _named(tmp_path, **{"IMG_0000.jpg": "kodak-dc240.jpg", "IMG_0001.jpg": "Canon_40D.jpg"})
    (folder / "captions.toml").write_text('["IMG_0000.JPG"]\nskip = true\n', encoding="utf-8")
    out = tmp_path / "out"
    completed = run_gallery("process", folder, "--out", out, "--name", "set")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count("![") == 1
    mains = sorted(out.glob("set-*.jpeg"))
    assert [path.name for path in mains] == ["set-01.jpeg"]
    with Image.open(mains[0]) as image:
        assert image.size == (100, 68), "the photo published is IMG_0001.jpg (Canon_40D, 100x68)"
    notes = [line for line in completed.stderr.splitlines() if "IMG_0000.JPG" in line]
    assert len(notes) == 1, completed.stderr
    assert "captions.toml" in notes[0] and "IMG_0000.jpg" in notes[0]


def test_texts_and_order_match_names_in_another_case_or_unicode_form(tmp_path: Path) -> None:
    """The same matching serves texts and `order`; a name in another Unicode form (typed on a Mac)
    is the same name and needs no note, one in another case gets one."""
    folder = _named(
        tmp_path, **{"IMG_0000.jpg": "kodak-dc240.jpg", "Café.jpg": "Canon_40D.jpg", "dscn.jpg": "DSCN0010.jpg"}
    )
    (folder / "captions.toml").write_text(
        'order = ["DSCN.JPG"]\n\n["img_0000.JPG"]\nalt = "A dog on a rug"\n\n["Cafe\u0301.jpg"]\nalt = "A bird"\n',
        encoding="utf-8",
    )
    completed = run_gallery("process", folder, "--out", tmp_path / "out", "--title", "Trip")
    assert completed.returncode == 0, completed.stderr
    alts = [line.split("](")[0] for line in completed.stdout.splitlines()]
    # `order` first (dscn.jpg), then capture order: kodak (1999), Canon 40D (2008-05).
    assert alts == ["![Trip", "![A dog on a rug", "![A bird"]
    notes = [line for line in completed.stderr.splitlines() if "captions.toml" in line]
    assert len(notes) == 2, completed.stderr
    assert any("'img_0000.JPG'" in note and "IMG_0000.jpg" in note for note in notes)
    assert any("'DSCN.JPG'" in note and "dscn.jpg" in note for note in notes)


def test_match_captions_rules(tmp_path: Path) -> None:
    written = Captions(
        {
            "a.jpg": PhotoText("exact"),
            "A.jpg": PhotoText("exact too"),
            "B.JPG": PhotoText("by case"),
            "b.jpg ": PhotoText("nothing"),
            "C.JPG": PhotoText("ambiguous"),
            "broken.jpg": PhotoText("a file that is no photo of the plan"),
            "D.JPG": PhotoText("by case, twice"),
            "d.JPG": PhotoText(),
            "E.JPG": PhotoText("by case, before the exact one"),
            "e.jpg": PhotoText("exact, later in the file"),
            "gone.jpg": PhotoText(),
        },
        skip=frozenset({"gone.jpg", "B.JPG"}),
        order=("C.JPG", "b.JPG", "missing.jpg"),
    )
    photos = {"a.jpg", "A.jpg", "b.jpg", "c.jpg", "C.jpg", "d.jpg", "e.jpg"}
    matched = captions_file.match_captions(written, tmp_path, photos, {"broken.jpg", "captions.toml"})
    assert matched.texts == {
        "a.jpg": PhotoText("exact"),
        "A.jpg": PhotoText("exact too"),
        "b.jpg": PhotoText("by case"),
        "d.jpg": PhotoText("by case, twice"),
        "e.jpg": PhotoText("exact, later in the file"),
    }
    assert matched.skip == {"b.jpg"}
    assert matched.order == ("b.jpg",)
    notes = [note.message for note in matched.notes]
    assert all(note.path == tmp_path / "captions.toml" for note in matched.notes)
    expected = [
        "'B.JPG' is taken to mean b.jpg",
        "'b.jpg ' matches no photo",
        "'C.JPG' could mean",
        "'D.JPG' is taken to mean d.jpg",
        "'d.JPG' means d.jpg, which has an entry of its own",
        "'E.JPG' means e.jpg, which has an entry of its own",
        "'gone.jpg' matches no photo in the folder (renamed?): nothing was left out (skip = true)",
        "'C.JPG' could mean",
        "'b.JPG' is taken to mean b.jpg",
        "order: 'missing.jpg' matches no photo",
    ]
    assert len(notes) == len(expected), notes
    for note, start in zip(notes, expected, strict=True):
        assert start in note, (note, start)


@pytest.fixture(scope="module")
def mismatched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose captions.toml has a skip entry for a renamed photo and an ambiguous entry (whose
    alt text and skip, were they used for either photo, would show in every command's output)."""
    folder = _named(
        tmp_path_factory.mktemp("mismatched"), **{"a.jpg": "Canon_40D.jpg", "A.jpg": "Fujifilm_FinePix6900ZOOM.jpg"}
    )
    (folder / "captions.toml").write_text(
        '["gone.jpg"]\nskip = true\n\n["A.JPG"]\nalt = "Which one?"\nskip = true\n', encoding="utf-8"
    )
    return folder


@pytest.mark.parametrize(
    "command",
    [
        ("process",),
        ("process", "--dry-run"),
        ("watch", "--once", "--settle", "0"),
        ("review",),
        ("captions", "--dry-run"),
        ("preview",),
    ],
    ids=lambda command: " ".join(command),
)
def test_every_command_reports_entries_that_match_no_photo(
    command: tuple[str, ...], mismatched: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    completed = run_gallery(*command[:1], mismatched, *command[1:], "--out", out)
    assert completed.returncode == 0, completed.stderr
    said = completed.stdout + completed.stderr
    if command[0] == "preview":
        said = html.unescape(Path(completed.stdout.strip()).read_text(encoding="utf-8"))
    assert "captions.toml" in said
    assert "'gone.jpg' matches no photo" in said and "nothing was left out" in said, said
    assert "'A.JPG' could mean" in said and "a.jpg" in said and "A.jpg" in said, said
    # An ambiguous entry is used for neither photo: each command is read where its alt text or its
    # skip would show.
    both = {"A.jpg", "a.jpg"}
    if command[0] in ("process", "watch") and "--dry-run" not in command:
        block = completed.stdout.splitlines()
        assert len(block) == 2 and all(line.startswith("![Photos](") for line in block), block
        manifest = json.loads((out / "photos.json").read_text(encoding="utf-8"))
        assert {p["source"] for p in manifest["photos"]} == both
        assert [p["alt"] for p in manifest["photos"]] == ["Photos", "Photos"]
    elif command[0] == "process":  # --dry-run: its list, and the block --json shows
        assert re.findall(r"^\s+\d+\s+(\S+) -> photos-0\d:", completed.stdout, re.M) == ["A.jpg", "a.jpg"]
        dry = run_gallery("process", mismatched, "--dry-run", "--json", "--out", out)
        assert dry.returncode == 0, dry.stderr
        markup = json.loads(dry.stdout)["markup"].splitlines()
        assert len(markup) == 2 and all(line.startswith("![Photos](") for line in markup), markup
    elif command[0] == "review":  # the table has no alt text; --json says each photo's skip
        listed = run_gallery("review", mismatched, "--json", "--out", out)
        assert listed.returncode == 0, listed.stderr
        photos = json.loads(listed.stdout)["photos"]
        assert {p["source"]: p["skipped"] for p in photos} == {"A.jpg": False, "a.jpg": False}
    elif command[0] == "captions":  # an entry used for a photo would leave it no new entry
        assert completed.stdout.splitlines()[1:] == ["  A.jpg", "  a.jpg"], completed.stdout
    else:  # preview: the page shows each photo's alt text
        sections = re.findall(r"<h2>\d+ · (.+?) · .*?</h2><dl><dt>alt</dt><dd>(.*?)</dd>", said)
        assert sorted(sections) == [("A.jpg", "Photos"), ("a.jpg", "Photos")], sections
    assert "Which one?" not in said
