"""What each site builder expects, as a preset of the settings, and what gallery writes into a site.

A preset sits between the built-in defaults and the settings file: it moves the image set, the URLs,
the manifest and the markup to where Jekyll, Hugo or Eleventy look for them, and the settings file
and flags still override any of it. Beside the preset: the advice a site still needs (a passthrough
line, a theme), a new post's layout, and Hugo's shortcode, installed on first use. A site's own
configuration is read as text (config_files.py), never run and never taken for gallery's settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .. import formats
from ..files import make_folder, write_atomically
from . import config_files as site_config
from .folders import ELEVENTY_CONFIGS, find_root

HUGO_SHORTCODE = Path("layouts") / "shortcodes" / "gallery.html"
# What the Eleventy preset publishes, and the one line that copies it into the built site.
ELEVENTY_IMAGES = "assets/img"
ELEVENTY_EXTENSIONS = ",".join(fmt.extension.lstrip(".") for fmt in formats.FORMATS.values())


@dataclass(frozen=True)
class Site:
    """A site builder and its root folder (None when named with --site outside any site)."""

    name: str
    root: Path | None


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
        eleventy = _eleventy_config(site)
        # markdown-it drops escaped punctuation from alt text; HTML markup keeps every character.
        manifest = str(root / eleventy.folder("data") / "{name}.json")
        expected: dict[str, Any] = {
            "output__dir": str(root / ELEVENTY_IMAGES),
            "output__url_prefix": f"/{ELEVENTY_IMAGES}",
            "output__manifest": manifest,
            "markup__style": "html",
        }
        if eleventy.image_transform:  # eleventy-img would take gallery's <img> for its own sources
            expected["markup__img_attributes"] = {"eleventy:ignore": ""}
        return expected
    if site.root is not None:
        return {"output__dir": str(root / "assets" / "img")}
    return {}


def _eleventy_config(site: Site) -> site_config.EleventyConfig:
    """The site's Eleventy config file, the first Eleventy itself would load."""
    if site.root is not None:
        for name in ELEVENTY_CONFIGS:
            if (site.root / name).is_file():
                return site_config.read_eleventy(site.root / name)
    return site_config.EleventyConfig()


def advice(site: Site | None, out_dir: str, post_file: str) -> list[str]:
    """What the site still lacks for the images (written to OUT_DIR) and the post to appear in its
    built pages: one line each, naming the site's file, to say before the run (gallery changes no
    site configuration)."""
    if site is None or site.root is None:
        return []
    if site.name == "hugo" and post_file and not _hugo_can_build_pages(site.root):
        return [
            f"the Hugo site {site.root} has no theme and no layout for single pages "
            "(layouts/_default/single.html): Hugo builds no page for the post; add a theme (docs/sites.md)"
        ]
    if site.name == "eleventy":
        return _eleventy_advice(site.root, _eleventy_config(site), Path(out_dir))
    return []


def _hugo_can_build_pages(root: Path) -> bool:
    """A site made by `hugo new site` has neither a theme nor layouts: Hugo then writes no page."""
    return site_config.hugo_has_theme(root) or site_config.hugo_has_page_layout(root)


def _eleventy_advice(root: Path, eleventy: site_config.EleventyConfig, out_dir: Path) -> list[str]:
    """The passthrough copy the images need: their files only, since the folder also holds gallery's
    record (`.gallery-state.json`, with the photos' paths and cameras), which must not be published."""
    out = out_dir.resolve()
    if eleventy.file is None or not out.is_relative_to(root.resolve()):
        return []
    folder = out.relative_to(root.resolve()).as_posix()
    published = eleventy.publishes(folder)
    config_file = eleventy.file.name
    if published == "files":
        return []
    line = f"eleventyConfig.addPassthroughCopy({json.dumps(f'{folder}/*.{{{ELEVENTY_EXTENSIONS}}}')});"
    if published == "folder":
        return [f"{config_file} copies {folder} whole, dot files included, which publishes gallery's record "
                f"{folder}/.gallery-state.json: copy only the images, with {line}"]  # fmt: skip
    return [f"{config_file} does not copy {folder} into the built site: add this line to it: {line}"]


def new_post_layout(site: str, post: Path) -> str | None:
    """The layout a new post names in its front matter: "" for none, None for the builder's usual
    (Jekyll's `post`; Hugo picks templates by section and takes none).

    An Eleventy post gets none when directory data of its folder already gives one (as the official
    starter's `blog/blog.11tydata.js` does), else a `post` layout the site has."""
    if site != "eleventy":
        return None
    found = find_root(post.parent)
    if found is None or found[0] != "eleventy":
        return ""
    eleventy = _eleventy_config(Site(*found))
    root = found[1]
    if site_config.eleventy_layout_given(post.parent, root / eleventy.folder("input")):
        return ""
    return site_config.eleventy_post_layout(root / eleventy.folder("layouts" if eleventy.layouts else "includes"))


def install_templates(site: Site | None, style: str) -> list[Path]:
    """Copy the templates a markup style needs into the site, never over a file already there.

    Returns what was written, for the run to say so.
    """
    if style != "hugo" or site is None or site.root is None:
        return []
    target = site.root / HUGO_SHORTCODE
    if target.exists() or (site.root / "layouts" / "_shortcodes" / "gallery.html").exists():
        return []
    make_folder(target.parent)
    shipped = resources.files(__package__) / "site_files" / "hugo" / "layouts" / "shortcodes" / "gallery.html"
    write_atomically(target, shipped.read_bytes())
    return [target]
