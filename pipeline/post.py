"""The post: the block goes between the gallery markers of a Markdown file, every other byte left alone."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from . import sites
from .errors import PostError
from .files import write_text_if_changed
from .model import PhotoResult, Problem

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
    The block takes the post's line ends (CRLF or LF). Unpaired or repeated markers raise
    PostError: guessing could delete a person's text.
    """
    if existing is None:
        layout = ("post" if site in ("", "jekyll") else "") if layout is None else layout
        named = f"layout: {layout if _PLAIN.fullmatch(layout) else json.dumps(layout)}\n" if layout else ""
        front = f"---\n{named}title: {json.dumps(title, ensure_ascii=False)}\ndate: {date}\n---\n\n"
        return f"{front}{POST_START}\n{block}{POST_END}\n"
    newline = "\r\n" if "\r\n" in existing.split("\n", 1)[0] + "\n" else "\n"
    section = f"{POST_START}{newline}{block.replace(chr(10), newline)}{POST_END}"
    starts, ends = existing.count(POST_START), existing.count(POST_END)
    if starts == ends == 0:
        separator = "" if existing.endswith("\n") or not existing else newline
        return f"{existing}{separator}{newline}{section}{newline}"
    start, end = existing.find(POST_START), existing.find(POST_END)
    if starts != 1 or ends != 1 or end < start:
        raise PostError(f"has {starts} {POST_START} and {ends} {POST_END} marker(s); expected one start before one end")
    return existing[:start] + section + existing[end + len(POST_END) :]


def write_post(
    post: Path, block: str, title: str, name: str, photos: Sequence[PhotoResult], site: str = ""
) -> tuple[str, list[Problem]]:
    """Put the block into the post between the gallery markers; create the post if it is missing.

    The post is read and written as bytes-exact UTF-8 text (CRLF line ends, a BOM and text after
    the markers survive). A symbolic link is followed, so the linked file is updated, and the
    file's permissions are kept. A run without photos leaves the post alone rather than emptying it.
    Returns what happened to it ("created", "updated", "unchanged", or "" when left alone) and problems.
    """
    if not photos:
        return "", []
    target = post.resolve()
    try:
        existing = target.read_bytes().decode("utf-8") if target.exists() else None
    except UnicodeDecodeError:
        return "", [Problem(post, "is not UTF-8 text; the post was left unchanged")]
    except OSError as error:
        return "", [Problem(post, f"cannot be read: {error.strerror or error}")]
    try:
        layout = sites.new_post_layout(site, post) if existing is None else None
        text = update_post(existing, block, title, post_date(post, name, photos), site, layout)
    except PostError as error:
        return "", [Problem(post, f"{error}; the post was left unchanged")]
    try:
        mode = target.stat().st_mode if existing is not None else None
        target.parent.mkdir(parents=True, exist_ok=True)
        changed = write_text_if_changed(target, text)
        if changed and mode is not None:
            os.chmod(target, mode)
    except OSError as error:
        return "", [Problem(post, f"cannot be written: {error.strerror or error}")]
    return ("created" if existing is None else "updated" if changed else "unchanged"), []


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
