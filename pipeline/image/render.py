"""Stage 3, render: decode each photo once and write every output size from it.

The levers every fast image pipeline uses: decode JPEGs at the smallest DCT scale that still covers
the largest output (`Image.draft`, libjpeg's shrink-on-load), then cascade: each smaller output is
resized from the next larger one rather than from the full-size original.
"""

from __future__ import annotations

import importlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageColor, ImageOps

from .. import formats
from ..config.sections import Config
from ..errors import ConfigError, PhotoError
from ..files import write_atomically
from ..model import Analysis, OutputFile, OutputSpec, Placeholder, SourcePhoto
from . import jpeg_segments, scores, watermark
from .colour import apply_orientation, flatten, normalise_mode, to_output_colour
from .exif_policy import published_exif
from .ingest import open_image
from .metadata import read_metadata, swaps_axes
from .placeholder import make_placeholder
from .watermark import Mark, stamp

# A JPEG ready for the web is published as it is (metadata rewritten) unless re-encoding makes it
# at most this fraction of its size: a smaller file bought with a generation of quality.
RECOMPRESS_GAIN = 0.9
# Downscale by whole-block averaging down to this many times the target size, then resample finely.
REDUCING_GAP = 3.0
HEIF_BAND_ROWS = 512


@dataclass(frozen=True)
class RenderJob:
    """Everything a worker needs to render one photo; pickles cheaply for a process pool or a cluster."""

    photo: SourcePhoto
    specs: tuple[OutputSpec, ...]
    targets: dict[str, Path]  # key -> where to write that output; specs not listed are only resized through
    config: Config
    mark: Mark | None  # the run's watermark, made once by `prepare`


def before_run(config: Config) -> Mark | None:
    """What a run checks and makes once, before anything is created or locked, where the check needs
    Pillow (the settings load without it): the JPEG background colour, and the watermark every job
    stamps. Raises ConfigError with one line for a person."""
    try:
        ImageColor.getrgb(config.metadata.background)
    except ValueError:
        raise ConfigError(
            f'metadata.background must be a colour such as "#ffffff", "#fff", "rgb(255, 255, 255)" or '
            f'"white", got {config.metadata.background!r}'
        ) from None
    return watermark.make(config)


@dataclass(frozen=True)
class RenderResult:
    photo: SourcePhoto
    outputs: tuple[OutputFile, ...] = ()
    error: str | None = None
    warnings: tuple[str, ...] = ()
    placeholder: Placeholder | None = None
    analysis: Analysis | None = None


