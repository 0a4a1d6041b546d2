"""`gallery captions`: start or extend the captions.toml a person fills in beside the photos.

Existing text is never rewritten: the file is kept byte for byte (comments included) and entries
for photos it does not list yet are appended, in capture order, pre-filled with any description
and title embedded in the photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import cache, ingest, texts
from .config import Config
from .ingest import PhotoError, Problem, SourcePhoto


@dataclass(frozen=True)
class CaptionsUpdate:
    path: Path
    added: tuple[str, ...]  # file names of the new entries
    kept: int  # entries that were already there
    missing_alt: tuple[str, ...]  # photos with no alt in the file and none embedded
    problems: tuple[Problem, ...]


def update_captions(source: Path, config: Config) -> CaptionsUpdate:
    """Add an entry per photo not yet in SOURCE/captions.toml; raise ConfigError if the file is malformed."""
    path = source / texts.CAPTIONS_FILE
    written = texts.load_captions(source)  # refuse to append to a file that does not parse
    candidates, problems, _ = ingest.find_candidates(source, config)
    photos: list[SourcePhoto] = []
    for candidate in candidates:
        try:
            photos.append(ingest.inspect_source(candidate, config))
        except PhotoError as error:
            problems.append(Problem(candidate.path, str(error)))
    ordered = ingest.capture_order(photos)
    new = [photo for photo in ordered if photo.path.name not in written]
    entries = [
        (photo.path.name, texts.captions_entry(photo.path.name, photo.embedded, _note(photo, ordered))) for photo in new
    ]
    existing = path.read_bytes().decode("utf-8") if path.exists() else None
    text = texts.merge_captions(existing, entries)
    if text != existing:
        cache.write_text_atomically(path, text)
    missing = tuple(
        photo.path.name
        for photo in ordered
        if not written.get(photo.path.name, texts.PhotoText()).or_else(photo.embedded).alt
    )
    return CaptionsUpdate(path, tuple(name for name, _ in entries), len(written), missing, tuple(problems))


def _note(photo: SourcePhoto, ordered: list[SourcePhoto]) -> str:
    """`photo 3 of 7, taken 2008-10-22 14:32, 640x480`: which photo an entry is, at a glance."""
    taken = f", taken {photo.captured:%Y-%m-%d %H:%M}" if photo.captured else ""
    return f"photo {ordered.index(photo) + 1} of {len(ordered)}{taken}, {photo.width}x{photo.height}"
