"""Read rendered markup back: a Jekyll-faithful renderer process and an HTML reader.

Both are independent of the code under test: Jekyll's own Liquid and kramdown produce the HTML, and
Python's html.parser decodes it the way a browser's tokenizer does (character references included).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

RENDERER = Path(__file__).with_name("render_like_jekyll.rb")
VOID_ELEMENTS = {"img", "source", "br", "hr", "input", "meta", "link"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parents: tuple[str, ...]
    text: str = ""


@dataclass
class Page:
    """Every element with its decoded attributes and own text, plus text found where none belongs."""

    elements: list[Element] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def all(self, tag: str) -> list[Element]:
        return [element for element in self.elements if element.tag == tag]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, tuple(e.tag for e in self.open))
        self.page.elements.append(element)
        if tag not in VOID_ELEMENTS:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.elements.append(Element(tag, {k: v or "" for k, v in attrs}, tuple(e.tag for e in self.open)))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1].tag == tag, f"</{tag}> closes {[e.tag for e in self.open]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1].text += data
        elif data.strip():
            self.page.elements.append(Element("#text", {}, (), data))

    def handle_comment(self, data: str) -> None:
        self.page.comments.append(data)


def read_html(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    assert not reader.open, f"unclosed elements: {[e.tag for e in reader.open]}"
    return reader.page


class JekyllRenderer:
    """One long-lived Ruby process that renders post bodies as `jekyll build` would (baseurl /blog)."""

    def __init__(self, ruby: str) -> None:
        self.process = subprocess.Popen(
            [ruby, str(RENDERER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def render(self, markdown: str) -> str:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(markdown) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        assert "error" not in answer, answer["error"]
        return answer["html"]

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=30)
