"""What people and scripts expect of a command-line tool: help, versions, dry runs, JSON, quiet and
verbose output, clear errors that leave nothing behind, and portability."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from pipeline.names import output_url

from .conftest import REPO, fixture_folder, fixture_photo, run_gallery, said

COMMANDS = ("process", "watch", "review", "captions", "preview", "edit", "inspect", "audit")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and mtime: what a command that writes nothing leaves alone."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


# ---- help, version, completion ------------------------------------------------------------------


def test_version_and_short_help() -> None:
    completed = run_gallery("--version")
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert completed.returncode == 0 and completed.stdout.strip() == f"gallery {declared}"
    for command in COMMANDS:
        short, long = run_gallery(command, "-h"), run_gallery(command, "--help")
        assert short.returncode == long.returncode == 0
        assert short.stdout == long.stdout and f"Usage: gallery {command}" in short.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_uses_plain_metavars(command: str) -> None:
    text = run_gallery(command, "--help").stdout
    usage = next(line for line in text.splitlines() if line.startswith("Usage:"))
    assert "{" not in usage and usage.split()[-1].isupper(), usage  # PHOTOS, not {PHOTOS}
    for raw in ("<list", "<str>", "<path>", "<file>", "<int>", "<float>"):
        lines = [line for line in text.splitlines() if raw in line]
        assert not lines, f"{raw!r} in help: {lines}"
    if command in ("process", "watch"):
        assert "[default: site/assets/img" in " ".join(text.split()), "the default of --out is shown"


def test_shell_completion_is_offered() -> None:
    text = run_gallery("--help").stdout
    assert "--install-completion" in text and "--show-completion" in text
    completed = run_gallery("--show-completion", "bash")
    assert completed.returncode == 0 and "complete" in completed.stdout and "gallery" in completed.stdout


def test_distribution_name_is_not_taken_by_another_project() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    # `gallery` (2009) and `pipeline` are other projects on the package index.
    assert project["name"] not in ("gallery", "pipeline")
    assert project["scripts"]["gallery"] == "pipeline.cli.app:main"


# ---- dry runs ---------------------------------------------------------------------------------------


def test_process_dry_run_writes_nothing_and_shows_the_plan(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "DSCN0010.jpg", "canon_hdr_NO.jpg")
    out, post = tmp_path / "out", tmp_path / "post.md"
    dry = run_gallery("process", source, "--out", out, "--name", "trip", "--post-file", post, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert not out.exists() and not post.exists()
    assert "nothing was written" in dry.stdout
    assert "trip-01: render" in dry.stdout and "trip-02: render" in dry.stdout
    assert f"post {post}: would be created" in dry.stdout

    assert run_gallery("process", source, "--out", out, "--name", "trip", "--post-file", post, "-q").returncode == 0
    shutil.copy2(fixture_photo("kodak-dc240.jpg"), source / "kodak-dc240.jpg")  # taken in 1999: before the others
    before = snapshot(tmp_path)
    dry = run_gallery("process", source, "--out", out, "--name", "trip", "--post-file", post, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert snapshot(tmp_path) == before, "a dry run changes no file"
    plan = json.loads(dry.stdout)
    by_source = {Path(p["source"]).name: p for p in plan["photos"]}
    assert by_source["kodak-dc240.jpg"]["number"] == 1 and by_source["kodak-dc240.jpg"]["render"]
    shifted = by_source["DSCN0010.jpg"]
    assert not shifted["render"] and {"from": "trip-01.jpeg", "to": "trip-02.jpeg"} in shifted["renames"]
    assert plan["post"] == {"path": str(post), "change": "update"}

    run = run_gallery("process", source, "--out", out, "--name", "trip", "--post-file", post, "--json")
    result = json.loads(run.stdout)
    assert [(Path(p["source"]).name, p["number"]) for p in result["photos"]] == [
        (name, p["number"]) for name, p in sorted(by_source.items(), key=lambda item: item[1]["number"])
    ], "the run does what the dry run said"
    assert result["post"] == "updated"


def test_dry_run_lists_what_prune_would_delete(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg", "DSCN0010.jpg")
    out = tmp_path / "out"
    assert run_gallery("process", source, "--out", out, "--name", "s", "-q").returncode == 0
    (source / "DSCN0010.jpg").unlink()
    dry = run_gallery("process", source, "--out", out, "--name", "s", "--prune", "--dry-run", "--json")
    unneeded = json.loads(dry.stdout)["unneeded"]
    assert unneeded and all(name.startswith("s-02") for name in unneeded)
    assert all((out / name).exists() for name in unneeded)


def test_watch_once_and_captions_dry_runs_write_nothing(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    out = tmp_path / "out"
    watch = run_gallery("watch", source, "--out", out, "--once", "--dry-run")
    assert watch.returncode == 0, watch.stderr
    assert "render" in watch.stdout and not out.exists()
    assert run_gallery("watch", source, "--out", out, "--dry-run").returncode == 2, "--dry-run needs --once"
    captions = run_gallery("captions", source, "--dry-run")
    assert captions.returncode == 0 and "kodak-dc240.jpg" in captions.stdout
    assert not (source / "captions.toml").exists()


# ---- JSON and stdout -------------------------------------------------------------------------------


def test_process_json_and_manifest_on_stdout(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg", "DSCN0010.jpg")
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    out = tmp_path / "out"
    completed = run_gallery("process", source, "--out", out, "--name", "s", "--json")
    assert completed.returncode == 1
    result = json.loads(completed.stdout)
    assert result["ok"] is False and len(result["photos"]) == 2
    assert [Path(f["path"]).name for f in result["failures"]] == ["broken.jpg"]
    for photo in result["photos"]:
        for output in photo["outputs"]:
            assert Path(output["path"]).stat().st_size == output["bytes"]
    (out / "s.json").unlink()
    manifest = run_gallery("process", source, "--out", out, "--name", "s", "--manifest", "-", "-q")
    assert json.loads(manifest.stdout)["name"] == "s" and not (out / "s.json").exists()
    both = run_gallery("process", source, "--out", out, "--json", "--manifest", "-")
    assert both.returncode == 2 and "choose one" in both.stderr


def test_audit_json(tmp_path: Path) -> None:
    site = fixture_folder(tmp_path, "DSCN0010.jpg", folder="site")  # a camera original: GPS and all
    completed = run_gallery("audit", site, "--json")
    assert completed.returncode == 1
    report = json.loads(completed.stdout)
    assert report["checked"] == 1 and report["leaking"] == 1
    assert any(leak.startswith("GPS") for leak in report["files"][0]["leaks"])


def test_inspect_json_has_no_unexplained_values(tmp_path: Path) -> None:
    completed = run_gallery("inspect", fixture_photo("DSCN0010.jpg"), "--json")
    (facts,) = json.loads(completed.stdout)
    assert "text" not in facts and facts["camera"] == "NIKON COOLPIX P6000" and facts["gps"]


# ---- quiet, verbose, errors ----------------------------------------------------------------------


def test_quiet_prints_only_errors_and_verbose_a_line_per_photo(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg", "DSCN0010.jpg")
    quiet = run_gallery("process", source, "--out", tmp_path / "a", "-q")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.count("![") == 2
    verbose = run_gallery("process", source, "--out", tmp_path / "b", "-v")
    lines = [line for line in verbose.stderr.splitlines() if "->" in line]
    assert len(lines) == 2 and "kodak-dc240.jpg" in verbose.stderr and "photos:" in verbose.stderr
    (source / "bad.jpg").write_bytes(b"not a photo")
    quiet = run_gallery("process", source, "--out", tmp_path / "a", "-q")
    assert quiet.returncode == 1 and quiet.stderr.strip().splitlines() == [
        f"error: {source / 'bad.jpg'}: " + ("not an image: its content is not JPEG, PNG, WebP, GIF, TIFF, HEIF or AVIF")
    ]


def test_an_unexpected_error_is_one_line_with_a_hint(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    script = (
        "import sys, pipeline.cli.app as cli\n"
        "def broken(*a, **k): raise RuntimeError('boom')\n"
        "cli.process = broken\n"
        f"sys.argv = ['gallery', 'process', {str(source)!r}, '--out', {str(tmp_path / 'out')!r}]\n"
        "cli.main()\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False)
    assert completed.returncode == 3
    lines = said(completed.stderr.strip())
    assert "Traceback" not in completed.stderr and len(lines) == 1, completed.stderr
    assert "RuntimeError: boom" in completed.stderr and "report" in completed.stderr and str(source) in completed.stderr


def test_empty_or_wrong_folder_says_so_and_leaves_nothing(tmp_path: Path) -> None:
    empty, out = tmp_path / "empty", tmp_path / "out"
    empty.mkdir()
    (empty / "notes.txt").write_text("no photos here")
    completed = run_gallery("process", empty, "--out", out)
    assert completed.returncode == 1 and "no photos in" in completed.stderr and not out.exists()
    captions = run_gallery("captions", empty)
    assert captions.returncode == 1 and "no photos" in captions.stderr
    assert not (empty / "captions.toml").exists()
    a_file = tmp_path / "photo.jpg"
    shutil.copy2(fixture_photo("kodak-dc240.jpg"), a_file)
    usage = run_gallery("process", a_file, "--out", out)
    assert usage.returncode == 2 and "is not a folder" in usage.stderr and not out.exists()


def test_out_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    target = tmp_path / "afile.txt"
    target.write_text("keep me")
    completed = run_gallery("process", source, "--out", target)
    assert completed.returncode == 2 and "is a file, not a folder" in completed.stderr
    assert target.read_text() == "keep me"


def test_post_file_changes_are_said(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    post = tmp_path / "post.md"
    first = run_gallery("process", source, "--out", tmp_path / "out", "--post-file", post)
    assert f"post {post}: created" in first.stderr
    again = run_gallery("process", source, "--out", tmp_path / "out", "--post-file", post)
    assert "post " not in again.stderr, "an unchanged post is not news"
    retitled = run_gallery("process", source, "--out", tmp_path / "out", "--post-file", post, "--title", "New")
    assert f"post {post}: updated" in retitled.stderr


# ---- portability -----------------------------------------------------------------------------------


def test_the_cli_runs_without_fcntl(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    script = (
        "import sys\nsys.modules['fcntl'] = None\n"
        "import pipeline.cli.app as cli\n"
        f"sys.argv = ['gallery', 'process', {str(source)!r}, '--out', {str(tmp_path / 'out')!r}, '--name', 's']\n"
        "cli.main()\n"
    )
    for _ in range(2):  # the second run finds the lock of the first released
        completed = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False
        )
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.startswith("![Photos]({{ site.baseurl }}/assets/img/s-01.jpeg")
        assert "Traceback" not in completed.stderr and "soft file lock" not in completed.stderr


def test_urls_never_carry_a_backslash(tmp_path: Path) -> None:
    assert output_url("assets\\img", "a.jpeg") == "assets/img/a.jpeg"
    assert "\\" not in output_url("/img", "back\\slash.jpeg")
    source = tmp_path / "photos"
    source.mkdir()
    shutil.copy2(fixture_photo("kodak-dc240.jpg"), source / "back\\slash.jpg")
    completed = run_gallery("process", source, "--out", tmp_path / "out", "--markup", "html", "-q")
    assert completed.returncode == 0 and "\\" not in completed.stdout
    manifest = json.loads((tmp_path / "out/photos.json").read_text())
    assert all("\\" not in output["url"] for photo in manifest["photos"] for output in photo["outputs"])


# ---- never recompress what is ready ------------------------------------------------------------


def test_a_photo_ready_for_the_web_is_published_as_it_is(tmp_path: Path, exiftool) -> None:
    source = tmp_path / "photos"
    source.mkdir()
    with Image.open(fixture_photo("kodak-dc240.jpg")) as image:  # a blog export: small, progressive, no EXIF
        image.convert("RGB").save(source / "export.jpg", quality=85, progressive=True, comment=b"exported")
    with Image.open(fixture_photo("Landscape_6.jpg")) as image:
        image.save(source / "turned.jpg", quality=85, exif=image.getexif())  # needs turning: re-encoded
    out = tmp_path / "out"
    completed = run_gallery("process", source, "--out", out, "--name", "s", "--json")
    assert completed.returncode == 0, completed.stderr
    mains = {Path(p["source"]).name: Path(p["outputs"][0]["path"]) for p in json.loads(completed.stdout)["photos"]}
    original, published = source / "export.jpg", mains["export.jpg"]
    assert published.stat().st_size <= original.stat().st_size
    with Image.open(original) as a, Image.open(published) as b:
        assert a.size == b.size and a.tobytes() == b.tobytes(), "the same pixels: no generation lost"
        assert "comment" not in b.info, "metadata is still removed per policy"
    (row,) = exiftool(published)
    assert not any(key.startswith(("EXIF:", "XMP", "IPTC", "File:Comment")) for key in row)
    with Image.open(mains["turned.jpg"]) as turned:
        assert turned.size == (1800, 1200), "a photo that needs turning is re-encoded upright"


def test_passthrough_survives_a_rerun_byte_for_byte(tmp_path: Path) -> None:
    source = tmp_path / "photos"
    source.mkdir()
    with Image.open(fixture_photo("kodak-dc240.jpg")) as image:
        image.convert("RGB").save(source / "export.jpg", quality=70, progressive=True)
    out = tmp_path / "out"
    assert run_gallery("process", source, "--out", out, "--name", "s", "-q").returncode == 0
    first = (out / "s-01.jpeg").read_bytes()
    assert run_gallery("process", source, "--out", out, "--name", "s", "-q", "--force").returncode == 0
    assert (out / "s-01.jpeg").read_bytes() == first
    assert os.path.getsize(out / "s-01.jpeg") <= os.path.getsize(source / "export.jpg")


def test_watch_once_reports_photos_only_and_prints_the_alt_text_lint(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg", "DSCN0010.jpg")
    (source / "captions.toml").write_text('["gone.jpg"]\nalt = "A boat"\n', encoding="utf-8")
    (source / "notes.txt").write_text("not a photo")
    out = tmp_path / "out"
    for expected in ("2 new (DSCN0010.jpg, kodak-dc240.jpg)", "no changes"):
        completed = run_gallery("watch", source, "--out", out, "--once", "--settle", "0")
        assert completed.returncode == 0, completed.stderr
        batch = next(line for line in completed.stderr.splitlines() if " -> " in line)
        assert expected in batch and "captions.toml" not in batch and "notes.txt" not in batch, batch
        assert "alt text: " in completed.stderr and "'gone.jpg' matches no photo" in completed.stderr
    (source / "captions.toml").write_text('["kodak-dc240.jpg"]\nalt = "A red boat"\n', encoding="utf-8")
    changed = run_gallery("watch", source, "--out", out, "--once", "--settle", "0")
    assert changed.returncode == 0 and "![A red boat](" in changed.stdout
