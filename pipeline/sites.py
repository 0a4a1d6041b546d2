"""Site builders: which one a folder is, where gallery's settings file is, and what each builder expects.

A preset sits between the built-in defaults and the settings file: it moves the image set, the URLs,
the manifest and the markup to where Jekyll, Hugo or Eleventy look for them, and the settings file
and flags still override any of it. Only `gallery.toml` is gallery's own settings file: a site's
`config.toml` (Hugo's) is never read as gallery's.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .files import write_atomically

SETTINGS_FILE = "gallery.toml"
SITES = ("jekyll", "hugo", "eleventy")
# Files that mark a site's root folder, per builder (the first match wins, in this order).
MARKERS = {
    "hugo": ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json"),
    "eleventy": ("eleventy.config.js", "eleventy.config.mjs", "eleventy.config.cjs", ".eleventy.js"),
    "jekyll": ("_config.yml", "_config.yaml", "_config.toml"),
}
HUGO_SHORTCODE = Path("layouts") / "shortcodes" / "gallery.html"


@dataclass(frozen=True)
class Site:
    """A site builder and its root folder (None when named with --site outside any site)."""

    name: str
    root: Path | None


def find_root(start: Path) -> tuple[str, Path] | None:
    """The nearest folder at or above `start` that is a site's root, and which builder it is for.

    Hugo's older `config.toml` counts only beside a `content/` folder, the layout Hugo sites have.
    """
    for folder in (start.resolve(), *start.resolve().parents):
        for name, markers in MARKERS.items():
            if any((folder / marker).is_file() for marker in markers):
                return name, folder
        if (folder / "config.toml").is_file() and (folder / "content").is_dir():
            return "hugo", folder
        if (folder / ".git").exists():
            return None
    return None


def settings_file(start: Path) -> Path | None:
    """`gallery.toml` in `start` or a folder above it, up to the site's or repository's root."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder / SETTINGS_FILE
        if (folder / ".git").exists() or any((folder / m).is_file() for ms in MARKERS.values() for m in ms):
            return None
    return None


def choose(named: str, start: Path) -> Site | None:
    """The site to prepare for: the one named (`--site` or output.site), else the one `start` is in."""
    found = find_root(start)
    if named:
        return Site(named, found[1] if found and found[0] == named else None)
    return Site(*found) if found else None


def preset(site: Site, post_file: str) -> dict[str, Any]:
    """What `site` expects, as `section__key` overrides below the settings file."""
    return {"output__site": site.name, **_expected(site, post_file)}


def _expected(site: Site, post_file: str) -> dict[str, Any]:
    root = site.root or Path()
    if site.name == "hugo":
        post = Path(post_file) if post_file else None
        if post is not None and post.name in ("index.md", "index.markdown"):
            # A page bundle: images and manifest beside the page, URLs relative to it, the shortcode.
            return {"output__dir": str(post.parent), "output__url_prefix": "", "output__manifest": "{dir}/{name}.json",
                    "markup__style": "hugo"}  # fmt: skip
        return {"output__dir": str(root / "static" / "img"), "output__url_prefix": "/img"}
    if site.name == "eleventy":
        # markdown-it drops escaped punctuation from alt text; HTML markup keeps every character.
        return {"output__dir": str(root / "assets" / "img"), "output__url_prefix": "/assets/img",
                "output__manifest": str(root / "_data" / "{name}.json"), "markup__style": "html"}  # fmt: skip
    if site.root is not None:
        return {"output__dir": str(root / "assets" / "img")}
    return {}


def install_templates(site: Site | None, style: str) -> list[Path]:
    """Copy the templates a markup style needs into the site, never over a file already there.

    Returns what was written, for the run to say so.
    """
    if style != "hugo" or site is None or site.root is None:
        return []
    target = site.root / HUGO_SHORTCODE
    if target.exists() or (site.root / "layouts" / "_shortcodes" / "gallery.html").exists():
        return []
    target.parent.mkdir(parents=True, exist_ok=True)
    shipped = resources.files("pipeline") / "site_files" / "hugo" / "layouts" / "shortcodes" / "gallery.html"
    write_atomically(target, shipped.read_bytes())
    return [target]
