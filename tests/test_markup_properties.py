"""Arbitrary Unicode alt, title and caption text through every markup style and a Jekyll-faithful
renderer (Liquid, then kramdown): the text must come back exactly and never turn into markup."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config.sections import MARKUP_STYLES, Config
from pipeline.model import OutputFile, PhotoResult
from pipeline.publish import markup

from .conftest import block_of, require_tool
from .support.rendered import JekyllRenderer, Page, read_html

# Hugo's shortcode is markup for Hugo only: tests/test_sites.py builds it with Hugo.
JEKYLL_STYLES = tuple(style for style in MARKUP_STYLES if style != "hugo")

# Fragments that mean something to Liquid, kramdown, GFM, CommonMark or HTML.
SYNTAX = [
    "{{ site.title }}",
    "{{",
    "}}",
    "{%",
    "%}",
    "{% raw %}",
    "{% endraw %}",
    "{%- comment -%}",
    "{{- x -}}",
    "[",
    "]",
    "](",
    "^",
    ")",
    "![a](b)",
    "[x]: /y",
    "[^1]",
    "*",
    "**",
    "_",
    "__",
    "`",
    "```",
    "~~",
    "$$",
    "$$x$$",
    "\\",
    "\\]",
    "\\\\",
    "<",
    ">",
    "<b>",
    "</figcaption>",
    "<script>alert(1)</script>",
    "<!--",
    "-->",
    "&",
    "&amp;",
    "&#123;",
    "&lt;",
    "&nbsp;",
    '"',
    "'",
    "{: .x}",
    "{::comment}",
    "{:",
    "|",
    "--",
    "---",
    "...",
    "<<",
    ">>",
    ":",
    "#",
    "=",
    "+",
    "!",
    "%",
    "http://example.com",
    "<http://x.y>",
    " ",
    "  ",
    "\u00a0",
    "\u2009",
    "\u3000",
    "\u200b",
    "é",
    "日本",
    "👍🏽",
    "\u202e",
]
PLAIN_CHARACTERS = st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\u2028\u2029")
RUNS_OF_SPACE = (" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u2028", "\u2029")


def _single_spaced(text: str) -> str:
    return " ".join(part for part in text.split(" ") if part)


# Text that markup can carry unchanged: no control characters, no line breaks, single spaces inside.
plain_texts = st.lists(st.one_of(st.sampled_from(SYNTAX), st.text(PLAIN_CHARACTERS, max_size=6)), max_size=8).map(
    lambda parts: _single_spaced("".join(parts))
)
# Anything at all, including control characters, line breaks and unpaired surrogates.
any_texts = st.lists(st.one_of(st.sampled_from(SYNTAX + list(RUNS_OF_SPACE)), st.text(max_size=6)), max_size=8).map(
    "".join
)


@pytest.fixture(scope="module")
def renderer() -> Iterator[JekyllRenderer]:
    ruby = require_tool("ruby", "jekyll")
    require_tool("jekyll", "jekyll")
    process = JekyllRenderer(ruby)
    yield process
    process.close()


def _photo(number: int, alt: str, title: str, caption: str) -> PhotoResult:
    stem = f"set-{number:02d}"

    def output(role: str, fmt: str, width: int, suffix: str) -> OutputFile:
        height = width * 3 // 4
        return OutputFile(role, fmt, width, height, 1000, Path(f"/out/{stem}{suffix}.{fmt}"), f"{stem}{suffix}{fmt}")  # type: ignore[arg-type]

    outputs = (
        output("main", "jpeg", 2048, ""),
        *(output("variant", fmt, w, f"-{w:04d}w") for fmt in ("avif", "webp", "jpeg") for w in (1600, 960, 480)),
        output("thumbnail", "webp", 320, "-thumb"),
    )
    return PhotoResult(
        Path(f"{stem}.jpg"), number, datetime(2024, 6, 23), 4000, 3000, outputs, alt, title, caption, "", True
    )


def _texts_come_back(style: str, renderer: JekyllRenderer, texts: list[tuple[str, str, str]]) -> Page:
    """Render two photos in `style`; assert the decoded alt, title and caption equal the carried text."""
    photos = [_photo(n, *t) for n, t in enumerate(texts, start=1)]
    config = Config().with_overrides(markup__style=style, variants__formats=("avif", "webp", "jpeg"))
    page = read_html(renderer.render(block_of(photos, config)))
    images = page.all("img")
    assert len(images) == len(photos)
    for image, (alt, title, _) in zip(images, texts, strict=True):
        assert image.attrs["alt"] == markup.plain_text(alt)
        assert image.attrs.get("title", "") == markup.plain_text(title)
        assert image.attrs["src"].startswith("/blog/"), "the Liquid URL prefix must stay live"
    captions = [element.text for element in page.all("figcaption")]
    if style in ("html", "grid"):
        assert captions == [markup.plain_text(c) for _, _, c in texts if markup.plain_text(c)]
    _nothing_injected(style, page)
    return page


ALLOWED = {
    "markdown": {"p", "img"},
    "kramdown": {"p", "img"},
    "html": {"figure", "picture", "source", "img", "figcaption"},
    "grid": {"div", "figure", "a", "img", "figcaption"},
}


def _nothing_injected(style: str, page: Page) -> None:
    assert {element.tag for element in page.elements} <= ALLOWED[style]
    assert not page.comments
    for element in page.elements:
        if element.tag != "figcaption":
            assert not element.text.strip(), f"stray text in <{element.tag}>: {element.text!r}"
        assert not {"onerror", "onload", "style", "class"} & set(element.attrs) or element.tag == "div"
        for key in ("srcset", "src", "href"):
            assert "LEAKED" not in element.attrs.get(key, "")


@pytest.mark.tool
@pytest.mark.parametrize("style", JEKYLL_STYLES)
@settings(max_examples=120, deadline=None)
@given(texts=st.lists(st.tuples(plain_texts, plain_texts, plain_texts), min_size=2, max_size=2))
def test_plain_text_comes_back_exactly(style: str, renderer: JekyllRenderer, texts: list[tuple[str, str, str]]) -> None:
    page = _texts_come_back(style, renderer, texts)
    # Text without control characters or runs of spaces is carried unchanged, byte for byte.
    assert [image.attrs["alt"] for image in page.all("img")] == [alt for alt, _, _ in texts]
    assert [image.attrs.get("title", "") for image in page.all("img")] == [title for _, title, _ in texts]


@pytest.mark.tool
@pytest.mark.parametrize("style", JEKYLL_STYLES)
@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.tuples(any_texts, any_texts, any_texts), min_size=2, max_size=2))
def test_any_text_is_carried_as_one_clean_line(
    style: str, renderer: JekyllRenderer, texts: list[tuple[str, str, str]]
) -> None:
    _texts_come_back(style, renderer, texts)
    for text in (t for triple in texts for t in triple):
        carried = markup.plain_text(text)
        assert not any(unicodedata.category(c) in ("Cc", "Cs") or c in "\u2028\u2029" for c in carried)
        assert "  " not in carried and carried == carried.strip(" ")
        # Nothing visible is lost: only control characters and the spacing between words change.
        visible = "".join(c for c in text if c not in RUNS_OF_SPACE and unicodedata.category(c) not in ("Cc", "Cs"))
        assert carried.replace(" ", "") == visible


@pytest.mark.tool
def test_renderer_reports_liquid_errors(renderer: JekyllRenderer) -> None:
    """The renderer is real: an unescaped Liquid tag is an error, an unescaped variable executes."""
    assert "LEAKED-SITE-TITLE" in renderer.render("{{ site.title }}")
    with pytest.raises(AssertionError, match="Liquid"):
        renderer.render("{% nonsense")


@pytest.mark.tool
@pytest.mark.parametrize("style", JEKYLL_STYLES)
def test_the_checks_catch_unescaped_text(style: str, renderer: JekyllRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
    """With escaping switched off, the same checks fail: they can catch a regression."""
    texts = [("a] {{ site.title }}", 'say "hi")', "<b>x</b> {% raw %}")] * 2
    _texts_come_back(style, renderer, texts)
    monkeypatch.setattr(markup, "_MARKDOWN_ESCAPES", {})
    monkeypatch.setattr(markup, "_HTML_ESCAPES", {})
    with pytest.raises(AssertionError):
        _texts_come_back(style, renderer, texts)


@pytest.mark.tool
@pytest.mark.parametrize("style", JEKYLL_STYLES)
def test_liquid_in_the_url_prefix_stays_live(style: str, renderer: JekyllRenderer) -> None:
    """The prefix is the site owner's Liquid, quotes and filters included; only user text is defused."""
    config = Config().with_overrides(markup__style=style, output__url_prefix='{{ "/assets/img" | relative_url }}')
    page = read_html(renderer.render(block_of([_photo(1, "a", "t", "c")], config)))
    urls = [e.attrs[k] for e in page.elements for k in ("src", "href", "srcset") if k in e.attrs]
    assert urls and all(url.startswith("/blog/assets/img/set-01") for url in urls), urls
