"""The plan of a run: which photos, in which order, under which numbers, names and texts, with which
outputs. Every command starts here, so `process`, `watch`, `preview` and `captions` can never
disagree about a photo's number, name or text.

Only headers are read to make a plan (or the record's copy of them, for unchanged files); no pixel
is decoded. Each planned output carries its cache key (record/keys.py).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from . import formats
from .config.sections import Config
from .image import ingest, pool
from .image.metadata import serial_digest
from .model import (
    Candidate,
    Captions,
    OutputSpec,
    PhotoPlan,
    PhotoText,
    Plan,
    Problem,
    Role,
    SourcePhoto,
)
from .names import default_title, display_name, output_filename, output_stem, slugify
from .record.keys import FileStamps, file_stamps, output_key
from .record.state import PublishedSet, State
from .text.captions_file import load_captions, match_captions
from .text.templates import NO_DATE, photo_text


def make_plan(
    source: Path,
    config: Config,
    state: State,
    *,
    published: PublishedSet | None = None,
    exclude: Collection[str] = (),
    keep_deleted: bool = False,
    found: ingest.Found | None = None,
    captions: Captions | None = None,
) -> Plan:
    """Everything a run will publish from `source`; the record `state` supplies what is known already.

    Read headers of new or changed files are added to `state`, so the next run reads nothing again.
    `published` is the set the output folder holds (its name and title are kept); `found` is the
    folder's listing and `captions` what captions.toml says, when the caller has them already.
    """
    listing = found or ingest.find_candidates(source, config, exclude)
    candidates, failures, warnings = listing.candidates, list(listing.failures), list(listing.skipped)
    photos = _without_duplicates(_read_headers(candidates, state, config, failures), warnings)
    if keep_deleted:
        photos += _deleted_sources(source, state, photos)
    photos = [_clock_corrected(photo, config.time.offsets) for photo in photos]
    name, title = set_name_and_title(source, config, published)
    photo_names = {display_name(photo.path) for photo in photos}
    captions = match_captions(captions or load_captions(source), source, photo_names, listing.names)
    skipped = tuple(photo for photo in photos if display_name(photo.path) in captions.skip)
    instants = ingest.capture_instants(photos)  # the whole set's, skipped photos included: one reading of its clocks
    chosen = [photo for photo in photos if display_name(photo.path) not in captions.skip]
    numbered = number_photos(_in_order(chosen, captions.order, instants), name, title, captions, config)
    warnings += [Problem(photo.path, note) for photo in chosen if (note := oversize_note(photo, config))]
    return Plan(
        source,
        name,
        title,
        numbered,
        tuple(failures),
        tuple(warnings),
        captions,
        skipped,
        listing.set_aside,
        instants,
    )


def _clock_corrected(photo: SourcePhoto, offsets: tuple[tuple[str, str], ...]) -> SourcePhoto:
    """The photo with its camera's `time.offsets` entry added to its capture time (matched by "Make
    Model", the model alone, or the serial number, case-insensitively). A time with an EXIF offset
    keeps it and one without stays without: the correction moves the clock, not its time zone."""
    if photo.captured is None or not offsets:
        return photo
    camera = photo.camera.casefold()

    def matches(name: str) -> bool:
        if photo.serial and serial_digest(name) == photo.serial:
            return True
        name = name.casefold()
        return name == camera or camera.endswith(f" {name}")  # "Make Model", or the model alone

    offset = next((value for name, value in offsets if name.strip() and matches(name.strip())), None)
    if offset is None:
        return photo
    sign = -1 if offset.startswith("-") else 1
    hours, minutes, *seconds = (int(part) for part in offset.lstrip("+-").split(":"))
    shift = timedelta(hours=hours, minutes=minutes, seconds=seconds[0] if seconds else 0)
    return dataclasses.replace(photo, captured=photo.captured + sign * shift)


def _in_order(
    photos: list[SourcePhoto], order: tuple[str, ...], instants: Mapping[Path, datetime]
) -> list[SourcePhoto]:
    """Capture order, except that the photos captions.toml's `order` lists come first, as listed."""
    by_name = {display_name(photo.path): photo for photo in photos}
    first = [by_name[name] for name in dict.fromkeys(order) if name in by_name]
    return first + [photo for photo in ingest.capture_order(photos, instants) if display_name(photo.path) not in order]


def set_name_and_title(source: Path, config: Config, published: PublishedSet | None) -> tuple[str, str]:
    """The set's name and title: as configured, else as last published from this folder, else the folder's.

    So a set published with `--name` keeps its file names when a later command is run without it.
    """
    folder = display_name(source.resolve())
    published = published if published and published.source == str(source.resolve()) else None
    name = slugify(config.output.name or (published.name if published else folder))  # reaches paths: never raw
    title = config.text.title or (published.title if published else default_title(folder))
    return name, title


def number_photos(
    photos: Sequence[SourcePhoto], name: str, title: str, captions: Captions, config: Config
) -> tuple[PhotoPlan, ...]:
    """Give photos in capture order their numbers, file stems, outputs and texts."""
    count, stamps = len(photos), file_stamps(config)
    plans = []
    for number, photo in enumerate(photos, start=1):
        stem = output_stem(name, number, count)
        text = photo_text(
            captions.texts.get(display_name(photo.path), PhotoText()),
            photo.embedded,
            (config.text.alt, config.text.title_template),
            title=title,
            number=number,
            count=count,
            filename=display_name(photo.path),
            date=photo.captured.date() if photo.captured else NO_DATE,
        )
        plans.append(PhotoPlan(photo, number, stem, output_specs(photo, stem, config, stamps), text))
    return tuple(plans)


