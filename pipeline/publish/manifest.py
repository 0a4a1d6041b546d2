"""The manifest: the run as JSON for site builders (`_data/` in Jekyll), and the one reader of it.

The schema is in docs/manifest.md. Only file names, never absolute paths, leave the machine: the
manifest is published. `preview` reads a manifest back through `read_manifest`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config.sections import STDOUT, Config
from ..errors import ConfigError
from ..files import make_folder, write_text_if_changed
from ..model import OutputFile, PhotoResult
from ..names import display_name, output_url

MANIFEST_VERSION = 1
GENERATOR = "gallery"


def manifest_path(config: Config, out_dir: Path, name: str) -> Path | None:
    """`output.manifest` with {dir} and {name} filled in, e.g. `_data/{name}.json` (checked with the
    settings); None when no manifest file is kept ("" for none, "-" for one printed instead)."""
    if config.output.manifest in ("", STDOUT):
        return None
    return Path(config.output.manifest.format(dir=out_dir, name=name))


def build_manifest(photos: Sequence[PhotoResult], config: Config, title: str, name: str) -> str:
    """The manifest's text: versioned, stable key order, UTF-8."""
    document = {
        "version": MANIFEST_VERSION,
        "generator": GENERATOR,
        "title": title,
        "name": name,
        "photos": [photo_entry(photo, config) for photo in photos],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def photo_entry(photo: PhotoResult, config: Config) -> dict[str, Any]:
    """One photo as docs/manifest.md describes it."""
    return {
        "number": photo.number,
        "source": display_name(photo.source),
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
                "url": output_url(config.output.url_prefix, output.path.name),
            }
            for output in photo.outputs
        ],
    }


def write_manifest(path: Path, text: str) -> None:
    """Write the manifest (atomically, and only when its text changed); OSError is the caller's."""
    make_folder(path.parent)
    write_text_if_changed(path, text)


def read_manifest(path: Path, images: Path) -> tuple[str, str, list[PhotoResult]]:
    """A manifest's title, name and photos, with output paths in `images`; ConfigError when it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; give a source folder or a manifest (.json)") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ConfigError(f"{path} is not a gallery manifest: {error}") from None
    if not isinstance(document, dict) or document.get("generator") != GENERATOR:
        raise ConfigError(f'{path} is not a gallery manifest (no "generator": "gallery")')
    if document.get("version") != MANIFEST_VERSION:
        raise ConfigError(
            f"{path} has manifest version {document.get('version')!r}; this gallery reads version {MANIFEST_VERSION}"
        )
    try:
        photos = [_photo(entry, images) for entry in document["photos"] if isinstance(entry, dict)]
        if any(not photo.outputs for photo in photos):
            raise ValueError("a photo without outputs")
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"{path} is not a gallery manifest: {error!r}") from None
    return str(document.get("title", "")), str(document.get("name", "")), photos


def _photo(entry: dict[str, Any], images: Path) -> PhotoResult:
    outputs = tuple(
        OutputFile(
            role=o.get("role", "main"),
            format=str(o.get("format", "")),
            width=int(o.get("width", 0)),
            height=int(o.get("height", 0)),
            bytes=int(o.get("bytes", 0)),
            path=images / Path(str(o.get("file", ""))).name,  # a file name, never a path out of the folder
            key="",
        )
        for o in entry.get("outputs", [])
        if isinstance(o, dict)
    )
    captured = entry.get("captured")
    return PhotoResult(
        source=Path(str(entry.get("source", ""))),
        number=int(entry.get("number", 0)),
        captured=datetime.fromisoformat(captured) if isinstance(captured, str) and captured else None,
        width=int(entry.get("width", 0)),
        height=int(entry.get("height", 0)),
        outputs=outputs,
        alt=str(entry.get("alt", "")),
        title=str(entry.get("title", "")),
        caption=str(entry.get("caption", "")),
        markdown=str(entry.get("markdown", "")),
        rendered=False,
        color=str(entry.get("color", "")),
        placeholder=str(entry.get("placeholder", "")),
    )
