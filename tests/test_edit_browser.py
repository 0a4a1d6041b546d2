"""`gallery edit` in a real browser: Debian's Chromium, driven by Playwright, as a person uses it.

One editor and one browser for the whole module; the tests run in order on the same page, as a
session would: look, type, skip, reorder, publish. What the page did is judged from outside it:
captions.toml read with tomllib (comments checked in its text), outputs opened with Pillow, the
post read as text, and axe-core (from npm) for accessibility. Screenshots at 1280x800 and 390x844
are kept in $GALLERY_SCREENSHOTS (default: a folder in pytest's temporary path, printed).
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from .conftest import burst_folder, require_tool, unavailable
from .support.editor import Editor, editing
from .support.sites import node_package

try:
    from playwright.sync_api import Locator, Page, expect, sync_playwright
except ImportError:  # the test extra installs it; without it the `page` fixture says so
    Locator = Page = object  # type: ignore[assignment,misc]
    expect = sync_playwright = None  # type: ignore[assignment]

pytestmark = pytest.mark.tool
CAPTIONS = """\
# Trade mission, day one. This comment is mine.

["other.jpg"]  # the harbour
alt = "Cranes in the harbour"  # typed by hand
title = "Harbour"

["retired.jpg"]  # not in the folder any more: kept
alt = "Kept as written"
"""
WIDE, PHONE = (1280, 800), (390, 844)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A burst of three frames (the last one blurred), a photo a second later, and a captions.toml
    a person started."""
    source = burst_folder(tmp_path_factory.mktemp("browser") / "photos")
    (source / "captions.toml").write_text(CAPTIONS, encoding="utf-8")
    return source


@pytest.fixture(scope="module")
def editor(folder: Path) -> Iterator[Editor]:
    """Run where a person would, from the site's folder, with the paths they would type."""
    options = ("--name", "trip", "--title", "Trade mission", "--post-file", "2024-06-23-trade-mission.md")
    with editing(Path("photos"), Path("site/assets/img"), *options, cwd=folder.parent) as running:
        yield running


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("GALLERY_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(editor: Editor) -> Iterator[Page]:
    """One Chromium page on the editor, at desktop size; CSP bypassed only so axe-core can be injected."""
    chromium = require_tool("chromium", "chromium")
    if sync_playwright is None:
        unavailable("requires the Python package playwright (the test extra: pip install -e '.[test]')")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium)
        context = browser.new_context(viewport={"width": WIDE[0], "height": WIDE[1]}, bypass_csp=True)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(f"http://127.0.0.1:{editor.port}/?token={editor.token}")
        tab.wait_for_selector("#photos .photo")
        yield tab
        assert not errors, f"script errors on the page: {errors}"
        browser.close()


