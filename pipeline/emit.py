"""Stage 4, emit: turn per-photo results into the Markdown a post embeds.

Markup is generated from data only (file names, sizes, texts); no pixels are touched here, so
markup can be tested without images.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any
from urllib.parse import quote

from .config import Config, ConfigError

TEMPLATE_FIELDS = ("title", "number", "count", "filename", "date")


def slugify(text: str) -> str:
    """A file-name stem safe in URLs and on every file system: `Trade Mission 2024` -> `trade-mission-2024`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:100].rstrip("-") or "photos"


def default_title(folder_name: str) -> str:
    """`trade_mission-japan` -> `Trade mission japan`: a readable title when none is configured."""
    words = re.sub(r"[_\-]+", " ", folder_name).strip()
    return words[:1].upper() + words[1:] if words else "Photos"


def fill_template(template: str, **values: object) -> str:
    """Fill `{title}`-style placeholders; a misspelt placeholder is a config error, not a crash."""
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"text template {template!r} is invalid ({error}); placeholders: "
            + ", ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
        ) from None


def output_url(prefix: str, filename: str) -> str:
    """Join the configured prefix (may hold Liquid such as `{{ site.baseurl }}`) and a file name."""
    return f"{prefix.rstrip('/')}/{quote(filename)}"


def _escape_markdown_text(text: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", " ".join(text.split()))


def _escape_markdown_title(text: str) -> str:
    return re.sub(r'([\\"])', r"\\\1", " ".join(text.split()))


def markdown_line(alt: str, url: str, title: str) -> str:
    """`![alt](url "title")`, the form Jekyll posts use, with Markdown-special characters escaped."""
    title_part = f' "{_escape_markdown_title(title)}"' if title else ""
    return f"![{_escape_markdown_text(alt)}]({url}{title_part})"


def markdown_block(lines: list[str]) -> str:
    """One line per photo and nothing else, ready to paste into a post."""
    return "".join(f"{line}\n" for line in lines)


def photo_texts(config: Config, title: str, number: int, count: int, filename: str, date: str) -> tuple[str, str]:
    """Alt and title text of one photo from the configured templates."""
    values = {"title": title, "number": number, "count": count, "filename": filename, "date": date}
    return fill_template(config.text.alt, **values), fill_template(config.text.title_template, **values)


MANIFEST_VERSION = 1
POST_START = "<!-- gallery:start -->"
POST_END = "<!-- gallery:end -->"


def manifest(photos: list[dict[str, Any]], title: str, name: str) -> str:
    """The run as JSON for site builders (`_data/` in Jekyll); the schema is in docs/manifest.md.

    Only file names, never absolute paths, leave the machine: the manifest is published.
    """
    document = {"version": MANIFEST_VERSION, "generator": "gallery", "title": title, "name": name, "photos": photos}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class PostError(ValueError):
    """The post's gallery markers are not one start followed by one end: where the block goes is unclear."""


def update_post(existing: str | None, block: str, title: str, date: str) -> str:
    """Put the block between the gallery markers of a post, leaving every other byte as it was.

    Markers are appended when the post has none; a missing post is created with front matter.
    The block takes the post's line ends (CRLF or LF). Unpaired or repeated markers raise
    PostError: guessing could delete a person's text.
    """
    if existing is None:
        front = f"---\nlayout: post\ntitle: {json.dumps(title, ensure_ascii=False)}\ndate: {date}\n---\n\n"
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
