"""What the commands print: lines for people on stderr, JSON for scripts on stdout.

stdout carries only what a command produces (the block, a manifest, a page's path, JSON), so it can
be redirected; everything said about the work goes to stderr, as much of it as the verbosity asks:
`-q` errors only, default warnings and a summary, `-v` a line per photo too.

Names and other untrusted text reach people in two forms only: lines on stderr pass through
`names.one_line` (`stderr_line`), so a file name cannot forge a line or send escape sequences to a
terminal; JSON passes through `names.utf8_text` (`json_text`), so it is always valid UTF-8.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..config.sections import Config
from ..dry_run import Forecast
from ..model import PhotoResult, Problem, RunResult
from ..names import display_name, one_line, utf8_text
from ..publish.manifest import photo_entry

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
    for failure in result.failures:
        say.error(failure)
    for warning in result.alt_warnings:
        say.warning(warning, "alt text")
    for photo in result.photos:
        say.detail(_photo_line(photo))
    if post and result.post_change in ("created", "updated"):
        say.info(f"post {post}: {result.post_change}")
    say.info(result.summary())


def _photo_line(photo: PhotoResult) -> str:
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
        "failures": [_problem_json(p) for p in result.failures],
        "warnings": [_problem_json(p) for p in result.warnings],
        "alt_warnings": [_problem_json(p) for p in result.alt_warnings],
        "post": result.post_change or None,
        "bytes_in": result.bytes_in,
        "bytes_out": result.bytes_out,
        "seconds": round(result.seconds, 3),
        "markup": result.markup,
    }
    return json_text(document)


def _photo_json(photo: PhotoResult, config: Config) -> dict[str, Any]:
    """The photo as the manifest has it, with the paths on this machine and whether it was rendered."""
    outputs = [entry | {"path": str(output.path)} for entry, output in zip(
        photo_entry(photo, config)["outputs"], photo.outputs, strict=True)]  # fmt: skip
    return photo_entry(photo, config) | {"source": str(photo.source), "rendered": photo.rendered, "outputs": outputs}


def _problem_json(problem: Problem) -> dict[str, str]:
    return {"path": str(problem.path), "message": problem.message}


def forecast_text(forecast: Forecast, prune: bool) -> str:
    """The plan of a dry run for a person: one line per photo, then what else would change."""
    plan = forecast.plan
    lines = [f"dry run: nothing was written. {len(forecast.photos)} photos in {plan.source}, set {plan.name!r}:"]
    for photo in forecast.photos:
        parts = []
        if photo.render:
            parts.append(f"render {len(photo.render)}")
        if photo.renames:
            parts.append(f"rename {len(photo.renames)} (from {photo.renames[0][0]})")
        if photo.copies:
            parts.append(f"copy {len(photo.copies)} rendered by review or preview")
        if photo.reuse:
            parts.append(f"{len(photo.reuse)} unchanged")
        lines.append(f"{photo.number:>3}  {display_name(photo.source)} -> {photo.stem}: {', '.join(parts)}")
    lines += [f"  warning: {problem}" for problem in plan.warnings]
    lines += [f"  cannot be read: {problem}" for problem in plan.failures]
    lines += [f"  alt text: {note}" for note in plan.captions.notes]
    lines = [one_line(line) for line in lines]  # names: one line each, whatever they hold
    if forecast.unneeded:
        verb = "would be deleted (--prune)" if prune else "no longer needed, kept (--prune deletes them)"
        lines.append(f"{len(forecast.unneeded)} files {verb}: {', '.join(forecast.unneeded[:5])}")
    if forecast.manifest:
        lines.append(f"manifest {forecast.manifest}: would be written")
    if forecast.post:
        lines.append(f"post {forecast.post}: {_post_verb(forecast.post_change)}")
    return "\n".join(lines) + "\n"


def _post_verb(change: str) -> str:
    return {"create": "would be created", "update": "would be updated", "unchanged": "unchanged"}.get(change, change)


def forecast_json(forecast: Forecast, prune: bool, settings: str | None) -> str:
    plan = forecast.plan
    document = {
        "dry_run": True,
        "settings": settings,
        "source": str(plan.source),
        "name": plan.name,
        "title": plan.title,
        "photos": [
            {
                "number": p.number,
                "source": str(p.source),
                "stem": p.stem,
                "render": list(p.render),
                "unchanged": list(p.reuse),
                "renames": [{"from": old, "to": new} for old, new in p.renames],
                "copied": list(p.copies),
            }
            for p in forecast.photos
        ],
        "warnings": [_problem_json(p) for p in plan.warnings],
        "failures": [_problem_json(p) for p in plan.failures],
        "alt_warnings": [_problem_json(p) for p in plan.captions.notes],
        "unneeded": list(forecast.unneeded),
        "prune": prune,
        "manifest": str(forecast.manifest) if forecast.manifest else None,
        "post": {"path": str(forecast.post), "change": forecast.post_change} if forecast.post else None,
        "markup": forecast.markup,
    }
    return json_text(document)


def facts_json(facts: list[Any]) -> str:
    """`inspect --json`: each file's facts, without the raw strings kept only for owner-name checks."""
    return json_text([{k: v for k, v in asdict(f).items() if k != "text"} for f in facts])


def audit_json(checked: list[tuple[Path, list[str]]]) -> str:
    files = [{"path": str(path), "leaks": leaks} for path, leaks in checked]
    leaking = sum(bool(leaks) for _, leaks in checked)
    return json_text({"checked": len(files), "leaking": leaking, "files": files})
