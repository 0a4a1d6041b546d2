"""Where the settings come from: defaults, the site's preset, the settings file, then flags or
keyword arguments, merged once into the run's one Config."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..sites import folders, presets
from .sections import Config, merge


def _read_settings(path: Path) -> dict[str, Any]:
    """A settings file as a dict; a missing, unreadable, non-UTF-8 or malformed one is a one-line ConfigError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as error:
        raise ConfigError(f"config file {path} cannot be read: {error.strerror or error}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {error.start + 1} is not UTF-8): save it as UTF-8, as TOML requires"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def load_config(path: str | Path | None = None, **overrides: Any) -> Config:
    """Build the run's config: defaults, then the site's preset, then the TOML file (if given), then
    overrides. The site is `output.site` (from the overrides or the file), else the site the working
    folder is in; outside any site there is no preset."""
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        raw = _read_settings(path)
    file_output: dict[str, Any] = raw["output"] if isinstance(raw.get("output"), dict) else {}
    named = overrides.get("output__site") or file_output.get("site") or ""
    named = named if isinstance(named, str) else ""  # a value of the wrong type is reported by the merge below
    config = Config()
    known = not named or named in folders.SITES  # an unknown name is reported by the merge below
    site = presets.choose(named, Path.cwd()) if known else None
    if site is not None:
        post_file = overrides.get("output__post_file") or file_output.get("post_file") or ""
        config = config.with_overrides(**presets.preset(site, str(post_file)))
    if path is not None:
        config = merge(config, raw, origin=str(path))
    return config.with_overrides(**overrides)
