"""What the commands print: lines for people on stderr, what a command produces on stdout.

stdout carries only what a command produces (the block, a manifest, a page's path, a table, JSON),
so it can be redirected; everything said about the work goes to stderr, as much of it as the
verbosity asks: `-q` errors only, default warnings and a summary, `-v` a line per photo too. Each
command's result has one function here that prints it and returns the command's exit code.

Every line goes through messages.py, which keeps untrusted text safe on a terminal and in JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..commands.audit import Audit
from ..commands.captions import CaptionsUpdate
from ..commands.preview import Preview
from ..commands.review import Review, as_json
from ..config.sections import STDOUT, Config
from ..dry_run import Forecast
from ..image.facts import MetadataFacts
from ..messages import Say, counted, json_text, no_photos, problem_json, report_run, run_json, stderr_line
from ..model import RunResult, set_aside_text
from ..names import display_name, one_line
from ..publish.manifest import build_manifest


def processed(result: RunResult, source: Path, config: Config, say: Say, as_json: bool, settings: str | None) -> int:
    """`gallery process`: the block on stdout (or the run as JSON, or the manifest), the rest on stderr."""
    if not result.photos and not result.failures and not result.warnings:
        aside = f"; {set_aside_text(result.set_aside)} set aside" if result.set_aside else ""
        say.error(f"gallery: {no_photos(source)}{aside}")
        return 1
    report_run(result, say, config.output.post_file)
    if as_json:
        stdout(run_json(result, config, settings))
    elif config.output.manifest == STDOUT:
        stdout(build_manifest(result.photos, config, result.title, result.name))
    else:
        stdout(result.markup)
    return 0 if result.ok else 1


def dry_run(planned: Forecast, prune: bool, as_json: bool, settings: str | None) -> int:
    """`--dry-run`: the plan, as text or JSON."""
    stdout(forecast_json(planned, prune, settings) if as_json else forecast_text(planned, prune))
    return 0


def stdout(text: str) -> None:
    """What a command produces, as it is (the block ends with its own newline)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def forecast_text(forecast: Forecast, prune: bool) -> str:
    """The plan of a dry run for a person: one line per photo, then what else would change."""
    plan = forecast.plan
    lines = [f"dry run: nothing was written. {len(forecast.photos)} photos in {plan.source}, set {plan.name!r}:"]
    for photo in forecast.photos:
        parts = (
            (photo.render, f"render {len(photo.render)}"),
            (photo.renames, f"rename {len(photo.renames)} (from {photo.renames[0][0] if photo.renames else ''})"),
            (photo.copies, f"copy {len(photo.copies)} rendered by review or preview"),
            (photo.reuse, f"{len(photo.reuse)} unchanged"),
        )
        said = ", ".join(text for present, text in parts if present)
        lines.append(f"{photo.number:>3}  {display_name(photo.source)} -> {photo.stem}: {said}")
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
        "warnings": [problem_json(p) for p in plan.warnings],
        "failures": [problem_json(p) for p in plan.failures],
        "alt_warnings": [problem_json(p) for p in plan.captions.notes],
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


def audit_json(found: Audit) -> str:
    files = [{"path": str(path), "leaks": list(leaks)} for path, leaks in found.checked]
    return json_text({"checked": len(files), "leaking": found.leaking, "files": files})


def captions_written(update: CaptionsUpdate, source: Path, dry_run: bool) -> int:
    """`gallery captions`: the file written (or the entries a dry run would add), problems on stderr."""
    for problem in update.problems:
        stderr_line(f"error: {problem}")
    for note in update.notes:
        stderr_line(f"warning: {note}")
    if not update.photos:
        stderr_line(f"gallery: no photos in {source}; {update.path.name} was not written")
        return 1
    added, missing = len(update.added), len(update.missing_alt)
    if dry_run:
        stdout(f"dry run: nothing was written. {counted(added, 'entry', 'entries')} would be added to {update.path}:\n")
        stdout("".join(f"  {one_line(entry)}\n" for entry in update.added))
        return 1 if update.problems else 0
    stderr_line(f"{update.path}: {counted(added, 'new entry', 'new entries')}, {update.kept} kept as written")
    if missing:
        have = "has" if missing == 1 else "have"
        stderr_line(f"{counted(missing, 'photo')} {have} no alt text yet: fill in `alt` in {update.path}")
    stdout(f"{update.path}\n")
    return 1 if update.problems else 0


def reviewed(review: Review, source: Path, as_json_output: bool, settings: str | None) -> int:
    """`gallery review`: the table (or JSON) on stdout, failures and captions.toml notes on stderr;
    exit 1 when a photo failed, or the folder holds none."""
    for failure in review.failures:
        stderr_line(f"error: {failure}")
    for note in review.plan.captions.notes:
        stderr_line(f"warning: {note}")
    if not review.photos and not review.failures:
        stderr_line(f"gallery: {no_photos(source)}")
        return 1
    stdout(json_text(as_json(review) | {"settings": settings}) if as_json_output else review_table(review))
    return 1 if review.failures else 0


