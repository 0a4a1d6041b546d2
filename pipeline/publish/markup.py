"""Stage 4, markup: the post's image block, in one of several styles, from the photos' data alone.

No pixels are touched here and no image library is imported, so markup is tested without images.
Each style is one function registered in STYLES; user text (alt, title, caption) is escaped for
every renderer that reads it: Liquid (Jekyll runs it over a post first), kramdown/CommonMark, HTML.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from .. import formats
from ..config.sections import Config, MarkupSettings
from ..model import OutputFile, PhotoResult
from ..names import output_url

# `<source>` elements of the html style, smallest files first: the browser takes the first it decodes.
PICTURE_SOURCE_FORMATS = sorted(
    (f for f in formats.FORMATS.values() if f.picture_rank is not None), key=lambda f: f.picture_rank or 0
)
# A lone `<img srcset>` (kramdown style, and the <img> fallback of <picture>) has no type switch:
# the most widely decoded format wins.
SRCSET_FORMATS = [
    f.name
    for f in sorted(formats.FORMATS.values(), key=lambda f: (f.srcset_rank is None, f.srcset_rank))
    if f.srcset_rank is not None
]
FALLBACK_FORMATS = [name for name in SRCSET_FORMATS if formats.FORMATS[name].picture_rank is None]

# What a dominant colour and a placeholder look like: anything else never reaches a style attribute.
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DATA_URI = re.compile(r"data:image/(?:webp|jpeg|png);base64,[A-Za-z0-9+/=]+")
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
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"} | {c: f"&#{ord(c)};" for c in "{}[]\\`*_$|~^'"}
)
# Typographers (Hugo's Goldmark by default) turn ' into a curly quote and runs of - and . into dashes
# and ellipses, even in alt text; as character references they stay what was written.
_TYPOGRAPHY = re.compile(r"(?<=-)-|(?<=\.)\.")


def plain_text(text: str) -> str:
    """Text as markup carries it: one line, control characters and unpaired surrogates dropped.

    Runs of spaces and line breaks become one space; other Unicode spaces (no-break, thin) stay.
    """
    return _SPACES_AND_BREAKS.sub(" ", _INVISIBLE.sub("", text)).strip(" ")


def markdown_text(text: str) -> str:
    """Alt or title text inside `![...](url "...")`, rendered literally by kramdown and CommonMark."""
    escaped = plain_text(text).translate(_MARKDOWN_ESCAPES)
    return _TYPOGRAPHY.sub(lambda found: f"&#{ord(found[0])};", escaped)


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


def photo_markdown(alt: str, title: str, main: OutputFile, config: Config) -> str:
    """A photo's Markdown line, linking to its main image: the one place that line is made."""
    return markdown_line(alt, output_url(config.output.url_prefix, main.path.name), title)


def markdown_style(photos: Sequence[PhotoResult], config: Config, name: str) -> str:
    """One `![alt](url "title")` line per photo and nothing else: any Markdown renderer."""
    return "".join(f"{photo.markdown}\n" for photo in photos)


def kramdown_style(photos: Sequence[PhotoResult], config: Config, name: str) -> str:
    """The Markdown lines plus a kramdown attribute list each (Jekyll): srcset, sizes, width, height."""
    return "".join(
        f"{photo.markdown}{kramdown_attributes(photo, config, index == 0)}\n" for index, photo in enumerate(photos)
    )


def html_style(photos: Sequence[PhotoResult], config: Config, name: str) -> str:
    """A `<picture>` per photo, in a `<figure>` unless turned off."""
    return "\n".join(picture_block(photo, config, first=index == 0) for index, photo in enumerate(photos))


def kramdown_attributes(photo: PhotoResult, config: Config, first: bool) -> str:
    """A kramdown attribute list that makes the image responsive: `{: srcset=... width=...}`.

    Only one srcset fits an `<img>`, so it takes the variants of the most widely decoded format.
    """
    prefix = config.output.url_prefix
    variants = next((found for fmt in SRCSET_FORMATS if (found := variant_files(photo, fmt))), [])
    attributes = {"srcset": srcset(variants, prefix), "sizes": config.markup.sizes} if variants else {}
    attributes |= _size_and_loading(photo.main, first) | _background(photo, config)
    return "{: " + " ".join(f'{key}="{value}"' for key, value in attributes.items()) + "}"


def picture_block(photo: PhotoResult, config: Config, first: bool) -> str:
    """`<picture>` with AVIF and WebP sources and the main image as `<img>` fallback, in a `<figure>`."""
    prefix, sizes = config.output.url_prefix, html_text(config.markup.sizes)
    lines = ["<picture>"]
    for fmt in PICTURE_SOURCE_FORMATS:
        if variants := variant_files(photo, fmt.name):
            candidates = html_url(srcset(variants, prefix))
            lines.append(f'<source type="{fmt.mime}" srcset="{candidates}" sizes="{sizes}">')
    fallback = next((found for fmt in FALLBACK_FORMATS if (found := variant_files(photo, fmt))), [])
    responsive = {"srcset": html_url(srcset(fallback, prefix)), "sizes": sizes} if fallback else {}
    src = html_url(output_url(prefix, photo.main.path.name))
    attributes = responsive | _size_and_loading(photo.main, first) | _background(photo, config)
    lines += [_img_tag(photo, src, attributes, config), "</picture>"]
    if config.markup.figure:
        lines = ["<figure>", *lines, *_figcaption(photo), "</figure>"]
    return "".join(f"{line}\n" for line in lines)


