"""`gallery preview`: the contact sheet, checked in headless Chromium and against exiftool."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from pipeline.config import values

from .conftest import fixture_photo, require_tool, run_gallery

NAME = "trip"
HOSTILE = '<script>document.title="pwned"</script><img src=x onerror=alert(1)> & "quotes"'


@pytest.fixture(scope="module")
def sheet(tmp_path_factory: pytest.TempPathFactory):
    """A processed set (a GPS-tagged JPEG, a HEIC, the falcon) and its preview page."""
    work = tmp_path_factory.mktemp("preview")
    photos = work / "photos"
    photos.mkdir()
    for name in ("DSCN0010.jpg", "xiaomi.heic", "prairie_falcon.jpg"):
        shutil.copy2(fixture_photo(name), photos / name)
    (photos / "captions.toml").write_text(
        f'["DSCN0010.jpg"]\nalt = "Houses above a wood"\ncaption = {values.toml_string(HOSTILE)}\n',
        encoding="utf-8",
    )
    completed = run_gallery("preview", photos, "--out", "site/img", "--name", NAME, "--title", "Trip <2024>", cwd=work)
    assert completed.returncode == 0, completed.stderr
    page = Path(work / completed.stdout.strip())
    return work, page


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    binary = require_tool("chromium", "chromium")
    return subprocess.run(
        [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _section(html: str, source: str) -> str:
    return next(part for part in html.split("<section ") if f"· {source}" in part)


def test_page_is_written_beside_the_outputs_in_the_private_folder(sheet, private_cache: Path) -> None:
    work, page = sheet
    assert page.is_relative_to(private_cache) and page.name == f"{NAME}-preview.html"
    assert not (work / "site").exists(), "preview writes nothing into a folder the site publishes"
    html = page.read_text(encoding="utf-8")
    # Every output of the run is on the page, with its pixel size and bytes.
    files = sorted(p for p in page.parent.iterdir() if p.suffix in (".jpeg", ".webp"))
    assert len(files) >= 12
    for file in files:
        with Image.open(file) as image:
            width, height = image.size
        assert f'src="{file.name}" alt="" data-expected="{width}x{height}"' in html
        assert f"{width}x{height} px, {file.stat().st_size / 1000:.1f} kB" in html


def test_texts_are_escaped(sheet) -> None:
    _, page = sheet
    html = page.read_text(encoding="utf-8")
    assert HOSTILE not in html and "<script>document" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;" in html
    assert "<title>Preview: Trip &lt;2024&gt;</title>" in html


def test_metadata_kept_or_removed_agrees_with_exiftool(sheet, exiftool) -> None:
    work, page = sheet
    html = page.read_text(encoding="utf-8")
    source = exiftool(work / "photos/DSCN0010.jpg", args=("-GPSLatitude", "-Model"))[0]
    assert "GPSLatitude" in source
    section = _section(html, "DSCN0010.jpg")
    assert "<tr><th>GPS position</th><td>yes</td><td>no</td></tr>" in section
    assert f"<td>{source['Model']}" in section or source["Model"] in section
    outputs = sorted(p for p in page.parent.glob(f"{NAME}-*") if p.suffix in (".jpeg", ".webp"))
    assert not any("GPSLatitude" in row for row in exiftool(*outputs, args=("-GPSLatitude",)))
    # The falcon has XMP and IPTC in the source and none in the published files.
    falcon = _section(html, "prairie_falcon.jpg")
    assert "<tr><th>XMP</th><td>yes</td><td>no</td></tr>" in falcon
    assert "<tr><th>IPTC</th><td>yes</td><td>no</td></tr>" in falcon
    assert "Prairie falcon female with eggs" in falcon


def test_every_image_decodes_in_chromium(sheet, tmp_path: Path) -> None:
    """The page loads from disk, every image decodes at its stated size, and a screenshot is made."""
    _, page = sheet
    dumped = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    images = re.findall(r"<img [^>]*>", dom)
    assert len(images) >= 15  # 3 photos x (main + variants + thumbnail + placeholder)
    for tag in images:
        expected = re.search(r'data-expected="([^"]*)"', tag)
        decoded = re.search(r'data-decoded="([^"]*)"', tag)
        assert decoded, f"image never finished loading: {tag}"
        assert decoded[1] != "failed", f"image failed to decode: {tag}"
        if expected and expected[1]:
            assert decoded[1] == expected[1], tag
    assert ">not decoded<" not in dom and 'class="decoded bad"' not in dom  # every label was updated, none flagged
    assert dom.count("<script>") == 1, "no text may turn into a script"

    shot = tmp_path / "sheet.png"
    taken = _chromium(f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri(), profile=tmp_path / "profile")
    assert taken.returncode == 0, taken.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1280, 2000)
        low, high = image.convert("L").getextrema()
        assert high - low > 100, "the screenshot shows something"


def test_preview_shows_the_set_under_its_recorded_name_and_title(tmp_path: Path) -> None:
    """A set published with --name and --title is previewed under them when neither is given again: a
    photo added since is rendered under the recorded name, and the page shows the names and the title
    as the test typed them, not after the folder."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy2(fixture_photo("kodak-dc240.jpg"), photos)  # taken in 1999
    published = run_gallery("process", photos, "--out", "img", "--name", "Summer Trip", "--title", "Trip <2024>",
                            "-q", cwd=tmp_path)  # fmt: skip
    assert published.returncode == 0, published.stderr
    shutil.copy2(fixture_photo("DSCN0010.jpg"), photos)  # taken in 2008: the set's second photo
    completed = run_gallery("preview", photos, "--out", "img", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    html = (tmp_path / completed.stdout.strip()).read_text(encoding="utf-8")
    assert "<title>Preview: Trip &lt;2024&gt;</title>" in html and "<h1>Trip &lt;2024&gt;</h1>" in html
    assert "<code>summer-trip-01.jpeg</code>" in html and "<code>summer-trip-02.jpeg</code>" in html
    assert "photos-0" not in html
    renamed = run_gallery("preview", photos, "--out", "img", "--name", "autumn", "--title", "Later", cwd=tmp_path)
    assert renamed.returncode == 0, renamed.stderr
    html = (tmp_path / renamed.stdout.strip()).read_text(encoding="utf-8")
    assert "<title>Preview: Later</title>" in html, "a name and title given again win over the recorded ones"
    assert "<code>autumn-01.jpeg</code>" in html and "summer-trip" not in html


def test_preview_leaves_the_post_alone(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy2(fixture_photo("kodak-dc240.jpg"), photos)
    (tmp_path / "gallery.toml").write_text('[output]\npost_file = "_posts/post.md"\n', encoding="utf-8")
    completed = run_gallery("preview", photos, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / completed.stdout.strip()).is_file()
    assert not (tmp_path / "_posts").exists()
    assert run_gallery("process", photos, "-q", cwd=tmp_path).returncode == 0
    assert (tmp_path / "_posts/post.md").is_file()  # the same config does write it on `process`


def test_the_page_in_the_private_folder_is_its_owners_alone(tmp_path: Path) -> None:
    """The page lists which originals carried GPS positions: its folder is closed to other users,
    whether preview rendered a folder or read a published manifest."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy2(fixture_photo("DSCN0010.jpg"), photos)
    of_folder = run_gallery("preview", photos, "--out", "img", cwd=tmp_path)
    assert run_gallery("process", photos, "--out", "site/img", "--name", "p", "-q", cwd=tmp_path).returncode == 0
    of_manifest = run_gallery("preview", tmp_path / "site/img/p.json", cwd=tmp_path)
    for completed in (of_folder, of_manifest):
        assert completed.returncode == 0, completed.stderr
        folder = (tmp_path / completed.stdout.strip()).parent
        assert folder.stat().st_mode & 0o077 == 0, oct(folder.stat().st_mode)
    assert (tmp_path / of_folder.stdout.strip()).parent != (tmp_path / of_manifest.stdout.strip()).parent


def test_preview_of_a_manifest(sheet) -> None:
    work, _ = sheet
    # Preview publishes no manifest: the one to preview comes from `process`, cached here.
    published = run_gallery("process", work / "photos", "--out", "site/img", "--name", NAME, "-q", cwd=work)
    assert published.returncode == 0, published.stderr
    manifest = work / "site/img" / f"{NAME}.json"
    out = work / "elsewhere.html"
    completed = run_gallery("preview", manifest, "--output", out, cwd=work)
    assert completed.returncode == 0, completed.stderr
    html = out.read_text(encoding="utf-8")
    assert "source not at hand" in html
    assert f'src="site/img/{NAME}-01.jpeg"' in html  # relative to where the page is
    assert "missing" not in html

    broken = work / "broken.json"
    broken.write_text('{"generator": "gallery", "version": 1, "photos": [{"number": "one"}]}', encoding="utf-8")
    refused = run_gallery("preview", broken, cwd=work)
    assert refused.returncode == 2 and "not a gallery manifest" in refused.stderr

    not_ours = work / "other.json"
    not_ours.write_text('{"photos": []}', encoding="utf-8")
    refused = run_gallery("preview", not_ours, cwd=work)
    assert refused.returncode == 2 and "not a gallery manifest" in refused.stderr