def previewed(preview: Preview, target: Path) -> int:
    """`gallery preview`: the page's path on stdout; the photos it could not show on stderr, exit 1."""
    for failure in preview.failures:
        stderr_line(f"error: {failure}")
    if preview.page is None:
        stderr_line(f"gallery: {no_photos(target)}; no page was written")
        return 1
    stdout(f"{preview.page}\n")
    return 1 if preview.failures else 0


def edit_address(url: str) -> None:
    """`gallery edit`: the page's address, the first line on stdout, at once (a script waits for it)."""
    stdout(f"{url}\n")


def review_table(review: Review) -> str:
    """The review as a table for people, one line per photo."""
    rows = [("#", "photo", "taken", "camera", "size", "burst", "flags", "suggested", "status")]
    for photo in review.photos:
        taken = photo.captured.strftime("%Y-%m-%d %H:%M:%S") if photo.captured else "-"
        status = "skipped" if photo.skipped else ("published" if photo.published else "not published")
        rows.append(
            (
                f"{photo.number:02d}" if photo.number else "-",
                one_line(display_name(photo.source)),
                taken,
                one_line(photo.camera) or "-",
                f"{photo.width}x{photo.height}",
                str(photo.group) if photo.group else "-",
                ", ".join(photo.flags) or "-",
                "pick" if photo.pick and photo.group else ("-" if photo.group else ""),
                status,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n" for row in rows
    )


def inspected(facts: Sequence[MetadataFacts], as_json_output: bool) -> int:
    """`gallery inspect`: each file's facts as a table (or JSON); exit 1 when a file cannot be read."""
    stdout(facts_json(list(facts)) if as_json_output else "\n".join(describe(f) for f in facts))
    return 1 if any(f.error for f in facts) else 0


def audited(found: Audit, as_json_output: bool) -> int:
    """`gallery audit`: a line per leaking file (or JSON) on stdout, a count on stderr; exit 1 on a leak."""
    for path, reason in found.passed_by:
        stderr_line(f"{path}: {reason}")
    if as_json_output:
        stdout(audit_json(found))
    else:
        stdout("".join(one_line(f"{path}: {'; '.join(leaks)}") + "\n" for path, leaks in found.checked if leaks))
    stderr_line(f"{len(found.checked)} images checked, {found.leaking} leaking")
    return 1 if found.leaking else 0


def describe(facts: MetadataFacts) -> str:
    """The readable table `gallery inspect` prints for one file."""
    if facts.error:
        return f"{one_line(facts.path)}\n  error         {one_line(facts.error)}\n"
    turned = f"{facts.orientation} (turned on display)"
    orientation_text = {None: "-", 1: "1 (as stored)"}.get(facts.orientation, turned)
    gps = "no"
    if facts.gps:
        gps = f"yes: {facts.location}" if facts.location else f"tags without coordinates ({', '.join(facts.gps)})"
    xmp = "no"
    if facts.xmp:
        private = facts.xmp_location + facts.xmp_serials
        xmp = f"yes, with {', '.join(private)}" if private else "yes"
    iptc = f"yes, with {', '.join(facts.iptc_location)}" if facts.iptc_location else ("yes" if facts.iptc else "no")
    rows = [
        ("format", facts.format or "-"),
        ("size", f"{facts.width} x {facts.height}"),
        ("orientation", orientation_text),
        ("captured", facts.captured or "-"),
        ("camera", facts.camera or "-"),
        ("GPS", gps),
        ("serials", ", ".join(facts.serials) or "none"),
        ("maker notes", "yes" if facts.maker_notes else "no"),
        ("thumbnail", "yes" if facts.thumbnail else "no"),
        ("ICC profile", facts.icc_profile or "none (sRGB assumed)"),
        ("EXIF", "yes" if facts.exif else "no"),
        ("XMP", xmp),
        ("IPTC", iptc),
    ]
    return one_line(facts.path) + "\n" + "".join(f"  {label:<13} {one_line(value)}\n" for label, value in rows)


def watched(result: RunResult | None, failures: Sequence[str], config: Config, once: bool, as_json: bool,
            settings: str | None) -> int:  # fmt: skip
    """`gallery watch`: the last batch's block (or JSON) on stdout when it stops; exit 1 only when
    `--once` saw a photo fail or could not write the manifest or post."""
    if result is not None:
        stdout(run_json(result, config, settings) if as_json else result.markup)
    return 1 if once and (failures or (result is not None and result.unwritten)) else 0