def render(job: RenderJob) -> RenderResult:
    """Render one photo; any failure becomes a result with a reason, never an exception.

    Decoders' own warnings (a TIFF tag past the end of the file, ...) become warnings of this photo,
    so the person reading them learns which file they are about.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outputs, notes, placeholder, analysis = _render(job)
        except PhotoError as error:
            return RenderResult(job.photo, error=str(error))
        except MemoryError:
            return RenderResult(job.photo, error="ran out of memory while decoding")
        except Exception as error:  # damaged data makes decoders raise almost anything (fuzzing found TypeError)
            return RenderResult(job.photo, error=f"cannot decode image data: {_plain(error)}")
    decoder_notes = dict.fromkeys(f"decoder warning: {warning.message}" for warning in caught)
    return RenderResult(job.photo, outputs, None, (*notes, *decoder_notes), placeholder, analysis)


def _plain(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if "truncated" in text:
        return f"the file is truncated or damaged ({text})"
    return text


def _render(job: RenderJob) -> tuple[tuple[OutputFile, ...], tuple[str, ...], Placeholder, Analysis]:
    config, specs = job.config, job.specs
    largest = specs[0]
    with open_image(job.photo.path, config) as image:
        metadata = read_metadata(image, job.photo.path, texts=False)
        notes = ["its EXIF metadata is unreadable and was dropped"] if metadata.exif_unreadable else []
        turned = swaps_axes(metadata.orientation)
        stored = (largest.height, largest.width) if turned else (largest.width, largest.height)
        exif = published_exif(metadata.exif, metadata.exif_block, config.metadata, config.credit)
        notes += exif.notes
        current = decode(image, stored)
        if current.size != stored:
            # Convert colour after the first downscale: the same result on far fewer pixels.
            current = current.resize(stored, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        else:
            current = current.copy()  # detach from the file, which closes below
        current.info = {}  # the source's comment, XMP and profile must not ride along into the outputs
        as_is = _publishable_as_is(image, metadata.orientation, metadata.icc, largest, config)
    colour = to_output_colour(current, metadata.icc, config.metadata)
    if colour.warning:
        notes.append(colour.warning)
    current = apply_orientation(colour.image, metadata.orientation)
    mark = job.mark.image() if job.mark is not None else None
    written: list[OutputFile] = []
    try:
        for spec in specs:
            cropped = spec.role == "thumbnail" and bool(config.thumbnail.crop)
            if cropped:  # cut from the smallest uncut size, and fed to no other output
                pixels = ImageOps.fit(current, (spec.width, spec.height), Image.Resampling.LANCZOS)
            elif current.size != (spec.width, spec.height):
                pixels = current = current.resize((spec.width, spec.height), Image.Resampling.LANCZOS)
            else:
                pixels = current
            if spec.key in job.targets:
                if mark is not None and (spec.role != "thumbnail" or config.watermark.thumbnails):
                    pixels = stamp(pixels, mark, config.watermark)
                exif_block = exif.for_size(spec.width, spec.height)
                data = encode(pixels, spec.format, config, colour.icc_profile, exif_block)
                if spec is largest and as_is and mark is None:
                    data = _source_unless_much_larger(job.photo.path, data, exif_block, colour.icc_profile)
                path = job.targets[spec.key]
                try:
                    write_atomically(path, data)
                except OSError as error:
                    raise PhotoError(f"cannot write {path}: {error.strerror or error}") from None
                written.append(spec.written_at(path, len(data)))
    except BaseException:
        for output in written:  # a photo comes out whole or not at all (e.g. the disk filled up)
            output.path.unlink(missing_ok=True)
        raise
    # `current` is now the smallest output: placeholder and curation scores cost no second decode.
    placeholder = make_placeholder(current, config.metadata.background, specs[-1].key)
    return tuple(written), tuple(notes), placeholder, scores.analyse(current)


def _publishable_as_is(
    image: Image.Image, orientation: int, icc: bytes | None, main: OutputSpec, config: Config
) -> bool:
    """Whether the main image could be the source's own JPEG data: same size, nothing to turn, no
    colour to convert (untagged, or its profile kept as it is), and colour data as every output has."""
    return (
        main.role == "main"
        and main.format == "jpeg"
        and image.format == "JPEG"
        and image.mode == "RGB"  # YCbCr, as every browser shows it; greyscale and CMYK are re-encoded
        and (main.width, main.height) == image.size
        and orientation == 1
        and (icc is None or config.metadata.color == "preserve")
    )


def _source_unless_much_larger(source: Path, encoded: memoryview, exif: bytes | None, icc: bytes | None) -> memoryview:
    """The source's compressed data with its metadata replaced by the policy's (a lossless rewrite of
    its segments), unless re-encoding made it meaningfully smaller. Never larger, never worse."""
    try:
        rewritten = jpeg_segments.rewrite(source.read_bytes(), exif, icc)
    except (OSError, ValueError):  # a structure the rewrite does not take: the re-encoded image stands
        return encoded
    return encoded if len(encoded) <= RECOMPRESS_GAIN * len(rewritten) else memoryview(rewritten)


def encode(image: Image.Image, name: str, config: Config, icc_profile: bytes | None, exif: bytes | None) -> memoryview:
    """Encode in memory with the format's options, the output's ICC profile and the policy's EXIF.

    Encoding in memory first matters: Pillow's JPEG encoder writing straight to a file ignores a
    short write (a file-size limit), so a cut-off JPEG would be renamed into place.
    """
    fmt = formats.get(name)
    if fmt.plugin:
        importlib.import_module(fmt.plugin)  # registers the codec with Pillow
    if not fmt.alpha:
        image = flatten(image, config.metadata.background)
    options = fmt.options(config.quality)
    if icc_profile:
        options["icc_profile"] = icc_profile
    if exif:
        options["exif"] = fmt.exif(exif)
    encoded = io.BytesIO()
    image.save(encoded, fmt.pillow_name, **options)
    return encoded.getbuffer()


def decode(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The pixels in a mode the outputs take, decoded no smaller than `size` (as stored, before
    orientation) and at no more cost than that needs: JPEG shrinks on load, a large HEIF is reduced
    band by band."""
    if image.format in ("JPEG", "MPO"):
        image.draft(None, size)
    return normalise_mode(_decoded(image, size))


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
        # Pillow maps any buffer without a copy; its annotation names bytes and bytearray only.
        pixels = Image.frombuffer(frame.mode, (width, rows), strip, "raw", frame.mode, frame.stride, 1)  # type: ignore[arg-type]
        reduced.paste(pixels.reduce(factor), (0, top // factor))
    return reduced
