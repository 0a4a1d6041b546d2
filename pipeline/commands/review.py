"""`gallery review`: every photo of a folder with what curation found, to choose what to publish.

Photos are rendered (or found rendered) through the same run as `gallery process`, without
publishing; curation's scores come from the pixels rendering decoded and stay in the record, so a
second review of an unchanged folder decodes nothing. Nothing is ever dropped here: bursts are
grouped, soft and badly exposed frames flagged, and one photo per burst suggested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config.sections import Config
from ..errors import ConfigError
from ..image.ingest import capture_order
from ..model import Analysis, Plan, Problem, RunResult, SourcePhoto
from ..names import display_name
from ..publish.manifest import manifest_path, read_manifest
from ..run import Target, prepare, process
from . import curation


@dataclass(frozen=True)
class ReviewedPhoto:
    source: Path
    number: int | None  # None when captions.toml skips it
    captured: datetime | None  # after time.offsets
    camera: str
    width: int
    height: int
    group: int | None  # bursts are numbered 1, 2, ... in capture order; None for a photo on its own
    burst: tuple[str, ...]  # the other photos of its burst
    suggested: str  # the photo its burst suggests ("" for a photo on its own)
    flags: tuple[str, ...]  # "blurry", "dark", "bright"
    pick: bool  # suggested: the best of its burst (a photo on its own, unless flagged blurry)
    skipped: bool
    published: bool  # in the set's published manifest


@dataclass(frozen=True)
class Review:
    plan: Plan
    photos: tuple[ReviewedPhoto, ...]
    failures: tuple[Problem, ...]  # photos that could not be read or decoded: left out of `photos`


def review(source: Path, config: Config, render: bool = True) -> Review:
    """Render what is missing into the private folder (publishing nothing), then group, flag and
    suggest from the scores.

    Without `render`, only the scores already recorded (by review, preview or process) are used:
    photos never rendered get no group or flags. That is what `gallery captions` notes without
    being asked to render.
    """
    if render:
        result = process(source, config, publish=False)
        if result.plan is not None:
            return judged(result, result.plan, config)
    run = prepare(source, config, Target.of(config, publish=False))
    numbers = {photo.photo.path: photo.number for photo in run.plan.photos}
    return _judge(run.plan, run.state.analyses, run.plan.failures, numbers, config)


def judged(result: RunResult, plan: Plan, config: Config) -> Review:
    """Review of a run (of `plan`, the run's own): its photos under the numbers it gave them (a photo
    that failed to decode has none: the others close up, as in the published set)."""
    numbers = {photo.source: photo.number for photo in result.photos}
    return _judge(plan, result.analyses, result.failures, numbers, config)


def _judge(
    plan: Plan,
    analyses: Mapping[str, Analysis],
    failures: Sequence[Problem],
    numbers: Mapping[Path, int],
    config: Config,
) -> Review:
    """Group, flag and suggest over a plan's photos (skipped ones included, failed ones left out) from their scores."""
    failed = {problem.path for problem in failures}
    # Published photos by number, then skipped ones in capture order.
    photos = [photo.photo for photo in plan.photos if photo.photo.path not in failed]
    photos += capture_order(plan.skipped, plan.instants)
    scored = [(photo, analyses.get(photo.content_hash)) for photo in photos]
    shots = [_shot(photo, analysis, plan.instants) for photo, analysis in scored if analysis]
    groups = curation.group(shots)
    published = _published(config, Path(config.output.dir), plan.name)
    reviewed = [_reviewed(photo, analysis, groups, numbers, published) for photo, analysis in scored]
    return Review(plan, tuple(reviewed), tuple(failures))


def _shot(photo: SourcePhoto, analysis: Analysis, instants: Mapping[Path, datetime]) -> curation.Shot:
    """What curation judges a photo by: its scores, its capture instant, and what the header says of its
    origin (pixels, camera), so an untouched original is preferred to a copy without a second decode."""
    return curation.Shot(photo.path.name, instants.get(photo.path), analysis, photo.width * photo.height, photo.camera)


def _reviewed(
    photo: SourcePhoto,
    analysis: Analysis | None,
    groups: list[curation.Group],
    numbers: Mapping[Path, int],
    published: set[str],
) -> ReviewedPhoto:
    name = photo.path.name
    index, found = next(((i, g) for i, g in enumerate(_bursts(groups), start=1) if name in g.ids), (None, None))
    own = found or next((g for g in groups if name in g.ids), None)
    shot = next((s for s in own.shots if s.id == name), None) if own else None
    flags = tuple(curation.flags(shot, own)) if shot and own else ()
    return ReviewedPhoto(
        source=photo.path,
        number=numbers.get(photo.path),
        captured=photo.captured,
        camera=photo.camera,
        width=photo.width,
        height=photo.height,
        group=index,
        burst=tuple(other for other in found.ids if other != name) if found else (),
        suggested=found.pick if found else "",
        flags=flags,
        pick=bool(own and own.pick == name and "blurry" not in flags),
        skipped=photo.path not in numbers,
        published=display_name(photo.path) in published,
    )


def _bursts(groups: list[curation.Group]) -> list[curation.Group]:
    return [group for group in groups if len(group.shots) > 1]


def _published(config: Config, out_dir: Path, name: str) -> set[str]:
    """The source names of the set as last published: its manifest's photos."""
    path = manifest_path(config, out_dir, name)
    if path is None or not path.is_file():
        return set()
    try:
        _, _, photos = read_manifest(path, out_dir)
    except ConfigError:  # a manifest that is not gallery's, or damaged: nothing counts as published
        return set()
    return {str(photo.source) for photo in photos}


def as_json(reviewed: Review) -> dict[str, Any]:
    return {
        "source": str(reviewed.plan.source),
        "photos": [
            {
                "source": display_name(photo.source),
                "number": photo.number,
                "captured": photo.captured.isoformat() if photo.captured else None,
                "camera": photo.camera,
                "width": photo.width,
                "height": photo.height,
                "group": photo.group,
                "burst": list(photo.burst),
                "flags": list(photo.flags),
                "pick": photo.pick,
                "skipped": photo.skipped,
                "published": photo.published,
            }
            for photo in reviewed.photos
        ],
        "failures": [str(failure) for failure in reviewed.failures],
    }
