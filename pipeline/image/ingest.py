"""Stage 1, ingest: find photos by their content, read what ordering needs, reject bad files.

Files are recognised by their first bytes, never by extension: a `.heic` that is really a JPEG and a
HEIF named `.jpg` both occur in the wild. Only headers are read here; pixels are decoded in render.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import warnings
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timezone
from pathlib import Path
from typing import NamedTuple

import pillow_heif
from PIL import Image, UnidentifiedImageError

from ..config.sections import Config
from ..errors import PhotoError
from ..model import Candidate, Problem, SourcePhoto
from ..names import display_name
from ..text.clean import embedded_text
from .metadata import capture_time, read_metadata, swaps_axes

# Pillow discovers formats through registered openers; pillow-heif plugs HEIF into the same table.
pillow_heif.register_heif_opener()

# (offset, magic bytes, format). HEIF/AVIF are ISO-BMFF: an `ftyp` box whose brand names the codec.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"II*\x00", "tiff"),
    (0, b"MM\x00*", "tiff"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".heic",
    ".heif",
    ".hif",
    ".avif",
    ".mpo",
}
# Names that browsers, sync clients and editors give a file while it is still being written; the
# file becomes a photo only once renamed to its final name. Dotfiles (rsync, Syncthing, macOS `._*`)
# are skipped separately.
TEMPORARY_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", "~")


def sniff(head: bytes) -> str | None:
    """Name the image format from a file's first bytes, or None if it is not one we read."""
    for offset, magic, name in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brands = {head[i : i + 4] for i in range(8, min(len(head), 64), 4)}
        if brands & _AVIF_BRANDS:
            return "avif"
        if brands & _HEIF_BRANDS:
            return "heif"
    return None


def is_temporary_name(name: str) -> bool:
    """A dotfile or a name of a file still being written (`IMG_1.jpg.part`, `x.crdownload`, `x~`)."""
    return name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES)


# A phone's dump holds more than photos: these are recognised and counted once, never errors.
VIDEO_SUFFIXES = frozenset({".mov", ".mp4", ".m4v", ".3gp", ".avi", ".mts", ".mkv", ".webm"})
SIDECAR_SUFFIXES = frozenset({".aae", ".xmp", ".thm"})  # iOS edit instructions, XMP sidecars, video thumbnails


class Found(NamedTuple):
    """A folder's listing: the photos, the image-like files that cannot be used, the entries skipped
    on purpose (links out of the folder), what was set aside by kind ("video": 3), and the names of
    every entry (captions.toml's entries are matched against them)."""

    candidates: list[Candidate]
    failures: list[Problem]
    skipped: list[Problem]
    set_aside: dict[str, int]
    names: frozenset[str]


def folder_of(path: Path, holding: str = "photos") -> Path:
    """The folder a command was given, or a PhotoError that says it is not one: the one such check."""
    if not path.is_dir():
        raise PhotoError(f"{path} is not a folder of {holding}")
    return path


def find_candidates(source: Path, config: Config, exclude: Collection[str] = ()) -> Found:
    """List the photos in `source` (not recursive), sniffing each file's first bytes.

    Returns the candidates in name order, the image-like files that cannot be used (errors) and
    the entries skipped on purpose, such as symbolic links out of the folder (warnings). Files that are
    neither images by content nor by name (notes, sidecars) are ignored silently; so are temporary
    names (dotfiles, which covers macOS `._*` companions and our own temp files, and downloads in
    progress) and the names in `exclude` (watch mode's files that are still settling).
    """
    root = folder_of(source).resolve()
    candidates: list[Candidate] = []
    problems: list[Problem] = []
    skipped: list[Problem] = []
    set_aside: Counter[str] = Counter()
    entries = sorted(source.iterdir())
    still_stems = {path.stem for path in entries if path.suffix.lower() in IMAGE_SUFFIXES}
    for path in entries:
        if is_temporary_name(path.name) or path.name in exclude:
            continue
        looks_like_image = path.suffix.lower() in IMAGE_SUFFIXES
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if not target.exists():
                skipped.append(Problem(path, "broken symbolic link, skipped"))
                continue
            if not config.limits.follow_external_symlinks and not target.is_relative_to(root):
                skipped.append(Problem(path, f"symbolic link to {target}, outside the source folder; skipped"))
                continue
        try:
            info = path.stat()
        except OSError as error:
            problems.append(Problem(path, f"cannot be read: {error.strerror}"))
            continue
        if not stat.S_ISREG(info.st_mode):
            if looks_like_image:
                problems.append(Problem(path, "not a regular file, skipped"))
            continue
        try:
            with path.open("rb") as handle:
                head = handle.read(64)
        except OSError as error:
            problems.append(Problem(path, f"cannot be read: {error.strerror}"))
            continue
        kind = sniff(head)
        if kind is None:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                # A Live Photo is a still and a short video of the same name: the still is the photo.
                set_aside["Live Photo video" if path.stem in still_stems else "video"] += 1
            elif path.suffix.lower() in SIDECAR_SUFFIXES:
                set_aside["sidecar"] += 1
            elif looks_like_image:
                reason = (
                    "empty file (0 bytes)"
                    if info.st_size == 0
                    else ("not an image: its content is not JPEG, PNG, WebP, GIF, TIFF, HEIF or AVIF")
                )
                problems.append(Problem(path, reason))
            continue
        candidates.append(Candidate(path, kind, info.st_size, info.st_mtime_ns))
    return Found(candidates, problems, skipped, dict(set_aside), frozenset(display_name(path) for path in entries))


