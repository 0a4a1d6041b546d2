"""How gallery talks to people and scripts: lines on stderr, one at a time and filtered by verbosity,
and JSON documents on stdout.

`-q` says errors only, the default warnings and a summary too, `-v` a line per photo besides. Names
and other untrusted text reach people in two forms only: lines on stderr pass through
`names.one_line` (`stderr_line`), so a file name cannot forge a line or send escape sequences to a
terminal; JSON passes through `names.utf8_text` (`json_text`), so it is always valid UTF-8.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from .config.sections import Config
from .model import PhotoResult, Problem, RunResult
from .names import display_name, one_line, utf8_text
from .publish.manifest import photo_entry

QUIET, NORMAL, VERBOSE = 0, 1, 2


@dataclass(frozen=True)
class Say:
    """Lines on stderr, filtered by verbosity."""

    level: int = NORMAL

    def error(self, text: object) -> None:
        stderr_line(f"error: {text}" if isinstance(text, Problem) else text)

    def warning(self, text: object, label: str = "warning") -> None:
        if self.level >= NORMAL:
            stderr_line(f"{label}: {text}")

    def info(self, text: str) -> None:
        if self.level >= NORMAL:
            stderr_line(text)

    def detail(self, text: str) -> None:
        if self.level >= VERBOSE:
            stderr_line(text)


def counted(count: int, noun: str, plural: str = "") -> str:
    """`1 photo`, `2 photos`, `1 entry`, `2 entries`: a count with its noun in the right number."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def no_photos(source: object) -> str:
    """What a command says of a folder with no photo in it."""
    return f"no photos in {source} (JPEG, HEIC/HEIF, PNG, WebP, AVIF, TIFF or GIF by content)"


def stderr_line(text: object) -> None:
    """One line on stderr: the one way a message reaches a person, with untrusted text made safe."""
    print(one_line(str(text)), file=sys.stderr, flush=True)


def json_text(document: Any) -> str:
    """JSON for scripts, always valid UTF-8: every string (a path, a name, a message) through `utf8_text`."""
    return json.dumps(_valid(document), indent=2, ensure_ascii=False) + "\n"


def _valid(value: Any) -> Any:
    if isinstance(value, str):
        return utf8_text(value)
    if isinstance(value, dict):
        return {_valid(key): _valid(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_valid(item) for item in value]
    return value


def report_run(result: RunResult, say: Say, post: str = "") -> None:
    """Everything a person should read about a run, on stderr."""
    for warning in result.warnings:
        say.warning(warning)
    for failure in (*result.failures, *result.unwritten):
        say.error(failure)
    for warning in result.alt_warnings:
        say.warning(warning, "alt text")
    for photo in result.photos:
        say.detail(photo_line(photo))
    if post and result.post_change in ("created", "updated"):
        say.info(f"post {post}: {result.post_change}")
    say.info(result.summary())


def photo_line(photo: PhotoResult) -> str:
    state = "rendered" if photo.rendered else "unchanged"
    files = f"{len(photo.outputs)} files, {state}"
    return f"{photo.number:>3}  {display_name(photo.source)} -> {photo.main.path.name} ({files})"


def run_json(result: RunResult, config: Config, settings: str | None) -> str:
    """The run result for scripts: photos, outputs, texts, failures and warnings, and the settings
    file read (None: the built-in defaults)."""
    document = {
        "settings": settings,
        "ok": result.ok,
        "name": result.name,
        "title": result.title,
        "photos": [_photo_json(photo, config) for photo in result.photos],
        "failures": [problem_json(p) for p in (*result.failures, *result.unwritten)],
        "warnings": [problem_json(p) for p in result.warnings],
        "alt_warnings": [problem_json(p) for p in result.alt_warnings],
        "post": result.post_change or None,
        "bytes_in": result.bytes_in,
        "bytes_out": result.bytes_out,
        "seconds": round(result.seconds, 3),
        "markup": result.markup,
    }
    return json_text(document)


def _photo_json(photo: PhotoResult, config: Config) -> dict[str, Any]:
    """The photo as the manifest has it, with the paths on this machine and whether it was rendered."""
    entry = photo_entry(photo, config)
    outputs = [
        found | {"path": str(output.path)} for found, output in zip(entry["outputs"], photo.outputs, strict=True)
    ]
    return entry | {"source": str(photo.source), "rendered": photo.rendered, "outputs": outputs}


def problem_json(problem: Problem) -> dict[str, str]:
    return {"path": str(problem.path), "message": problem.message}
