"""Which folder is a site's root and which settings file a run reads: the one walk up the folders,
bounded at a site's root, a repository's root or the home folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import config_files as site_config

SETTINGS_FILE = "gallery.toml"
SITES = ("jekyll", "hugo", "eleventy")
# The files that make a folder a site's root, per builder, in the order the builder looks for them.
HUGO_CONFIGS = tuple(f"hugo.{ext}" for ext in site_config.HUGO_FORMATS)
ELEVENTY_CONFIGS = (".eleventy.js", "eleventy.config.js", "eleventy.config.mjs", "eleventy.config.cjs",
                    "eleventy.config.ts")  # fmt: skip


JEKYLL_CONFIGS = ("_config.yml", "_config.yaml", "_config.toml")
# Hugo before 0.110 named its file config.*, a name many other projects use (gallery's own repository
# has a config.toml): it marks a Hugo site only beside a folder that Hugo sites have and others rarely do.
HUGO_OLD_CONFIGS = tuple(f"config.{ext}" for ext in site_config.HUGO_FORMATS)
HUGO_FOLDERS = ("content", "archetypes", "themes")


def builder_at(folder: Path) -> str | None:
    """The builder whose site has its root in FOLDER, from the configuration files there."""

    def has(*names: str) -> bool:
        return any((folder / name).is_file() for name in names)

    if has(*HUGO_CONFIGS) or site_config.hugo_config_folder(folder):
        return "hugo"
    if has(*ELEVENTY_CONFIGS):
        return "eleventy"
    if has(*JEKYLL_CONFIGS):
        return "jekyll"
    if has(*HUGO_OLD_CONFIGS) and any((folder / name).is_dir() for name in HUGO_FOLDERS):
        return "hugo"
    return None


def upward(start: Path) -> Iterator[tuple[Path, str | None]]:
    """The folders from START up to the nearest site root, repository root (`.git`) or home folder,
    that folder included, each with the builder whose root it is (or None)."""
    try:
        home: Path | None = Path.home().resolve()
    except (RuntimeError, KeyError):  # no HOME and no password entry: no home folder to stop at
        home = None
    start = start.resolve()
    for folder in (start, *start.parents):
        builder = builder_at(folder)
        yield folder, builder
        if builder or (folder / ".git").exists() or folder == home:
            return


def find_root(start: Path) -> tuple[str, Path] | None:
    """The nearest folder at or above `start` that is a site's root, and which builder it is for."""
    return next(((builder, folder) for folder, builder in upward(start) if builder), None)


@dataclass(frozen=True)
class SettingsSearch:
    """The settings file a search found (None: the built-in defaults), and why a `gallery.toml` it
    met was not read ("" when none was refused)."""

    file: Path | None
    refused: str = ""


def find_settings(start: Path) -> SettingsSearch:
    """`gallery.toml` in `start` or a folder above it, up to the site's or repository's root or the
    home folder. A file that another user owns or could change is not read, and the search ends
    there: settings are code in effect (they choose where files are written)."""
    for folder, _builder in upward(start):
        candidate = folder / SETTINGS_FILE
        if candidate.is_file():
            reason = _untrusted(candidate)
            return SettingsSearch(None, f"{candidate} {reason}: not read") if reason else SettingsSearch(candidate)
    return SettingsSearch(None)


def _untrusted(file: Path) -> str:
    """Why FILE must not be read as this user's settings, or ""."""
    if not hasattr(os, "geteuid"):  # Windows: no owners and modes of this kind
        return ""
    link, target = file.lstat(), file.stat()
    if {link.st_uid, target.st_uid} != {os.geteuid()}:
        return "is owned by another user"
    if target.st_mode & 0o022:
        return f"is writable by group or others (chmod go-w {file} to use it)"
    return ""