def output_specs(photo: SourcePhoto, stem: str, config: Config, stamps: FileStamps) -> tuple[OutputSpec, ...]:
    """Every output of one photo, largest first (`stamps`: `file_stamps(config)`). Widths wider than
    the photo collapse to the photo's own width, once per format; the main image is capped at
    `image.max_edge`; an output larger than its format can hold is made smaller, keeping its shape
    (see `oversize_note`)."""
    fitted: dict[tuple[Role, str, int], tuple[Role, str, int, int]] = {}
    for role, fmt, width, height in _planned_sizes(photo, config):
        size = _within_format(fmt, width, height)
        fitted.setdefault((role, fmt, size[0]), (role, fmt, *size))  # two widths made one size: one file
    sized = sorted(fitted.values(), key=lambda item: -item[2])
    chain = [(w, h) for _, _, w, h in sized]
    specs = []
    for index, (role, fmt, width, height) in enumerate(sized):
        filename = output_filename(stem, role, width, formats.get(fmt).extension)
        # The pixels of an output depend on the sizes it was cascaded from, so they are in its key.
        key = output_key(config, role, fmt, sorted(set(chain[: index + 1]), reverse=True), stamps)
        specs.append(OutputSpec(role, fmt, width, height, filename, key))
    return tuple(specs)


def oversize_note(photo: SourcePhoto, config: Config) -> str:
    """The outputs of a photo that `output_specs` made smaller to fit their format, as one line for
    the photo's warning; "" when every output fits."""
    changes, limits = [], {}
    for role, fmt, width, height in _planned_sizes(photo, config):
        fitted = _within_format(fmt, width, height)
        if fitted != (width, height):
            changes.append(f"{fmt} {role} {width}x{height} -> {fitted[0]}x{fitted[1]}")
            limits[fmt] = formats.get(fmt).max_dimension
    if not changes:
        return ""
    rules = ", ".join(f"{fmt}: at most {limit} pixels wide and high" for fmt, limit in limits.items())
    return f"made smaller to fit their format, keeping the photo's shape: {', '.join(changes)} ({rules})"


def _planned_sizes(photo: SourcePhoto, config: Config) -> list[tuple[Role, str, int, int]]:
    """(role, format, width, height) of every output the settings ask for, before format limits."""
    sized: list[tuple[Role, str, int, int]] = []
    if config.image.enabled:
        scale = min(1.0, config.image.max_edge / max(photo.width, photo.height))
        sized.append(("main", config.image.format, *_fit_width(photo, max(1, round(photo.width * scale)))))
    for fmt in config.variants.formats:
        for width in sorted({min(w, photo.width) for w in config.variants.widths}, reverse=True):
            sized.append(("variant", fmt, *_fit_width(photo, width)))
    if config.thumbnail.width:
        size = _crop(photo, config.thumbnail.width, config.thumbnail.crop)
        sized.append(("thumbnail", config.thumbnail.format, *size))
    return sized


def _within_format(fmt: str, width: int, height: int) -> tuple[int, int]:
    """The size, or where its format cannot hold it, the long side at the format's limit and the
    short side in proportion: a photo never fails only because one output cannot be that large."""
    limit = formats.get(fmt).max_dimension
    if max(width, height) <= limit:
        return width, height
    if width >= height:
        return limit, max(1, round(height * limit / width))
    return max(1, round(width * limit / height)), limit


def _crop(photo: SourcePhoto, target: int, aspect: str) -> tuple[int, int]:
    """A thumbnail's size: `target` wide with the photo's shape, or cut to `aspect` ("1:1"), never
    larger than the photo either way."""
    if not aspect:
        return _fit_width(photo, target)
    across, down = (int(part) for part in aspect.split(":"))
    width = min(target, photo.width, photo.height * across // down)
    return max(1, width), max(1, round(width * down / across))


def _fit_width(photo: SourcePhoto, target: int) -> tuple[int, int]:
    """Scale to `target` width, never up; height follows the aspect ratio."""
    width = min(target, photo.width)
    return width, max(1, round(photo.height * width / photo.width))


def _read_headers(
    candidates: list[Candidate], state: State, config: Config, failures: list[Problem]
) -> list[SourcePhoto]:
    """Read headers of new or changed files; reuse what the record knows of files whose size and mtime match."""
    photos: list[SourcePhoto] = []
    fresh: list[Candidate] = []
    for candidate in candidates:
        known = state.known_photo(candidate)
        if known is not None:
            photos.append(known)
        else:
            fresh.append(candidate)
    read = pool.run_all(functools.partial(ingest.read_header, config=config), fresh, workers=config.jobs, threads=True)
    for outcome in read:
        if isinstance(outcome, SourcePhoto):
            photos.append(outcome)
            state.remember_photo(outcome)
        else:
            failures.append(outcome)
    return photos


def _without_duplicates(photos: list[SourcePhoto], warnings: list[Problem]) -> list[SourcePhoto]:
    """The same file twice in a folder would give the post the same photo twice: keep the first."""
    seen: dict[str, Path] = {}
    unique = []
    for photo in sorted(photos, key=lambda p: p.path.name):
        if photo.content_hash in seen:
            warnings.append(Problem(photo.path, f"same content as {seen[photo.content_hash].name}; skipped"))
            continue
        seen[photo.content_hash] = photo.path
        unique.append(photo)
    return unique


def _deleted_sources(source: Path, state: State, present: list[SourcePhoto]) -> list[SourcePhoto]:
    """Photos of this folder that the record knows and that are gone, unless present under another name."""
    folder = source.resolve()
    hashes = {photo.content_hash for photo in present}
    deleted = []
    for photo in state.sources.values():
        kept = photo.content_hash in state.outputs and photo.content_hash not in hashes
        if kept and photo.path.parent == folder and not photo.path.exists():
            deleted.append(photo)
            hashes.add(photo.content_hash)
    return deleted
