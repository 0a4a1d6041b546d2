"""The manifest (schema, values, Jekyll data), placeholders, and `--post-file`, on real photos."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

import pipeline
from pipeline.publish.manifest import MANIFEST_VERSION
from pipeline.publish.post import POST_END, POST_START
from pipeline.record.state import load_state, save_state

from .conftest import REPO, fixture_photo, require_tool, run_gallery
from .support.sites import image_files

SMALL_SET = ("kodak-dc240.jpg", "DSCN0010.jpg", "prairie_falcon.jpg")
NAME = "2024-06-23-trade-mission-japan"


def _photos(folder: Path, names: tuple[str, ...] = SMALL_SET) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy2(fixture_photo(name), folder / name)
    return folder


@pytest.fixture(scope="module")
def manifest_run(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("manifest")
    photos = _photos(work / "photos")
    completed = run_gallery(
        "process", photos, "--out", "site/assets/img", "--name", NAME, "--title", "Trade mission",
        "--manifest", "site/_data/{name}.json", "-q", cwd=work,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return work, json.loads((work / "site/_data" / f"{NAME}.json").read_text(encoding="utf-8"))


def _documented_fields(table_heading: str) -> list[str]:
    """Field names of one table in docs/manifest.md, in order."""
    text = (REPO / "docs/manifest.md").read_text(encoding="utf-8")
    section = text.split(table_heading, 1)[1].split("\n\n", 2)[1]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def test_manifest_matches_its_documentation(manifest_run) -> None:
    _, manifest = manifest_run
    assert list(manifest) == _documented_fields("Top level:")
    assert manifest["version"] == MANIFEST_VERSION == 1 and manifest["generator"] == "gallery"
    for photo in manifest["photos"]:
        assert list(photo) == _documented_fields("Each photo:")
        for output in photo["outputs"]:
            assert list(output) == _documented_fields("Each output:")


def test_manifest_values_agree_with_the_files(manifest_run, exiftool) -> None:
    work, manifest = manifest_run
    out = work / "site/assets/img"
    assert [p["source"] for p in manifest["photos"]] == ["kodak-dc240.jpg", "DSCN0010.jpg", "prairie_falcon.jpg"]
    originals = {
        Path(row["SourceFile"]).name: row
        for row in exiftool(*(work / "photos" / p["source"] for p in manifest["photos"]), args=("-DateTimeOriginal",))
    }
    for photo in manifest["photos"]:
        taken = datetime.strptime(originals[photo["source"]]["DateTimeOriginal"], "%Y:%m:%d %H:%M:%S")
        assert datetime.fromisoformat(photo["captured"]).replace(microsecond=0, tzinfo=None) == taken
        files = [out / o["file"] for o in photo["outputs"]]
        read = {Path(row["SourceFile"]).name: row for row in exiftool(*files, args=("-ImageWidth", "-ImageHeight"))}
        for output in photo["outputs"]:
            assert output["bytes"] == (out / output["file"]).stat().st_size
            assert (output["width"], output["height"]) == (
                read[output["file"]]["ImageWidth"],
                read[output["file"]]["ImageHeight"],
            )
            assert output["url"] == "{{ site.baseurl }}/assets/img/" + output["file"]
        assert {o["role"] for o in photo["outputs"]} == {"main", "variant", "thumbnail"}
        assert re.fullmatch(r"#[0-9a-f]{6}", photo["color"])
        prefix = "data:image/webp;base64,"
        assert photo["placeholder"].startswith(prefix)
        with Image.open(io.BytesIO(base64.b64decode(photo["placeholder"][len(prefix) :]))) as tiny:
            assert tiny.format == "WEBP" and max(tiny.size) == 16
            assert abs(tiny.width / tiny.height - photo["width"] / photo["height"]) < 0.15
        assert len(photo["placeholder"]) < 400  # small enough to inline in every page
    assert str(work) not in json.dumps(manifest), "no absolute paths may be published"


def test_jekyll_loops_over_the_manifest(manifest_run) -> None:
    """The manifest in _data/ is what a Liquid template can loop over (real Jekyll build)."""
    jekyll = require_tool("jekyll", "jekyll")
    work, manifest = manifest_run
    site = work / "site"
    (site / "index.html").write_text(
        "---\n---\n"
        f'{{% assign gallery = site.data["{NAME}"] %}}'
        '{% for photo in gallery.photos %}{% assign main = photo.outputs | where: "role", "main" | first %}'
        '<img src="{{ main.file }}" alt="{{ photo.alt | escape }}" width="{{ main.width }}" '
        'style="background: {{ photo.color }}">\n{% endfor %}',
        encoding="utf-8",
    )
    built = subprocess.run(
        [jekyll, "build", "-q", "-s", str(site), "-d", str(work / "_site")], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    page = (work / "_site/index.html").read_text(encoding="utf-8")
    for photo in manifest["photos"]:
        main = next(o for o in photo["outputs"] if o["role"] == "main")
        assert f'<img src="{main["file"]}" alt="{photo["alt"]}" width="{main["width"]}" ' in page
        assert f'style="background: {photo["color"]}"' in page
    # Of gallery's output folder, Jekyll publishes the images and nothing else (no record, under any name).
    published = {path.name for path in (work / "_site/assets/img").iterdir()}
    assert published == image_files(site / "assets/img")


def test_dominant_colour_of_a_known_image(tmp_path: Path) -> None:
    """Synthetic: 70 % one red, 30 % one blue; the dominant colour is that red, not their average."""
    folder = tmp_path / "photos"
    folder.mkdir()
    image = Image.new("RGB", (600, 400), (30, 60, 200))
    image.paste((200, 30, 30), (0, 0, 420, 400))
    image.save(folder / "two-colours.png")
    (photo,) = pipeline.process(folder, output__dir=str(tmp_path / "out")).photos
    red, green, blue = (int(photo.color[i : i + 2], 16) for i in (1, 3, 5))
    assert abs(red - 200) <= 6 and abs(green - 30) <= 6 and abs(blue - 30) <= 6


def test_placeholders_survive_cached_runs_and_old_state(tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos", ("kodak-dc240.jpg",))
    out = tmp_path / "out"
    first = pipeline.process(folder, output__dir=str(out))
    (photo,) = first.photos
    mtimes = {o.path: o.path.stat().st_mtime_ns for o in photo.outputs}
    (cached,) = pipeline.process(folder, output__dir=str(out)).photos
    assert not cached.rendered and (cached.color, cached.placeholder) == (photo.color, photo.placeholder)
    # A state record written before placeholders existed: they are made again, no file is rewritten.
    state = load_state(out)
    state.placeholders.clear()
    save_state(out, state)
    (again,) = pipeline.process(folder, output__dir=str(out)).photos
    assert (again.color, again.placeholder) == (photo.color, photo.placeholder)
    assert {o.path: o.path.stat().st_mtime_ns for o in again.outputs} == mtimes
    assert load_state(out).placeholders


def test_manifest_is_not_rewritten_when_unchanged(tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos", ("kodak-dc240.jpg",))
    pipeline.process(folder, output__dir=str(tmp_path / "out"), output__name="set")
    manifest = tmp_path / "out/set.json"
    before = manifest.stat().st_mtime_ns
    pipeline.process(folder, output__dir=str(tmp_path / "out"), output__name="set")
    assert manifest.stat().st_mtime_ns == before
    pipeline.process(folder, output__dir=str(tmp_path / "out"), output__name="set", text__title="Renamed")
    assert json.loads(manifest.read_text(encoding="utf-8"))["title"] == "Renamed"


# --post-file --------------------------------------------------------------------------------

POST_HEAD = '---\r\nlayout: post\r\ntitle: "Handelsmission \u2013 Japon 日本"\r\n---\r\n\r\nIntro with ümlauts.\r\n'
POST_TAIL = "\r\nAfter the photos: thanks to everyone. 🎌\r\nNo newline at the end"


def _process_into_post(folder: Path, post: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_gallery("process", folder, "--out", tmp_path / "out", "--name", NAME, "--post-file", post, "-q", *extra)


def test_post_file_keeps_every_other_byte(tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos")
    post = tmp_path / "_posts" / f"{NAME}.md"
    post.parent.mkdir()
    original = ("\ufeff" + POST_HEAD + POST_TAIL).encode("utf-8")
    post.write_bytes(original)
    completed = _process_into_post(folder, post, tmp_path, "--title", "First")
    assert completed.returncode == 0, completed.stderr
    appended = post.read_bytes()
    assert appended.startswith(original), "markers are appended; nothing before them changes"
    section = appended[len(original) :].decode("utf-8")
    block_crlf = completed.stdout.replace("\n", "\r\n")
    assert section == f"\r\n\r\n{POST_START}\r\n{block_crlf}{POST_END}\r\n"

    # Move the markers into the middle, with text after them, then re-run with another title.
    head = ("\ufeff" + POST_HEAD).encode("utf-8")
    tail = POST_TAIL.encode("utf-8")
    post.write_bytes(head + f"{POST_START}\r\nold block\r\n{POST_END}".encode() + tail)
    completed = _process_into_post(folder, post, tmp_path, "--title", "Second")
    assert completed.returncode == 0, completed.stderr
    updated = post.read_bytes()
    assert updated.startswith(head) and updated.endswith(tail)
    middle = updated[len(head) : len(updated) - len(tail)].decode("utf-8")
    assert middle == f"{POST_START}\r\n{completed.stdout.replace(chr(10), chr(13) + chr(10))}{POST_END}"
    assert "Second" in middle and "old block" not in middle

    # Nothing changed: the file is not even rewritten.
    before = post.stat().st_mtime_ns
    assert _process_into_post(folder, post, tmp_path, "--title", "Second").returncode == 0
    assert post.stat().st_mtime_ns == before and post.read_bytes() == updated


def test_post_file_created_with_front_matter(tmp_path: Path) -> None:
    """A new post is a valid Jekyll post: built by Jekyll, its title and date and images come out."""
    jekyll = require_tool("jekyll", "jekyll")
    site = tmp_path / "site"
    (site / "_layouts").mkdir(parents=True)
    (site / "_layouts/post.html").write_text(
        "<h1>{{ page.title }}</h1><time>{{ page.date | date: '%Y-%m-%d' }}</time>{{ content }}", encoding="utf-8"
    )
    folder = _photos(tmp_path / "photos", ("kodak-dc240.jpg", "DSCN0010.jpg"))
    post = site / "_posts" / f"{NAME}.md"
    title = 'Trade mission: "Japan" 2024 \u2013 day #1'
    completed = run_gallery(
        "process", folder, "--out", site / "assets/img", "--name", NAME, "--title", title,
        "--url-prefix", "/assets/img", "--post-file", post, "-q",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    text = post.read_text(encoding="utf-8")
    assert text.startswith("---\nlayout: post\n") and f"{POST_START}\n{completed.stdout}{POST_END}\n" in text
    built = subprocess.run(
        [jekyll, "build", "-q", "-s", str(site), "-d", str(site / "_site")], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    page = next((site / "_site").rglob("trade-mission-japan.html")).read_text(encoding="utf-8")
    assert f"<h1>{title}</h1>" in page
    assert "<time>2024-06-23</time>" in page
    assert page.count('<img src="/assets/img/2024-06-23-trade-mission-japan-0') == 2


@pytest.mark.parametrize(
    "body",
    [
        f"text\n{POST_START}\nno end marker\n",
        f"text\n{POST_END}\n{POST_START}\n",
        f"{POST_START}\na\n{POST_END}\n{POST_START}\nb\n{POST_END}\n",
    ],
    ids=["start-only", "end-before-start", "two-blocks"],
)
def test_unclear_markers_leave_the_post_alone(body: str, tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos", ("kodak-dc240.jpg",))
    post = tmp_path / "post.md"
    post.write_text(body, encoding="utf-8")
    completed = _process_into_post(folder, post, tmp_path)
    assert completed.returncode == 1
    assert f"error: {post}: has " in completed.stderr and "left unchanged" in completed.stderr
    assert completed.stdout.startswith("![")  # the block is still printed
    assert post.read_text(encoding="utf-8") == body


def test_post_file_symlink_and_permissions_kept(tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos", ("kodak-dc240.jpg",))
    real = tmp_path / "drafts" / "post.md"
    real.parent.mkdir()
    real.write_text("Hello\n", encoding="utf-8")
    os.chmod(real, 0o640)
    (tmp_path / "_config.yml").write_text("title: Site\n", encoding="utf-8")  # the link stays inside this site
    link = tmp_path / "post.md"
    link.symlink_to(real)
    assert _process_into_post(folder, link, tmp_path).returncode == 0
    assert link.is_symlink() and POST_START in real.read_text(encoding="utf-8")
    assert real.read_text(encoding="utf-8").startswith("Hello\n\n")
    assert (real.stat().st_mode & 0o777) == 0o640


def test_post_file_not_utf8_is_refused(tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos", ("kodak-dc240.jpg",))
    post = tmp_path / "post.md"
    post.write_bytes("Caf\xe9\n".encode("latin-1"))
    completed = _process_into_post(folder, post, tmp_path)
    assert completed.returncode == 1 and "not UTF-8" in completed.stderr
    assert post.read_bytes() == b"Caf\xe9\n"


def test_site_builder_example(tmp_path: Path) -> None:
    """The documented Python site builder runs and its page links every file it names."""
    folder = _photos(tmp_path / "photos", ("kodak-dc240.jpg", "prairie_falcon.jpg"))
    site = tmp_path / "public"
    completed = subprocess.run(
        [sys.executable, str(REPO / "examples/site_builder.py"), str(folder), str(site)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    page = (site / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'(?:src|srcset)="([^"]+)"', page)
    files = {part.split()[0] for source in sources for part in source.split(", ")}
    assert page.count("<img ") == 2
    assert files and all((site / name).is_file() for name in files)
    assert "Prairie falcon female with eggs" in page
