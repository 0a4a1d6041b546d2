"""Stage 4, emit: turn per-photo results into the markup a post embeds (four styles), and the manifest.

Markup is generated from data only (file names, sizes, texts); no pixels are touched here, so
markup can be tested without images.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .config import Config, ConfigError
from .render import OutputFile

if TYPE_CHECKING:
    from .run import PhotoResult

TEMPLATE_FIELDS = ("title", "number", "count", "filename", "date")
# `<source>` elements of the html style, smallest files first: the browser takes the first it decodes.
PICTURE_SOURCE_FORMATS = ("avif", "webp")
# A lone `<img srcset>` (kramdown style) has no type switch: the most widely decoded format wins.
IMG_SRCSET_FORMATS = ("webp", "jpeg", "avif")


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


_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff]")
_SPACES_AND_BREAKS = re.compile(r"[\t\n\v\f\r \x1c-\x1f\x85\u2028\u2029]+")
_LIQUID = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})")
# User text (alt, title, caption) becomes character references for everything the renderers read
# as syntax. `{` and `}` are among them because Jekyll runs Liquid over a post before Markdown:
# as `&#123;` a `{{` or `{%` in a caption can never execute, and the browser still shows `{`.
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "{": "&#123;", "}": "&#125;"})
# In Markdown the link text is parsed for spans (code, emphasis, math, links, strikethrough) before
# it becomes the alt text; any of them could swallow the closing bracket, so their markers go too
# (`[^` would even turn the image into a footnote reference).
_MARKDOWN_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"} | {c: f"&#{ord(c)};" for c in "{}[]\\`*_$|~^"}
)


def plain_text(text: str) -> str:
    """Text as markup carries it: one line, control characters and unpaired surrogates dropped.

    Runs of spaces and line breaks become one space; other Unicode spaces (no-break, thin) stay.
    """
    return _SPACES_AND_BREAKS.sub(" ", _INVISIBLE.sub("", text)).strip(" ")


def markdown_text(text: str) -> str:
    """Alt or title text inside `![...](url "...")`, rendered literally by kramdown and CommonMark."""
    return plain_text(text).translate(_MARKDOWN_ESCAPES)


def html_text(text: str) -> str:
    """Text for an HTML attribute value or element content, safe from HTML and Liquid alike."""
    return plain_text(text).translate(_HTML_ESCAPES)


def html_url(url: str) -> str:
    """A URL (or srcset) for an HTML attribute: Liquid in the prefix stays live, the rest is escaped."""
    return "".join(
        part if index % 2 else part.translate(_HTML_ESCAPES) for index, part in enumerate(_LIQUID.split(url))
    )


def markdown_line(alt: str, url: str, title: str) -> str:
    """`![alt](url "title")`, the form Jekyll posts use, with user text escaped."""
    title = plain_text(title)
    title_part = f' "{markdown_text(title)}"' if title else ""
    return f"![{markdown_text(alt)}]({url}{title_part})"


def markdown_block(lines: list[str]) -> str:
    """One line per photo and nothing else, ready to paste into a post."""
    return "".join(f"{line}\n" for line in lines)


def markup_block(photos: Sequence[PhotoResult], config: Config) -> str:
    """The post's image block in the configured `[markup] style`, from the photos' data alone."""
    style = config.markup.style
    if style == "grid":
        return grid_block(photos, config)
    if style == "html":
        return "\n".join(picture_block(photo, config, first=index == 0) for index, photo in enumerate(photos))
    lines = []
    for index, photo in enumerate(photos):
        line = markdown_line(photo.alt, output_url(config.output.url_prefix, photo.main.path.name), photo.title)
        if style == "kramdown":
            line += kramdown_attributes(photo, config, first=index == 0)
        lines.append(line)
    return markdown_block(lines)


def kramdown_attributes(photo: PhotoResult, config: Config, first: bool) -> str:
    """A kramdown attribute list that makes the image responsive: `{: srcset=... width=...}`.

    Only one srcset fits an `<img>`, so it takes the variants of the most widely decoded format.
    """
    prefix = config.output.url_prefix
    variants = next((found for fmt in IMG_SRCSET_FORMATS if (found := variant_files(photo, fmt))), [])
    attributes = {"srcset": srcset(variants, prefix), "sizes": config.markup.sizes} if variants else {}
    attributes |= _size_and_loading(photo.main, first)
    return "{: " + " ".join(f'{key}="{value}"' for key, value in attributes.items()) + "}"


def picture_block(photo: PhotoResult, config: Config, first: bool) -> str:
    """`<picture>` with AVIF and WebP sources and the main image as `<img>` fallback, in a `<figure>`."""
    prefix, sizes = config.output.url_prefix, html_text(config.markup.sizes)
    lines = ["<picture>"]
    for fmt in PICTURE_SOURCE_FORMATS:
        if variants := variant_files(photo, fmt):
            candidates = html_url(srcset(variants, prefix))
            lines.append(f'<source type="image/{fmt}" srcset="{candidates}" sizes="{sizes}">')
    jpeg_variants = variant_files(photo, "jpeg")
    responsive = {"srcset": html_url(srcset(jpeg_variants, prefix)), "sizes": sizes} if jpeg_variants else {}
    src = html_url(output_url(prefix, photo.main.path.name))
    lines += [_img_tag(photo, src, responsive | _size_and_loading(photo.main, first)), "</picture>"]
    if config.markup.figure:
        lines = ["<figure>", *lines, *_figcaption(photo), "</figure>"]
    return "".join(f"{line}\n" for line in lines)


def grid_block(photos: Sequence[PhotoResult], config: Config) -> str:
    """A gallery section: one thumbnail per photo, each linking to the full-size image."""
    prefix = config.output.url_prefix
    opening = f'<div class="{html_text(config.markup.grid_class)}">' if config.markup.grid_class else "<div>"
    lines = [opening]
    for index, photo in enumerate(photos):
        thumbnail = next((o for o in photo.outputs if o.role == "thumbnail"), min(photo.outputs, key=lambda o: o.width))
        src = html_url(output_url(prefix, thumbnail.path.name))
        image = _img_tag(photo, src, _size_and_loading(thumbnail, first=index == 0))
        link = f'<a href="{html_url(output_url(prefix, photo.main.path.name))}">{image}</a>'
        lines.append(f"<figure>{link}{''.join(_figcaption(photo))}</figure>" if config.markup.figure else link)
    lines.append("</div>")
    return "".join(f"{line}\n" for line in lines)


def variant_files(photo: PhotoResult, fmt: str) -> list[OutputFile]:
    """The responsive variants of one format, narrowest first (the order `srcset` is read in)."""
    return sorted((o for o in photo.outputs if o.role == "variant" and o.format == fmt), key=lambda o: o.width)


def srcset(files: Sequence[OutputFile], prefix: str) -> str:
    """`url 480w, url 960w`: each candidate with its true pixel width."""
    return ", ".join(f"{output_url(prefix, file.path.name)} {file.width}w" for file in files)


def _size_and_loading(image: OutputFile, first: bool) -> dict[str, str]:
    """Width and height reserve the space before the image arrives; all but the first load lazily."""
    lazy = {} if first else {"loading": "lazy"}
    return {"width": str(image.width), "height": str(image.height), **lazy, "decoding": "async"}


def _img_tag(photo: PhotoResult, src: str, attributes: dict[str, str]) -> str:
    """`<img>` with the photo's alt (always present, even empty) and title (when there is one)."""
    title = html_text(photo.title)
    texts = {"alt": html_text(photo.alt)} | ({"title": title} if title else {})
    return "<img" + "".join(f' {key}="{value}"' for key, value in ({"src": src} | texts | attributes).items()) + ">"


def _figcaption(photo: PhotoResult) -> list[str]:
    caption = html_text(photo.caption)
    return [f"<figcaption>{caption}</figcaption>"] if caption else []


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
