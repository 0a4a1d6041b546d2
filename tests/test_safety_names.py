"""Property tests: whatever text names a set or a photo, output names and markup lines stay tame."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from pipeline import names
from pipeline.config.sections import Config
from pipeline.names import display_name, output_stem
from pipeline.publish import markup
from pipeline.text import templates

SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
LONGEST_SUFFIX = "-9999w.avif"  # the longest suffix plan_outputs appends to a stem
HOSTILE = ["../../etc/passwd", "-rf", ".hidden", "{{ site.x }}", "{% raw %}", "<script>", "\u00e9", "e\u0301", "\x00"]


@given(st.text())
@example("../../etc/passwd")
@example("-rf --no-preserve-root")
@example("." * 300)
@example("{{ site.baseurl }}{% include x %}<script>")
@example("\u212b\u00c5A\u030a")  # three spellings of Å
def test_slugify_gives_a_short_safe_name(text: str) -> None:
    slug = names.slugify(text)
    assert SLUG.fullmatch(slug), slug  # never empty, no separators, dots or leading dash
    assert len(slug) <= 100
    assert (
        slug == names.slugify(unicodedata.normalize("NFC", text)) == names.slugify(unicodedata.normalize("NFD", text))
    )


@given(st.text(), st.integers(1, 100_000), st.integers(0, 100_000))
def test_output_names_fit_every_file_system(text: str, count: int, offset: int) -> None:
    number = min(count, 1 + offset)
    name = output_stem(names.slugify(text), number, count) + LONGEST_SUFFIX
    assert len(name.encode()) <= 255
    assert "/" not in name and not name.startswith((".", "-"))


@given(st.binary(min_size=1, max_size=255).filter(lambda b: b"/" not in b and b not in (b".", b"..")))
def test_any_file_name_becomes_valid_nfc_text(raw: bytes) -> None:
    name = display_name(Path("photos") / Path(raw.decode("utf-8", "surrogateescape")))
    name.encode("utf-8")  # raises on surrogates
    assert unicodedata.is_normalized("NFC", name)


@given(st.one_of(st.text(), st.sampled_from(HOSTILE)), st.integers(1, 999))
def test_a_photo_line_has_one_shape_whatever_its_file_name(filename: str, number: int) -> None:
    """With {filename} in the alt text, the line is still one line with the clean URL and title."""
    config = Config().with_overrides(text__alt="{filename}")
    alt, title = (
        templates.fill_template(t, title="Title", number=number, count=999, filename=filename, date="")
        for t in (config.text.alt, config.text.title_template)
    )
    url = names.output_url(config.output.url_prefix, f"{output_stem('set', number, 999)}.jpeg")
    line = markup.markdown_line(alt, url, title)
    assert "\n" not in line and "\r" not in line
    assert line.startswith("![")
    assert line.endswith(f']({{{{ site.baseurl }}}}/assets/img/set-{number:03d}.jpeg "Title")'), line
