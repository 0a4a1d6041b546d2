"""The data every stage and command speaks: plain, frozen dataclasses and nothing else.

This module imports nothing of ours and no image library, so markup, the manifest and the tests of
both can use these types without Pillow. Stages take and return them; the output folder's record
(record/state.py) converts its records to and from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

Role = Literal["main", "variant", "thumbnail"]
TEXT_FIELDS = ("alt", "title", "caption")


@dataclass(frozen=True)
class Problem:
    """One file-level failure or warning, reported with the file's name."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class PhotoText:
    """Alt, title and caption of one photo; an empty field means 'not known here'."""

    alt: str = ""
    title: str = ""
    caption: str = ""

    def or_else(self, fallback: PhotoText) -> PhotoText:
        """Per field, this text when non-empty, else the fallback's."""
        return PhotoText(*(getattr(self, name) or getattr(fallback, name) for name in TEXT_FIELDS))


@dataclass(frozen=True)
class Captions:
    """What a person wrote in captions.toml: texts by file name, the photos to leave out (`skip = true`)
    and an `order` that comes before capture order. Once matched to a folder's photos, the names are
    the photos' own and `notes` says which entries matched none or needed a guess."""

    texts: dict[str, PhotoText] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    order: tuple[str, ...] = ()
    notes: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A directory entry that looks like a photo by content; nothing decoded yet."""

    path: Path
    format: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class SourcePhoto:
    """What ordering and planning need to know about one readable photo."""

    path: Path
    format: str
    size: int
    mtime_ns: int
    content_hash: str
    width: int  # as displayed: orientation applied
    height: int
    captured: datetime | None  # clock-corrected once the plan has applied time.offsets
    embedded: PhotoText = field(default_factory=PhotoText)  # description and title written into the file
    camera: str = ""  # "Make Model" as the EXIF says, for clock offsets and review
    serial: str = ""  # a digest of the body's serial number, only to match time.offsets


@dataclass(frozen=True)
class OutputSpec:
    """One file to write: its role, format, exact pixel size and the cache key of its bytes."""

    role: Role
    format: str
    width: int
    height: int
    filename: str
    key: str

    def written_at(self, path: Path, size: int) -> OutputFile:
        """This output as a file of `size` bytes at `path`."""
        return OutputFile(self.role, self.format, self.width, self.height, size, path, self.key)


@dataclass(frozen=True)
class OutputFile:
    """One written file, as the manifest and markup need it."""

    role: Role
    format: str
    width: int
    height: int
    bytes: int
    path: Path
    key: str


@dataclass(frozen=True)
class Placeholder:
    """What a page shows while a photo loads.

    `color`: "#rrggbb", the most common of a few representative colours; `lqip`: a
    `data:image/webp;base64,...` URI of a tiny version of the photo; `key`: cache key of the output
    it was made from (other pixels mean it must be made again).
    """

    color: str
    lqip: str
    key: str


ANALYSIS_VERSION = 1  # bump when curation's scores change meaning, so cached analyses are made again


@dataclass(frozen=True)
class Analysis:
    """What curation keeps of a photo: plain numbers and strings, which the record stores as they are."""

    phash: str  # 64-bit perceptual hash, 16 hex digits
    sharpness: float  # variance of second differences at WORK_EDGE px; higher is sharper
    mean: float  # mean luminance, 0..1
    shadows: float  # fraction of pixels clipped black (luma <= 5)
    highlights: float  # fraction with a channel clipped white (>= 250)
    p98: float  # luminance of the brightest 2 %, 0..1: "dark" when even that is below mid-grey
    exposure: str  # "dark", "bright" or ""


@dataclass(frozen=True)
class PhotoPlan:
    """One photo as the run will publish it: its number, file names, texts and outputs to have."""

    photo: SourcePhoto
    number: int
    stem: str
    specs: tuple[OutputSpec, ...]
    text: PhotoText


@dataclass(frozen=True)
class Plan:
    """What a run will publish, decided before any pixel is decoded; every command starts here.

    `name` and `title` are the set's; `photos` are in capture order (duplicates and unreadable files
    left out, see `failures` and `warnings`; `skipped`: left out in captions.toml); `captions` is what
    captions.toml holds; `instants` the capture instants of every timed photo, skipped ones included
    (`ingest.capture_instants`): what every comparison of capture times uses.
    """

    source: Path
    name: str
    title: str
    photos: tuple[PhotoPlan, ...]
    failures: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    captions: Captions
    skipped: tuple[SourcePhoto, ...] = ()
    set_aside: dict[str, int] = field(default_factory=dict)  # videos, Live Photo videos, sidecars: counts
    instants: dict[Path, datetime] = field(default_factory=dict)  # source -> aware UTC capture instant

    @property
    def emptied(self) -> bool:
        """Every photo is left out on purpose (`skip = true`) and none failed: the block is emptied.
        When photos failed instead, the post and the manifest are left as they are."""
        return not self.photos and bool(self.skipped) and not self.failures


def needed(photos: Iterable[PhotoPlan]) -> dict[str, set[str]]:
    """Content hash -> the keys of the outputs these planned photos need: what a run keeps."""
    return {photo.photo.content_hash: {spec.key for spec in photo.specs} for photo in photos}


@dataclass(frozen=True)
class PhotoResult:
    """One published photo, in capture order, with everything markup and the manifest need."""

    source: Path
    number: int
    captured: datetime | None
    width: int
    height: int
    outputs: tuple[OutputFile, ...]
    alt: str
    title: str
    caption: str
    markdown: str  # the photo's Markdown line; markup.build fills it in, once per run
    rendered: bool
    color: str = ""  # dominant colour, "#rrggbb": a background while the photo loads
    placeholder: str = ""  # data: URI of a tiny WebP to blur up while the photo loads

    @classmethod
    def of(
        cls, plan: PhotoPlan, outputs: tuple[OutputFile, ...], placeholder: Placeholder | None, rendered: bool
    ) -> PhotoResult:
        """A planned photo as published, once its outputs exist (or, for a dry run, would); its
        Markdown line is markup's to make (`markup.build`)."""
        return cls(
            source=plan.photo.path,
            number=plan.number,
            captured=plan.photo.captured,
            width=plan.photo.width,
            height=plan.photo.height,
            outputs=outputs,
            alt=plan.text.alt,
            title=plan.text.title,
            caption=plan.text.caption,
            markdown="",
            rendered=rendered,
            color=placeholder.color if placeholder else "",
            placeholder=placeholder.lqip if placeholder else "",
        )

    @property
    def main(self) -> OutputFile:
        """The file the Markdown line links to: the main image, else the largest output."""
        return next((o for o in self.outputs if o.role == "main"), self.outputs[0])

    @property
    def thumbnail(self) -> OutputFile:
        """The small picture a grid or a contact sheet shows: the thumbnail, else the narrowest output."""
        return next((o for o in self.outputs if o.role == "thumbnail"), min(self.outputs, key=lambda o: o.width))