def hash_file(path: Path) -> str:
    """Content hash used as the cache identity of a photo (renames keep their outputs)."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def open_image(path: Path, config: Config) -> Iterator[Image.Image]:
    """Open an image lazily and refuse it before decoding if it declares too many pixels.

    Pillow's own bomb check fires only at twice MAX_IMAGE_PIXELS; we set that limit from the
    config and check the declared size ourselves, so real 200-MP phone photos pass and bombs
    (billions of pixels in a few bytes) fail with a message that names their size.
    """
    limit = config.limits.max_pixels
    Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as error:
        raise PhotoError(
            f"refused: it declares {_declared_pixels(str(error))} pixels, over the limit of {limit:,} "
            "(limits.max_pixels); a decompression bomb or a damaged header"
        ) from None
    except UnidentifiedImageError:
        raise PhotoError("not a readable image (unknown or damaged format)") from None
    except Exception as error:  # a damaged header makes Pillow's parsers raise almost anything
        raise PhotoError(f"damaged or unsupported image: {error or type(error).__name__}") from None
    with image:
        width, height = image.size
        if width * height > limit:
            raise PhotoError(
                f"refused: {width}x{height} = {width * height:,} pixels is over the limit of {limit:,} "
                "(limits.max_pixels)"
            )
        if width == 0 or height == 0:
            raise PhotoError("image has no pixels (zero width or height)")
        yield image


def _declared_pixels(message: str) -> str:
    """Pillow's bomb error says 'Image size (N pixels) exceeds ...'; keep N for the person reading it."""
    found = re.search(r"\((\d+) pixels\)", message)
    return f"{int(found[1]):,}" if found else "too many"


def read_header(candidate: Candidate, config: Config) -> SourcePhoto | Problem:
    """`inspect_source`, with any failure as the photo's Problem: one photo, never the run."""
    try:
        return inspect_source(candidate, config)
    except PhotoError as error:
        return Problem(candidate.path, str(error))
    except OSError as error:
        return Problem(candidate.path, f"cannot be read: {error.strerror or error}")
    except Exception as error:  # damaged headers make parsers raise almost anything
        return Problem(candidate.path, f"damaged header: {error or type(error).__name__}")


def inspect_source(candidate: Candidate, config: Config) -> SourcePhoto:
    """Read the header of one candidate: displayed size, capture time, embedded text, content hash."""
    with open_image(candidate.path, config) as image:
        metadata = read_metadata(image, candidate.path)
        width, height = image.size
        if swaps_axes(metadata.orientation):
            width, height = height, width
        captured = capture_time(metadata.exif)
        embedded = embedded_text(metadata.descriptions(), metadata.titles())
        camera, serial = metadata.camera(), metadata.serial()
    return SourcePhoto(
        path=candidate.path,
        format=candidate.format,
        size=candidate.size,
        mtime_ns=candidate.mtime_ns,
        content_hash=hash_file(candidate.path),
        width=width,
        height=height,
        captured=captured,
        embedded=embedded,
        camera=camera,
        serial=serial,
    )


def capture_instants(photos: Iterable[SourcePhoto]) -> dict[Path, datetime]:
    """When each timed photo of a set was taken, as instants that compare (aware, in UTC): decision D2.

    A time with an EXIF offset is that instant. A time without one is read in the offset most common
    among the set's photos that have one (on a tie, the earliest such photo's), since a camera
    without offsets at an event is usually set to the same local time as the phones beside it; with
    no offset in the set, it is read as UTC. Every comparison of capture times (order, bursts,
    review) goes through here, so a phone's time and a camera's never meet unconverted. Untimed photos
    are left out.
    """
    timed = {photo.path: photo.captured for photo in photos if photo.captured is not None}
    aware = sorted((_utc(moment), path.name, moment.utcoffset()) for path, moment in timed.items() if moment.tzinfo)
    votes = Counter(offset for *_, offset in aware)
    common = next((offset for *_, offset in aware if votes[offset] == max(votes.values())), None)
    zone = timezone(common) if common is not None else UTC
    return {path: _utc(moment if moment.tzinfo else moment.replace(tzinfo=zone)) for path, moment in timed.items()}


def capture_order(photos: Sequence[SourcePhoto], instants: Mapping[Path, datetime]) -> list[SourcePhoto]:
    """Sort photos by capture instant, then by file name; photos without a time come last by name.

    `instants` are the whole set's (`capture_instants`), also when `photos` are only part of it, as
    when the plan leaves photos that captions.toml skips out of the order but not out of the set.
    """
    return sorted(photos, key=lambda p: (p.path not in instants, instants.get(p.path, _EPOCH), p.path.name))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    """The instant in UTC; a time at the edge of the calendar (year 1 at +09:00) is kept on its wall clock."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return moment.replace(tzinfo=UTC)
