"""The post's markers stay gallery's: text from people never forms or breaks one.

A title (written into the front matter of a new post), alt text or a caption that contains
`<!-- gallery:start -->` or `<!-- gallery:end -->` must leave exactly one block in the post, run
after run. Judged by reading the post back line by line, against the text the test wrote.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import PostError
from pipeline.publish.post import update_post

from .conftest import fixture_photo

START, END = "<!-- gallery:start -->", "<!-- gallery:end -->"
BOTH = f"Before {START} between {END} after"
SMALL = "[variants]\nwidths = [160]\n[image]\nmax_edge = 320\n[thumbnail]\nwidth = 0\n[run]\njobs = 1\n"


def gallery(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


def one_block(post: Path) -> list[str]:
    """The post's lines, after checking it has one start marker line before one end marker line."""
    lines = post.read_text(encoding="utf-8").split("\n")
    starts = [index for index, line in enumerate(lines) if line == START]
    ends = [index for index, line in enumerate(lines) if line == END]
    assert len(starts) == len(ends) == 1 and starts[0] < ends[0], lines
    return lines


@pytest.fixture
def photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy2(fixture_photo("kodak-dc240.jpg"), folder)
    (tmp_path / "small.toml").write_text(SMALL, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return folder


def run(photos: Path, *args: str) -> str:
    code, stderr = gallery("process", photos, "--out", "out", "--post-file", "post.md", "--config", "small.toml", *args)
    assert code == 0, stderr
    return stderr


def test_a_title_with_markers_never_breaks_a_later_run(photos: Path) -> None:
    run(photos, "--title", BOTH)
    lines = one_block(Path("post.md"))
    assert f"title: {json.dumps(BOTH)}" in lines, "the title is in the front matter, as typed"
    run(photos, "--title", BOTH)
    assert one_block(Path("post.md")) == lines, "a second run leaves the post as it was"
    run(photos, "--title", "Another title")
    assert len(one_block(Path("post.md"))) == len(lines)


@pytest.mark.parametrize("style", ["markdown", "html"])
def test_alt_text_and_a_caption_with_markers_never_break_a_later_run(photos: Path, style: str) -> None:
    (photos / "captions.toml").write_text(
        f'["kodak-dc240.jpg"]\nalt = "{START}"\ntitle = "{END}"\ncaption = "{BOTH}"\n', encoding="utf-8"
    )
    Path("post.md").write_text(f"---\ntitle: {START}\n---\n\nMy text mentions {END} in passing.\n")
    for _ in range(2):
        run(photos, "--markup", style)
        lines = one_block(Path("post.md"))
    assert lines[:6] == ["---", f"title: {START}", "---", "", f"My text mentions {END} in passing.", ""]


def test_markers_count_only_as_whole_lines() -> None:
    post = f"Write {START} and {END} around nothing.\n\n  {START}  \nold\n{END}\r\nafter\n"
    assert update_post(post, "new\n", "t", "2024-01-01") == post.replace("old\n", "new\n")
    mentions = f"Use {START} and {END} in a post.\n"
    assert update_post(mentions, "new\n", "t", "2024-01-01") == f"{mentions}\n{START}\nnew\n{END}\n"
    with pytest.raises(PostError, match="marker"):
        update_post("x\n", f"a\n{END}\n", "t", "2024-01-01")
