"""The post: the block goes between the gallery markers of a Markdown file, every other byte left alone."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from ..errors import PostError
from ..files import make_folder, write_text_if_changed
from ..model import PhotoResult, Problem
from ..names import display_path
from ..sites import folders, presets

POST_START = "<!-- gallery:start -->"
POST_END = "<!-- gallery:end -->"
_PLAIN = re.compile(r"[\w][\w./-]*")  # a layout name that YAML reads as itself without quotes


def update_post(
    existing: str | None, block: str, title: str, date: str, site: str = "", layout: str | None = None
) -> str:
    """Put the block between the gallery markers of a post, leaving every other byte as it was.

    Markers are appended when the post has none; a missing post is created with front matter in
    the form its site builder reads: title, date (never a draft), and LAYOUT, which None leaves to
    the builder's usual (Jekyll's `layout: post`; Hugo and Eleventy none) and "" turns off.
    The block takes the post's line ends (CRLF or LF). A marker counts only as a whole line (spaces
    around it allowed), so a title, alt text or caption that merely mentions one is text, never a
    marker; the block itself never holds a marker line (markup escapes `<`). Unpaired or repeated
    markers raise PostError: guessing could delete a person's text.
    """
    if marker_lines(block.split("\n"), POST_START) or marker_lines(block.split("\n"), POST_END):
        raise PostError("the block holds a line that reads as a gallery marker")
    if existing is None:
        layout = ("post" if site in ("", "jekyll") else "") if layout is None else layout
        named = f"layout: {layout if _PLAIN.fullmatch(layout) else json.dumps(layout)}\n" if layout else ""
        front = f"---\n{named}title: {json.dumps(title, ensure_ascii=False)}\ndate: {date}\n---\n\n"
        return f"{front}{POST_START}\n{block}{POST_END}\n"
    newline = "\r\n" if "\r\n" in existing.split("\n", 1)[0] + "\n" else "\n"
    block = block.replace("\n", newline)
    lines = existing.split("\n")  # each keeps its "\r" in a CRLF post
    starts, ends = marker_lines(lines, POST_START), marker_lines(lines, POST_END)
    if not starts and not ends:
        separator = "" if existing.endswith("\n") or not existing else newline
        return f"{existing}{separator}{newline}{POST_START}{newline}{block}{POST_END}{newline}"
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise PostError(
            f"has {len(starts)} {POST_START} and {len(ends)} {POST_END} marker line(s); "
            "expected one start before one end"
        )
    return "\n".join(lines[: starts[0] + 1]) + "\n" + block + "\n".join(lines[ends[0] :])


def marker_lines(lines: list[str], marker: str) -> list[int]:
    """Indexes of the lines that are `marker` alone (spaces, tabs and a CR around it allowed)."""
    return [index for index, line in enumerate(lines) if line.strip(" \t\r") == marker]


def write_post(
    post: Path, block: str, title: str, name: str, photos: Sequence[PhotoResult], site: str = ""
) -> tuple[str, list[Problem]]:
    """Put the block into the post between the gallery markers; create the post if it is missing.

    The post is read and written as bytes-exact UTF-8 text (CRLF line ends, a BOM and text after
    the markers survive). A symbolic link is followed, so the linked file is updated, but only to a
    file inside the site or the working folder (`check_post_file`); the file's permissions are
    kept. The caller decides whether an empty block is meant (every photo skipped) or a reason to
    leave the post alone (every photo failed).
    Returns what happened to it ("created", "updated", "unchanged", or "" when left alone) and problems.
    """
    try:
        check_post_file(post)
    except PostError as error:
        return "", [Problem(post, f"{error}; the post was left unchanged")]
    target = post.resolve()
    try:
        existing = target.read_bytes().decode("utf-8") if target.exists() else None
    except UnicodeDecodeError:
        return "", [Problem(post, "is not UTF-8 text; the post was left unchanged")]
    except OSError as error:
        return "", [Problem(post, f"cannot be read: {error.strerror or error}")]
    try:
        layout = presets.new_post_layout(site, post) if existing is None else None
        text = update_post(existing, block, title, post_date(post, name, photos), site, layout)
    except PostError as error:
        return "", [Problem(post, f"{error}; the post was left unchanged")]
    try:
        mode = target.stat().st_mode if existing is not None else None
        make_folder(target.parent)
        changed = write_text_if_changed(target, text)
        if changed and mode is not None:
            os.chmod(target, mode)
    except OSError as error:
        return "", [Problem(post, f"cannot be written: {error.strerror or error}")]
    return ("created" if existing is None else "updated" if changed else "unchanged"), []


def check_post_file(post: Path) -> None:
    """Refuse a post that is a symbolic link to a file outside the site's root (the nearest site
    above the post's folder) and the working folder, or that is not a regular file.

    A link inside the site is how some people share one post between two places; a link out of it
    could have been planted to make gallery append to any file its user may write. Run before
    anything is written (run.py) and again at the write, raising PostError with the reason.
    """
    target = post.resolve()
    if post.is_symlink():
        found = folders.find_root(post.parent)
        roots = [Path.cwd().resolve(), *([found[1]] if found else [])]
        if not any(target.is_relative_to(root) for root in roots):
            where = "the working folder" + (f" and the site at {display_path(found[1])}" if found else "")
            raise PostError(
                f"post {display_path(post)} is a symbolic link to {display_path(target)}, outside {where}: "
                "gallery follows a post's link only to a file inside the site or the working folder"
            )
    if target.exists() and not target.is_file():
        raise PostError(f"post {display_path(post)} is not a regular file")


def post_date(post: Path, name: str, photos: Sequence[PhotoResult]) -> str:
    """The post's date: from a `YYYY-MM-DD-` post file name (as Jekyll reads it) or set name,
    else the first capture date, else today."""
    for stem in (post.name, name):
        try:
            return date.fromisoformat(stem[:10]).isoformat()
        except ValueError:
            continue
    captured = next((photo.captured for photo in photos if photo.captured), None)
    return (captured.date() if captured else date.today()).isoformat()
