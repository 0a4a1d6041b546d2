"""`gallery captions`: start or extend the captions.toml a person fills in beside the photos.

Existing text is never rewritten: the file is kept byte for byte (comments included) and entries
for photos it does not list yet are appended, in the plan's order and with the plan's numbers
(the same `process` gives), pre-filled with any description and title embedded in the photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config.sections import Config
from ..errors import OutputError
from ..files import write_text_if_changed
from ..model import PhotoText, Problem, SourcePhoto
from ..names import display_name
from ..text.captions_file import CAPTIONS_FILE, captions_entry, merge_captions
from .review import ReviewedPhoto, review


@dataclass(frozen=True)
class CaptionsUpdate:
    path: Path
    added: tuple[str, ...]  # file names of the new entries
    kept: int  # entries that were already there
    photos: int  # photos in the folder
    missing_alt: tuple[str, ...]  # photos with no alt in the file and none embedded
    problems: tuple[Problem, ...]
    notes: tuple[Problem, ...]  # entries of the file that match no photo, or needed a guess


def update_captions(source: Path, config: Config, write: bool = True, skip_suggested: bool = False) -> CaptionsUpdate:
    """Add an entry per photo not yet in SOURCE/captions.toml; raise ConfigError if the file is malformed.

    The output folder's record spares reading headers it already knows, and its curation scores
    give each new entry a note on its burst and flags. With `skip_suggested` the photos are rendered
    first (as `gallery review` does), and new entries for the frames review does not suggest get
    `skip = true`. Without `write` (a dry run), or without any photo, nothing
    is written.
    """
    path = source / CAPTIONS_FILE
    reviewed = review(source, config, render=skip_suggested)
    plan, curated = reviewed.plan, {photo.source.name: photo for photo in reviewed.photos}
    written = plan.captions.texts  # keyed by the photos' display names, as entries are written
    count = sum(1 for photo in reviewed.photos if photo.number)
    entries: list[tuple[str, str]] = []
    problems = list(reviewed.failures)
    for photo in plan.photos:
        name = display_name(photo.photo.path)  # the key: valid UTF-8 whatever the name's bytes
        found = curated.get(photo.photo.path.name)
        if name in written or found is None:  # an entry already, or a photo that failed: said above
            continue
        if name in dict(entries):  # NFC and NFD spellings of a name, or a `\xe9` typed and the byte
            problems.append(Problem(photo.photo.path, f"reads as {name!r} like another photo: one entry serves both"))
            continue
        skip = skip_suggested and _not_suggested(found)
        entries.append((name, captions_entry(name, photo.photo.embedded, _note(photo.photo, found, count), skip)))
    try:
        existing = path.read_bytes().decode("utf-8") if path.exists() else None
        text = merge_captions(existing, entries)
        if write and plan.photos:
            write_text_if_changed(path, text)  # unchanged text is not rewritten; a link there is replaced
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    missing = tuple(
        display_name(photo.photo.path)
        for photo in plan.photos
        if photo.photo.path.name in curated
        and not written.get(display_name(photo.photo.path), PhotoText()).or_else(photo.photo.embedded).alt
    )
    added = tuple(name for name, _ in entries)
    return CaptionsUpdate(path, added, len(written), len(plan.photos), missing, tuple(problems), plan.captions.notes)


def _note(photo: SourcePhoto, found: ReviewedPhoto, count: int) -> str:
    """`photo 3 of 7, taken 2008-10-22 14:32, 640x480; burst with B.jpg; blurry`: which photo an
    entry is (numbered as review and the published set number it), and what review found, at a glance."""
    taken = f", taken {photo.captured:%Y-%m-%d %H:%M}" if photo.captured else ""
    note = f"photo {found.number} of {count}{taken}, {photo.width}x{photo.height}"
    if found.burst:
        note += f"; burst with {', '.join(found.burst)}"
        if found.suggested == photo.path.name:
            note += "; the best of its burst"
        else:  # an equally sharp original is suggested over a copy: "sharper" only where it is
            note += f"; {found.suggested} is {'sharper' if 'blurry' in found.flags else 'suggested'}"
    if found.flags:
        note += f"; {', '.join(found.flags)}"
    return note


def _not_suggested(found: ReviewedPhoto) -> bool:
    """A frame of a burst other than its pick, or a blurry photo."""
    return (bool(found.burst) and not found.pick) or "blurry" in found.flags