def grid_style(photos: Sequence[PhotoResult], config: Config, name: str) -> str:
    """A gallery section: one thumbnail per photo, each linking to the full-size image."""
    prefix = config.output.url_prefix
    opening = f'<div class="{html_text(config.markup.grid_class)}">' if config.markup.grid_class else "<div>"
    lines = [opening]
    for index, photo in enumerate(photos):
        thumbnail = photo.thumbnail
        src = html_url(output_url(prefix, thumbnail.path.name))
        looks = _size_and_loading(thumbnail, index == 0) | _background(photo, config)
        image = _img_tag(photo, src, looks, config)
        link = f"<a{_attributes(_lightbox(photo, prefix))}>{image}</a>"
        lines.append(f"<figure>{link}{''.join(_figcaption(photo))}</figure>" if config.markup.figure else link)
    lines.append("</div>")
    return "".join(f"{line}\n" for line in lines)


def hugo_style(photos: Sequence[PhotoResult], config: Config, name: str) -> str:
    """Hugo's Markdown drops raw HTML, so the block is one call of gallery's shortcode, which builds
    each `<picture>` from the manifest in the page bundle (sites/presets.py installs the shortcode)."""
    sizes = f' sizes="{config.markup.sizes}"' if config.markup.sizes != MarkupSettings().sizes else ""
    return f'{{{{< gallery name="{name}"{sizes} >}}}}\n' if photos else ""


def variant_files(photo: PhotoResult, fmt: str) -> list[OutputFile]:
    """The responsive variants of one format, narrowest first (the order `srcset` is read in)."""
    return sorted((o for o in photo.outputs if o.role == "variant" and o.format == fmt), key=lambda o: o.width)


def srcset(files: Sequence[OutputFile], prefix: str) -> str:
    """`url 480w, url 960w`: each candidate with its true pixel width."""
    return ", ".join(f"{output_url(prefix, file.path.name)} {file.width}w" for file in files)


def _lightbox(photo: PhotoResult, prefix: str) -> dict[str, str]:
    """The link to the full-size image, with what a lightbox needs to open it at once: its size
    (PhotoSwipe's data-pswp-width/height) and, where there are variants, a srcset to pick from."""
    link = {"href": html_url(output_url(prefix, photo.main.path.name))}
    link |= {"data-pswp-width": str(photo.main.width), "data-pswp-height": str(photo.main.height)}
    variants = next((found for fmt in SRCSET_FORMATS if (found := variant_files(photo, fmt))), [])
    return link | ({"data-pswp-srcset": html_url(srcset(variants, prefix))} if variants else {})


def _size_and_loading(image: OutputFile, first: bool) -> dict[str, str]:
    """Width and height reserve the space before the image arrives; the first image is fetched
    first (it is usually the largest thing in view), the others load lazily."""
    loading = {"fetchpriority": "high"} if first else {"loading": "lazy"}
    return {"width": str(image.width), "height": str(image.height), **loading, "decoding": "async"}


def _background(photo: PhotoResult, config: Config) -> dict[str, str]:
    """`markup.background`: the dominant colour, or the blurred placeholder over it, shown until the
    image arrives."""
    color = photo.color if HEX_COLOUR.fullmatch(photo.color) else ""
    lqip = photo.placeholder if DATA_URI.fullmatch(photo.placeholder) else ""
    if config.markup.background == "color" and color:
        return {"style": f"background-color:{color}"}
    if config.markup.background == "placeholder" and lqip:
        return {"style": f"background:{color or 'transparent'} url({lqip}) center/cover no-repeat"}
    return {}


def _attributes(attributes: dict[str, str]) -> str:
    return "".join(f' {key}="{value}"' for key, value in attributes.items())


def _img_tag(photo: PhotoResult, src: str, attributes: dict[str, str], config: Config) -> str:
    """`<img>` with the photo's alt (always present, even empty) and title (when there is one), then
    `markup.img_attributes` (such as `eleventy:ignore`, which keeps eleventy-img's transform off it)."""
    title = html_text(photo.title)
    texts = {"alt": html_text(photo.alt)} | ({"title": title} if title else {})
    extra = {name: html_text(value) for name, value in config.markup.img_attributes}
    return f"<img{_attributes({'src': src} | texts | attributes | extra)}>"


def _figcaption(photo: PhotoResult) -> list[str]:
    caption = html_text(photo.caption)
    return [f"<figcaption>{caption}</figcaption>"] if caption else []


# style name -> function from the photos' data to the block. To add a style, write one function
# above and register it here (and its name in config/sections.py's MARKUP_STYLES).
STYLES: dict[str, Callable[[Sequence[PhotoResult], Config, str], str]] = {
    "markdown": markdown_style,
    "kramdown": kramdown_style,
    "html": html_style,
    "grid": grid_style,
    "hugo": hugo_style,
}


def build(photos: Sequence[PhotoResult], config: Config, name: str = "") -> tuple[list[PhotoResult], str]:
    """Each photo's Markdown line, made once, and the post's image block in the configured `[markup]
    style` (`name` is the set's): the photos come back carrying their lines, for the manifest."""
    lines = [photo_markdown(photo.alt, photo.title, photo.main, config) for photo in photos]
    marked = [dataclasses.replace(photo, markdown=line) for photo, line in zip(photos, lines, strict=True)]
    return marked, STYLES[config.markup.style](marked, config, name)
