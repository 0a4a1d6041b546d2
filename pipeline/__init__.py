"""gallery: event photos in, a publishable image set and the post's Markdown out.

import pipeline
result = pipeline.process("photos", pipeline.load_config("config.toml"), output__dir="site/img")
print(result.markup)
"""

from .config import Config, ConfigError, load_config
from .ingest import Problem
from .render import OutputFile
from .run import PhotoResult, RunResult, process

__all__ = [
    "Config",
    "ConfigError",
    "OutputFile",
    "PhotoResult",
    "Problem",
    "RunResult",
    "load_config",
    "process",
]
