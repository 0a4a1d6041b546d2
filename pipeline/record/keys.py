"""The cache key of each output: derived from every setting that can change its bytes, so a
changed setting renders exactly the outputs it changes and nothing else."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import cache
from pathlib import Path

from .. import formats
from ..config.sections import Config
from ..model import Role

# Bump when a code change alters output bytes for the same settings, so caches re-render.
RENDER_VERSION = 5
# Settings sections that never change an output's bytes: where files go and what they are called,
# texts and markup, scheduling, input limits, watch mode and clock corrections (which change order
# and numbers, not pixels). Every other section enters the keys.
NOT_IN_OUTPUT_BYTES = frozenset({"output", "text", "markup", "run", "watch", "limits", "time"})
# Settings that decide which outputs exist and their pixel sizes: they reach a key through the
# output's role, format, size and cascade chain, not as values (so adding a width re-renders only
# what is cascaded from it).
SHAPING = {
    "image": ("enabled", "max_edge", "format"),
    "variants": ("widths", "formats"),
    "thumbnail": ("width", "format"),
}


# Sections that shape output bytes only while switched on: off, their other settings change nothing.
ACTIVE_WHEN = {"watermark": lambda config: bool(config.watermark.text or config.watermark.logo)}
# Settings that name a file whose content shapes output bytes: the file's content enters the keys.
FILE_SETTINGS = (("watermark", "logo"),)
# The section of each role: its other settings enter only that role's keys.
ROLE_SECTION: dict[Role, str] = {"main": "image", "variant": "variants", "thumbnail": "thumbnail"}


FileStamps = tuple[tuple[int, int] | None, ...]  # size and mtime of each file of FILE_SETTINGS (None: unset)


def output_key(config: Config, role: Role, fmt: str, chain: list[tuple[int, int]], files: FileStamps) -> str:
    """The cache key of one output's bytes, derived from the settings rather than listed.

    Every section of the settings enters, except those declared in NOT_IN_OUTPUT_BYTES; a role's
    own section enters only that role's keys; `[quality]` enters through the output's format's own
    settings only. A setting added to any section therefore reaches the key without another edit.
    """
    material = _settings_material(config, role, fmt, files) + json.dumps(chain)
    return hashlib.blake2b(material.encode(), digest_size=8).hexdigest()


def file_stamps(config: Config) -> FileStamps:
    """Size and mtime of each file a setting names, so an edited file is a new key: read once per
    plan, not per output (watch mode plans again at every batch, so an edited logo is seen)."""
    stamps = []
    for section, key in FILE_SETTINGS:
        try:
            info = (
                Path(getattr(getattr(config, section), key)).stat() if getattr(getattr(config, section), key) else None
            )
        except OSError:
            info = None
        stamps.append((info.st_size, info.st_mtime_ns) if info else None)
    return tuple(stamps)


@cache
def _settings_material(config: Config, role: Role, fmt: str, files: FileStamps) -> str:
    """The settings part of a key, made once per run and kind of output (a set has thousands of outputs)."""
    material: dict[str, object] = {
        "version": RENDER_VERSION,
        "role": role,
        "format": fmt,
        "quality": {key: getattr(config.quality, key) for key in formats.get(fmt).settings},
    }
    for section in dataclasses.fields(config):
        if section.name in NOT_IN_OUTPUT_BYTES or section.name == "quality":
            continue
        if section.name in ROLE_SECTION.values() and ROLE_SECTION[role] != section.name:
            continue
        if section.name in ACTIVE_WHEN and not ACTIVE_WHEN[section.name](config):
            continue
        values = dataclasses.asdict(getattr(config, section.name))
        material[section.name] = {k: v for k, v in values.items() if k not in SHAPING.get(section.name, ())}
    material["files"] = [
        _digest(getattr(getattr(config, s), k)) if stamp else None
        for (s, k), stamp in zip(FILE_SETTINGS, files, strict=True)
    ]
    return json.dumps(material, sort_keys=True)


def _digest(path: str) -> str:
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=8).hexdigest()
