"""Nothing gallery writes goes through a symbolic link it did not make.

A link planted at any name gallery writes in the output folder (images, manifest, state record,
journal, lock, holder's pid, preview page) or at the photos' captions.toml points to a file outside;
after the command that writes that name, the file outside must be byte-identical and the name must
no longer be a link. Each name is tried on a first run (the link is there before anything) and on
a re-run, with the link's target holding exactly the bytes gallery would write or keep there (what
a writer that compares before writing, or a cache that trusts a file's size, would take for its own).
The post may be written through a link only into the site or the working folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app

from .conftest import fixture_photo, said

NAME = "trip"
VICTIM = b"# someone else's file\n"  # valid TOML too: captions.toml reads it before writing
SMALL = "[variants]\nwidths = [160]\n[image]\nmax_edge = 320\n[thumbnail]\nwidth = 0\n[run]\njobs = 1\n"


def gallery(*args: str | Path) -> tuple[int, str]:
    """The command line, in this process: its exit code and stderr."""
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A photo folder with one photo, small output settings, the working folder at tmp_path."""
    (tmp_path / "photos").mkdir()
    shutil.copy2(fixture_photo("kodak-dc240.jpg"), tmp_path / "photos" / "kodak-dc240.jpg")
    (tmp_path / "small.toml").write_text(SMALL, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def process(work: Path) -> tuple[int, str]:
    return gallery("process", work / "photos", "--out", work / "out", "--name", NAME, "--config", work / "small.toml")


def preview(work: Path) -> tuple[int, str]:
    return gallery("preview", work / "photos", "--out", work / "out", "--name", NAME, "--output",
                   work / "out" / "page.html", "--config", work / "small.toml")  # fmt: skip


def captions(work: Path) -> tuple[int, str]:
    return gallery("captions", work / "photos", "--out", work / "out", "--config", work / "small.toml")


# (folder, name, the command that writes it); every name gallery writes, with its writer
WRITTEN = {
    "image": ("out", f"{NAME}-01.jpeg", process),
    "variant": ("out", f"{NAME}-01-0160w.webp", process),
    "manifest": ("out", f"{NAME}.json", process),
    "state record": ("out", ".gallery-state.json", process),
    "journal": ("out", ".gallery-state.journal", process),
    "lock": ("out", ".gallery.lock", process),
    "holder's pid": ("out", ".gallery.pid", process),
    "preview page": ("out", "page.html", preview),
    "captions.toml": ("photos", "captions.toml", captions),
}


def plant(link: Path, victim: Path, content: bytes) -> None:
    victim.write_bytes(content)
    link.unlink(missing_ok=True)
    link.symlink_to(victim)


def assert_not_written_through(link: Path, victim: Path, content: bytes, code: int, stderr: str) -> None:
    assert code == 0, stderr
    assert victim.read_bytes() == content, f"{link.name}: gallery wrote through the planted link"
    assert not link.is_symlink(), f"{link.name}: the planted link is still there (published, or trusted)"


@pytest.mark.parametrize("what", list(WRITTEN))
def test_a_link_planted_before_the_first_run_is_never_written_through(work: Path, what: str) -> None:
    folder, name, command = WRITTEN[what]
    (work / folder).mkdir(exist_ok=True)
    link, victim = work / folder / name, work / "outside.txt"
    plant(link, victim, VICTIM)
    assert_not_written_through(link, victim, VICTIM, *command(work))


@pytest.mark.parametrize("what", list(WRITTEN))
def test_a_link_to_the_very_bytes_gallery_would_write_is_replaced(work: Path, what: str) -> None:
    folder, name, command = WRITTEN[what]
    code, stderr = command(work)
    assert code == 0, stderr
    link, victim = work / folder / name, work / "outside.txt"
    content = link.read_bytes() if link.is_file() else VICTIM  # the journal and the pid are gone after a run
    plant(link, victim, content)
    assert_not_written_through(link, victim, content, *command(work))
    if link.exists():
        assert link.read_bytes() == content, "the regular file in its place holds what the link showed"


# --- the post ---------------------------------------------------------------------------------------------


def test_a_post_linked_outside_the_site_and_the_working_folder_is_refused(work: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "notes.md"
    elsewhere.write_bytes(VICTIM)
    (work / "post.md").symlink_to(elsewhere)
    code, stderr = gallery("process", work / "photos", "--out", work / "out", "--config", work / "small.toml",
                           "--post-file", "post.md")  # fmt: skip
    assert code == 2, stderr
    assert elsewhere.read_bytes() == VICTIM
    assert len(said(stderr)) == 1 and "symbolic link" in stderr and str(elsewhere) in stderr, stderr
    assert not (work / "out").exists(), "refused before the run: nothing created or locked"


def test_a_post_linked_inside_the_working_folder_is_followed(work: Path) -> None:
    (work / "drafts").mkdir()
    (work / "drafts" / "trip.md").write_text("Hello\n", encoding="utf-8")
    (work / "post.md").symlink_to(work / "drafts" / "trip.md")
    code, stderr = gallery("process", work / "photos", "--out", work / "out", "--config", work / "small.toml",
                           "--post-file", "post.md")  # fmt: skip
    assert code == 0, stderr
    assert (work / "post.md").is_symlink()
    text = (work / "drafts" / "trip.md").read_text(encoding="utf-8")
    assert text.startswith("Hello\n\n<!-- gallery:start -->\n![") and text.endswith("<!-- gallery:end -->\n")
