"""gallery: event photos in, a publishable image set and the post's Markdown out.

import pipeline
result = pipeline.process("photos", pipeline.load_config("config.toml"), output__dir="site/img")
print(result.markup)
"""

from .config import Config, load_config
from .errors import ConfigError, GalleryError, LockedError, OutputError, PhotoError
from .model import OutputFile, PhotoResult, Problem, RunResult
from .run import process

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
