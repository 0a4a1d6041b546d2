"""Stage 3, render: decode each photo once and write every output size from it.

The levers every fast image pipeline uses: decode JPEGs at the smallest DCT scale that still covers
the largest output (`Image.draft`, libjpeg's shrink-on-load), then cascade — each smaller output is
resized from the next larger one rather than from the full-size original.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image

from .config import Config
from .ingest import PhotoError, SourcePhoto, open_image
from .metadata import (
    apply_orientation,
    flatten,
    normalise_mode,
    output_exif,
    read_exif,
    swaps_axes,
    to_output_colour,
)
from .placeholder import Placeholder, make_placeholder

# Bump when a code change alters output bytes for the same settings, so caches re-render.
RENDER_VERSION = 3
# Downscale by whole-block averaging down to this many times the target size, then resample finely.
REDUCING_GAP = 3.0
HEIF_BAND_ROWS = 512

Role = Literal["main", "variant", "thumbnail"]
EXTENSIONS = {"jpeg": ".jpeg", "webp": ".webp", "avif": ".avif"}
PILLOW_FORMATS = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}


@dataclass(frozen=True)
class OutputSpec:
    """One file to write: its role, format, exact pixel size and the cache key of its bytes."""

    role: Role
    format: str
    width: int
    height: int
    filename: str
    key: str


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
class RenderJob:
    """Everything a worker needs to render one photo; pickles cheaply for a process pool."""

    photo: SourcePhoto
    specs: tuple[OutputSpec, ...]
    encode: frozenset[str]
    out_dir: Path
    config: Config


@dataclass(frozen=True)
class RenderResult:
    photo: SourcePhoto
    outputs: tuple[OutputFile, ...] = ()
    error: str | None = None
    warnings: tuple[str, ...] = ()
    placeholder: Placeholder | None = None


def output_stem(name: str, number: int, count: int) -> str:
    """`name-07`: two digits at least, wider when a set has more than 99 photos."""
    return f"{name}-{number:0{max(2, len(str(count)))}d}"


def fit_width(width: int, height: int, target: int) -> tuple[int, int]:
    """Scale to `target` width, never up; height follows the aspect ratio."""
    target = min(target, width)
    return target, max(1, round(height * target / width))


def plan_outputs(photo: SourcePhoto, stem: str, config: Config) -> tuple[OutputSpec, ...]:
    """Every output of one photo, largest first, with names that sort and never collide.

    Names: `stem.jpeg` (main), `stem-0960w.webp` (variants, width zero-padded to four digits so
    they sort numerically), `stem-thumb.webp` (thumbnail). Widths wider than the photo collapse to
    the photo's own width, once per format.
    """
    sized: list[tuple[Role, str, int, int, str]] = []
    if config.image.enabled:
        scale = min(1.0, config.image.max_edge / max(photo.width, photo.height))
        width = max(1, round(photo.width * scale))
        width, height = fit_width(photo.width, photo.height, width)
        fmt = config.image.format
        sized.append(("main", fmt, width, height, f"{stem}{EXTENSIONS[fmt]}"))
    for fmt in config.variants.formats:
        for width in sorted({min(w, photo.width) for w in config.variants.widths}, reverse=True):
            width, height = fit_width(photo.width, photo.height, width)
            sized.append(("variant", fmt, width, height, f"{stem}-{width:04d}w{EXTENSIONS[fmt]}"))
    if config.thumbnail.width:
        fmt = config.thumbnail.format
        width, height = fit_width(photo.width, photo.height, config.thumbnail.width)
        sized.append(("thumbnail", fmt, width, height, f"{stem}-thumb{EXTENSIONS[fmt]}"))
    sized.sort(key=lambda item: -item[2])
    chain = [(w, h) for _, _, w, h, _ in sized]
    specs = []
    for index, (role, fmt, width, height, filename) in enumerate(sized):
        # The pixels of an output depend on the sizes it was cascaded from, so they are in its key.
        key = _spec_key(config, role, fmt, sorted(set(chain[: index + 1]), reverse=True))
        specs.append(OutputSpec(role, fmt, width, height, filename, key))
    return tuple(specs)


def _spec_key(config: Config, role: Role, fmt: str, chain: list[tuple[int, int]]) -> str:
    quality = config.quality
    encoder = {
        "jpeg": [quality.jpeg, quality.jpeg_optimize],
        "webp": [quality.webp, quality.webp_method],
        "avif": [quality.avif, quality.avif_speed],
    }[fmt]
    meta = config.metadata
    material = [
        RENDER_VERSION,
        role,
        fmt,
        encoder,
        chain,
        meta.policy,
        list(meta.allow),
        meta.gps,
        meta.serials,
        meta.maker_notes,
        meta.thumbnail,
        meta.color,
        meta.background,
    ]
    return hashlib.blake2b(json.dumps(material).encode(), digest_size=8).hexdigest()


def render(job: RenderJob) -> RenderResult:
    """Render one photo; any failure becomes a result with a reason, never an exception.

    Decoders' own warnings (a TIFF tag past the end of the file, ...) become warnings of this photo,
    so the person reading them learns which file they are about.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outputs, notes, placeholder = _render(job)
        except PhotoError as error:
            return RenderResult(job.photo, error=str(error))
        except MemoryError:
            return RenderResult(job.photo, error="ran out of memory while decoding")
        except Exception as error:  # damaged data makes decoders raise almost anything (fuzzing found TypeError)
            return RenderResult(job.photo, error=f"cannot decode image data: {_plain(error)}")
    decoder_notes = dict.fromkeys(f"decoder warning: {warning.message}" for warning in caught)
    return RenderResult(job.photo, outputs, warnings=(*notes, *decoder_notes), placeholder=placeholder)


