"""Hand a run to the site: the JSON manifest, the post file's block and the alt-text lint.

Files are only rewritten when their text changes, so a re-run that changes nothing leaves every
mtime alone and a site builder watching `_data/` or `_posts/` is not woken for nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cache, emit, ingest, texts
from .config import Config, ConfigError
from .ingest import Problem
from .texts import PhotoText

if TYPE_CHECKING:
    from .run import PhotoResult


def manifest_path(config: Config, out_dir: Path, name: str) -> Path:
    """`output.manifest` with {dir} and {name} filled in, e.g. `_data/{name}.json`."""
    try:
        return Path(config.output.manifest.format(dir=out_dir, name=name))
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"output.manifest {config.output.manifest!r} is invalid ({error}); placeholders: {{dir}} {{name}}"
        ) from None


def manifest_entry(photo: PhotoResult, config: Config) -> dict[str, Any]:
    """One photo as docs/manifest.md describes it."""
    return {
        "number": photo.number,
        "source": ingest.display_name(photo.source),
        "captured": photo.captured.isoformat() if photo.captured else None,
        "width": photo.width,
        "height": photo.height,
        "alt": photo.alt,
        "title": photo.title,
        "caption": photo.caption,
        "color": photo.color,
        "placeholder": photo.placeholder,
        "markdown": photo.markdown,
        "outputs": [
            {
                "role": output.role,
                "format": output.format,
                "width": output.width,
                "height": output.height,
                "bytes": output.bytes,
                "file": output.path.name,
                "url": emit.output_url(config.output.url_prefix, output.path.name),
            }
            for output in photo.outputs
        ],
    }


def write_manifest(path: Path, photos: list[PhotoResult], config: Config, title: str, name: str) -> list[Problem]:
    text = emit.manifest([manifest_entry(photo, config) for photo in photos], title, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_if_changed(path, text)
    except OSError as error:
        return [Problem(path, f"manifest cannot be written: {error.strerror or error}")]
    return []


def write_post(post: Path, block: str, title: str, name: str, photos: list[PhotoResult]) -> list[Problem]:
    """Put the block into the post between the gallery markers; create the post if it is missing.

    The post is read and written as bytes-exact UTF-8 text (CRLF line ends, a BOM and text after
    the markers survive). A symbolic link is followed, so the linked file is updated, and the
    file's permissions are kept. A run without photos leaves the post alone rather than emptying it.
    """
    if not photos:
        return []
    target = post.resolve()
    try:
        existing = target.read_bytes().decode("utf-8") if target.exists() else None
    except UnicodeDecodeError:
        return [Problem(post, "is not UTF-8 text; the post was left unchanged")]
    except OSError as error:
        return [Problem(post, f"cannot be read: {error.strerror or error}")]
    try:
        text = emit.update_post(existing, block, title, post_date(post, name, photos))
    except emit.PostError as error:
        return [Problem(post, f"{error}; the post was left unchanged")]
    try:
        mode = target.stat().st_mode if existing is not None else None
        target.parent.mkdir(parents=True, exist_ok=True)
        if _write_if_changed(target, text) and mode is not None:
            os.chmod(target, mode)
    except OSError as error:
        return [Problem(post, f"cannot be written: {error.strerror or error}")]
    return []


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_bytes() == text.encode("utf-8"):
            return False
    except FileNotFoundError:
        pass
    cache.write_text_atomically(path, text)
    return True


def post_date(post: Path, name: str, photos: list[PhotoResult]) -> str:
    """The post's date: from a `YYYY-MM-DD-` post file name (as Jekyll reads it) or set name,
    else the first capture date, else today."""
    for stem in (post.name, name):
        try:
            return date.fromisoformat(stem[:10]).isoformat()
        except ValueError:
            continue
    captured = next((photo.captured for photo in photos if photo.captured), None)
    return (captured.date() if captured else date.today()).isoformat()


def alt_lint(photos: list[PhotoResult], source: Path, written: Mapping[str, PhotoText]) -> list[Problem]:
    """The alt-text lint as problems for stderr, plus captions.toml entries that match no photo."""
    problems = [
        Problem(source / filename if filename else source, message)
        for filename, message in texts.lint_alt([(ingest.display_name(photo.source), photo.alt) for photo in photos])
    ]
    # A name that matches no photo would silently lose a person's text: usually a typo or a rename.
    present = {photo.source.name for photo in photos}
    for filename in sorted(set(written) - present):
        if (source / filename).exists():
            continue  # a photo that failed: its own error says why
        problems.append(
            Problem(source / texts.CAPTIONS_FILE, f"entry {filename!r} matches no photo in the folder (renamed?)")
        )
    return problems