@dataclass(frozen=True)
class RunResult:
    """What `process` returns: the photos as published, what failed and what to warn about."""

    photos: tuple[PhotoResult, ...]
    failures: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    bytes_in: int
    bytes_out: int
    seconds: float
    markup: str  # the post's image block in the configured [markup] style: what is printed and posted
    alt_warnings: tuple[Problem, ...] = ()  # alt-text lint: missing, file names, too long, all alike
    name: str = ""
    title: str = ""
    post_change: str = ""  # "created", "updated" or "unchanged" with a post file; "" without one
    set_aside: dict[str, int] = field(default_factory=dict)  # files of the folder that are not photos, by kind
    plan: Plan | None = None  # what the run set out to do (skipped photos included), for review and the editor
    unwritten: tuple[Problem, ...] = ()  # the manifest or post that could not be written (not photos)
    analyses: dict[str, Analysis] = field(default_factory=dict)  # content hash -> curation scores, as recorded

    @property
    def ok(self) -> bool:
        return not self.failures and not self.unwritten

    @property
    def markdown(self) -> str:
        """The plain Markdown block: one line per photo, in capture order, whatever the markup style."""
        return "".join(f"{photo.markdown}\n" for photo in self.photos)

    @property
    def processed(self) -> int:
        return sum(photo.rendered for photo in self.photos)

    @property
    def unchanged(self) -> int:
        return len(self.photos) - self.processed

    def summary(self) -> str:
        aside = f" ({set_aside_text(self.set_aside)} skipped)" if self.set_aside else ""
        return (
            f"{len(self.photos) + len(self.failures)} photos: {self.processed} processed, "
            f"{self.unchanged} unchanged, {len(self.failures)} failed{aside}; "
            f"{self.bytes_in / 1e6:.1f} MB in, {self.bytes_out / 1e6:.1f} MB out; {self.seconds:.1f} s"
        )


def set_aside_text(counts: dict[str, int]) -> str:
    """`3 videos and 2 sidecars`: what of a phone's dump is not a photo, said once."""
    parts = [f"{count} {kind}{'s' if count != 1 else ''}" for kind, count in sorted(counts.items())]
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)