def until(condition: Callable[[], object], timeout: float = 10) -> float:
    """Seconds until `condition()` holds; fails the test after `timeout` seconds."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "the page's change did not arrive"
        time.sleep(0.05)
    return time.monotonic() - started


def captions(editor: Editor) -> dict:
    return tomllib.loads((editor.source / "captions.toml").read_text(encoding="utf-8"))


def card(page: Page, name: str) -> Locator:
    return page.locator(f'#photos .photo[data-source="{name}"]')


def names_in_page(page: Page) -> list[str]:
    return page.eval_on_selector_all("#photos .photo", "cards => cards.map(card => card.dataset.source)")


def test_every_photo_is_shown_with_its_burst_flags_and_pick(page: Page) -> None:
    assert sorted(names_in_page(page)) == ["burst-1.jpg", "burst-2.jpg", "burst-3.jpg", "other.jpg"]
    page.wait_for_function(
        "() => [...document.querySelectorAll('.thumb')].every(img => img.complete && img.naturalWidth > 0)"
    )
    for name in ("burst-1.jpg", "burst-2.jpg", "burst-3.jpg"):
        assert "Burst 1: 3 frames" in card(page, name).locator(".badges").inner_text()
    assert "blurry" in card(page, "burst-3.jpg").locator(".badges").inner_text()
    picks = [name for name in names_in_page(page) if card(page, name).locator(".badges .pick").count()]
    assert len(picks) == 1 and picks[0] in ("burst-1.jpg", "burst-2.jpg")
    assert card(page, "other.jpg").locator(".alt").input_value() == "Cranes in the harbour"
    assert "the same alt text 'Trade mission' on 3 of 4 photos" in page.locator("#set-hints").inner_text()


def test_alt_text_typed_with_the_keyboard_alone_reaches_captions_toml(page: Page, editor: Editor) -> None:
    first = names_in_page(page)[0]
    page.locator("body").focus()
    for _ in range(12):  # from the top of the page: skip link, Publish, the first photo's controls
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('alt')"):
            break
    field = card(page, first).locator(".alt")
    assert field.evaluate("el => el === document.activeElement"), "Tab does not reach the first alt text"
    outline = field.evaluate("el => [getComputedStyle(el).outlineStyle, parseFloat(getComputedStyle(el).outlineWidth)]")
    assert outline[0] != "none" and outline[1] >= 2, f"no visible focus: {outline}"
    label = page.locator(f"label[for='{field.get_attribute('id')}']").inner_text()
    assert label == "Alt text"
    page.keyboard.type("IMG_4107")
    hint = card(page, first).locator(".hints")
    hint.filter(has_text="is a file name").wait_for()
    page.keyboard.press("Control+A")
    typed = "Delegates arriving at the embassy"
    page.keyboard.type(typed)
    seconds = until(lambda: captions(editor).get(first, {}).get("alt") == typed)
    print(f"typed alt text reached captions.toml {seconds:.2f} s after the last keystroke")
    page.wait_for_function("el => !el.textContent.includes('file name')", arg=hint.element_handle())
    text = (editor.source / "captions.toml").read_text(encoding="utf-8")
    assert "# Trade mission, day one. This comment is mine." in text
    assert 'alt = "Cranes in the harbour"  # typed by hand' in text and "# not in the folder any more: kept" in text
    assert captions(editor)["retired.jpg"] == {"alt": "Kept as written"}


def test_skip_is_a_checkbox_toggled_by_keyboard(page: Page, editor: Editor) -> None:
    box = card(page, "burst-3.jpg").locator(".skip-box")
    box.focus()
    page.keyboard.press("Space")
    until(lambda: captions(editor).get("burst-3.jpg", {}).get("skip") is True)
    expect(card(page, "burst-3.jpg").locator(".number")).to_contain_text("Skipped")


def test_photos_are_reordered_by_dragging_and_by_keyboard(page: Page, editor: Editor) -> None:
    before = names_in_page(page)
    moved = before[2]
    handle = card(page, moved).locator(".handle")
    target = card(page, before[0]).locator(".enlarge").bounding_box()
    handle.hover()
    page.mouse.down()
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2, steps=12)
    page.mouse.up()
    dragged = [moved, before[0], before[1], *before[3:]]
    assert names_in_page(page) == dragged
    until(lambda: captions(editor).get("order") == dragged)
    handle = card(page, dragged[0]).locator(".handle")
    handle.focus()
    page.keyboard.press("ArrowDown")
    keyed = [dragged[1], dragged[0], *dragged[2:]]
    assert names_in_page(page) == keyed
    assert handle.evaluate("el => el === document.activeElement"), "focus stays on the moved photo"
    until(lambda: captions(editor).get("order") == keyed)
    assert "position 2 of 4" in page.locator("#announce").inner_text()


def test_the_larger_view_opens_and_closes_by_keyboard(page: Page) -> None:
    button = card(page, "other.jpg").locator(".enlarge")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#viewer').open")
    page.wait_for_function("() => document.querySelector('#viewer-image').naturalWidth > 0")
    assert page.locator("#viewer-title").inner_text() == "other.jpg"
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('#viewer').open")
    assert button.evaluate("el => el === document.activeElement"), "focus returns to the photo"


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(node_package("axe-core") / "axe.min.js"))
    return page.evaluate(
        """async () => (await axe.run(document)).violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => `${v.impact}: ${v.id}: ${v.help}: ${v.nodes.map(n => n.target.join(" ")).join(", ")}`)"""
    )


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=["1280x800", "390x844"])
def test_no_serious_accessibility_problem_and_a_screenshot(
    page: Page, screenshots: Path, size: tuple, capsys: pytest.CaptureFixture
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.evaluate("window.scrollTo(0, 0)")
    wanted = screenshots / f"edit-{size[0]}x{size[1]}.png"
    page.screenshot(path=str(wanted))
    with capsys.disabled():
        print(f"\nscreenshot: {wanted}")
    with Image.open(wanted) as shot:
        assert shot.size == size
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= size[0], f"the page scrolls sideways at {size[0]} px: {width} px wide"


def test_publish_shows_the_block_and_the_post_change(page: Page, editor: Editor) -> None:
    page.set_viewport_size({"width": WIDE[0], "height": WIDE[1]})
    page.locator("#publish").click()
    page.locator("#result-summary").filter(has_text="Published 3 photos").wait_for(timeout=120_000)
    said = page.locator("#result-problems").inner_text()
    assert "The post 2024-06-23-trade-mission.md: created" in said, said
    post_file = editor.source.parent / "2024-06-23-trade-mission.md"
    block = page.locator("#block").input_value()
    assert block.strip() and block.strip() in post_file.read_text(encoding="utf-8")
    # The expectation from captions.toml itself: its order without the skipped photo, each photo's
    # alt text or, where it has none, the post title (the default template).
    written = captions(editor)
    order = [name for name in written["order"] if not written.get(name, {}).get("skip")]
    alts = [written.get(name, {}).get("alt") or "Trade mission" for name in order]
    lines = [line for line in block.splitlines() if line.startswith("![")]
    assert [line[2 : line.index("]")] for line in lines] == alts
    assert "Delegates arriving at the embassy" in alts
    mains = sorted(editor.out.glob("trip-*.jpeg"))
    assert [path.name for path in mains] == ["trip-01.jpeg", "trip-02.jpeg", "trip-03.jpeg"]
    for main in mains:
        with Image.open(main) as image:
            image.load()
            assert image.format == "JPEG" and image.size == (640, 480)
    expect(card(page, "other.jpg").locator(".number")).to_have_text(re.compile(r"· published$"))
    expect(card(page, "burst-3.jpg").locator(".number")).to_contain_text("Skipped")
    assert "This comment is mine." in (editor.source / "captions.toml").read_text(encoding="utf-8")
    violations = serious_violations(page)  # the publish result too
    assert not violations, "\n".join(violations)
