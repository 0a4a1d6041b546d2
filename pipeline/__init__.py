"""gallery: event photos in, a publishable image set and the post's Markdown out.

import pipeline
result = pipeline.process("photos", pipeline.load_config("config.toml"), output__dir="site/img")
print(result.markup)
"""

from typing import TYPE_CHECKING, Any

from .config.load import load_config
from .config.sections import Config
from .errors import ConfigError, GalleryError, LockedError, OutputError, PhotoError
from .model import OutputFile, PhotoResult, Problem, RunResult

if TYPE_CHECKING:
    from .run import process


def __getattr__(name: str) -> Any:
    """`pipeline.process` loads the image stack on first use, so that importing the markup,
    manifest or settings modules (whose parent package this is) loads no image library."""
    if name == "process":
        from .run import process

        return process
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Config",
    "ConfigError",
    "GalleryError",
    "LockedError",
    "OutputError",
    "OutputFile",
    "PhotoError",
    "PhotoResult",
    "Problem",
    "RunResult",
    "load_config",
    "process",
]