def _plain(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if "truncated" in text:
        return f"the file is truncated or damaged ({text})"
    return text


def _render(job: RenderJob) -> tuple[tuple[OutputFile, ...], tuple[str, ...], Placeholder]:
    config, specs = job.config, job.specs
    largest = specs[0]
    with open_image(job.photo.path, config) as image:
        exif = read_exif(image)
        notes = [] if exif or not image.info.get("exif") else ["its EXIF metadata is unreadable and was dropped"]
        stored = (largest.height, largest.width) if swaps_axes(exif) else (largest.width, largest.height)
        if image.format in ("JPEG", "MPO"):
            image.draft(None, stored)
        icc = image.info.get("icc_profile") or None
        published = output_exif(exif, config.metadata, image.info.get("exif"))
        if published.warning:
            notes.append(published.warning)
        current = normalise_mode(_decoded(image, stored))
        if current.size != stored:
            # Convert colour after the first downscale: the same result on far fewer pixels.
            current = current.resize(stored, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        else:
            current = current.copy()  # detach from the file, which closes below
        current.info = {}  # the source's comment, XMP and profile must not ride along into the outputs
    colour = to_output_colour(current, icc, config.metadata)
    if colour.warning:
        notes.append(colour.warning)
    current = apply_orientation(colour.image, exif)
    written: list[OutputFile] = []
    try:
        for spec in specs:
            if current.size != (spec.width, spec.height):
                current = current.resize((spec.width, spec.height), Image.Resampling.LANCZOS)
            if spec.key in job.encode:
                path = job.out_dir / spec.filename
                size = write_atomically(current, path, spec.format, config, colour.icc_profile, published.exif)
                written.append(OutputFile(spec.role, spec.format, spec.width, spec.height, size, path, spec.key))
    except BaseException:
        for output in written:  # a photo comes out whole or not at all (e.g. the disk filled up)
            output.path.unlink(missing_ok=True)
        raise
    # `current` is now the smallest output: the placeholder costs a resize of a few hundred pixels.
    return tuple(written), tuple(notes), make_placeholder(current, config.metadata.background, specs[-1].key)


def _decoded(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Decode the pixels, no smaller than `size`; a large HEIF is box-reduced band by band.

    HEIF has no shrink-on-load, and pillow-heif's `load()` copies libheif's decoded frame into
    Pillow (at four bytes a pixel) while libheif still holds it: 1.4 GB for a 200-MP phone photo
    before any resize. Reducing libheif's buffer a band at a time keeps only libheif's copy.
    """
    heif_file = getattr(image, "_heif_file", None)
    frame = heif_file[image.tell()] if image.format == "HEIF" and heif_file is not None else None
    if frame is None or frame.mode not in ("RGB", "RGBA", "L"):
        image.load()
        return image
    width, height = frame.size
    factor = int(min(width / size[0], height / size[1]) / REDUCING_GAP)
    if factor < 2:
        image.load()
        return image
    data = memoryview(frame.data)
    band = factor * max(1, HEIF_BAND_ROWS // factor)
    reduced = Image.new(frame.mode, (-(-width // factor), -(-height // factor)))
    for top in range(0, height, band):
        rows = min(band, height - top)
        strip = data[top * frame.stride : (top + rows) * frame.stride]
        pixels = Image.frombuffer(frame.mode, (width, rows), strip, "raw", frame.mode, frame.stride, 1)
        reduced.paste(pixels.reduce(factor), (0, top // factor))
    return reduced


def write_atomically(
    image: Image.Image,
    path: Path,
    fmt: str,
    config: Config,
    icc_profile: bytes | None,
    exif: bytes | None,
) -> int:
    """Encode in memory, write a hidden temp file beside the target and rename it into place.

    A reader (or a crash) never sees a half-written output; the dot prefix keeps an abandoned temp
    file out of static-site builds and out of our own discovery. Encoding in memory first matters:
    Pillow's JPEG encoder writing straight to a file ignores a short write (a file-size limit), so
    a cut-off JPEG would be renamed into place. The temp file is created exclusively, so a file or
    link planted under its name is never written through.
    """
    options: dict[str, object] = {}
    quality = config.quality
    if fmt == "jpeg":
        image = flatten(image, config.metadata.background)
        options = {"quality": quality.jpeg, "progressive": True, "optimize": quality.jpeg_optimize}
    elif fmt == "webp":
        options = {"quality": quality.webp, "method": quality.webp_method}
    elif fmt == "avif":
        options = {"quality": quality.avif, "speed": quality.avif_speed}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if exif:
        options["exif"] = exif
    encoded = io.BytesIO()
    image.save(encoded, PILLOW_FORMATS[fmt], **options)
    data = encoded.getbuffer()
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("xb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise PhotoError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return len(data)
