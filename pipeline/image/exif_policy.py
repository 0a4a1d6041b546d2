"""What EXIF a published file carries: the metadata policies, owner names, and the EXIF bytes themselves.

A policy decides tag by tag; the EXIF is then rebuilt from the source's IFDs, each value with its
original TIFF type, so nothing travels that was not chosen: no TIFF structure, no XMP/IPTC/ICC blocks
kept in IFD0, no thumbnail unless asked. XMP, IPTC and comments are never published. To add a
policy, add an entry to POLICIES (and its name to config/sections.py's METADATA_POLICIES).
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, TiffImagePlugin, TiffTags

from ..config.sections import CreditSettings, MetadataSettings
from ..exif_tags import (
    ARTIST,
    COPYRIGHT,
    EXIF_IFD,
    EXIF_IMAGE_HEIGHT,
    EXIF_IMAGE_WIDTH,
    GPS_IFD,
    IDENTIFYING_TAGS,
    INTEROP_IFD,
    JPEG_THUMBNAIL_LENGTH,
    JPEG_THUMBNAIL_OFFSET,
    MAKER_NOTE,
    NEVER_COPIED,
    ORIENTATION,
    SERIAL_TAGS,
    allowed_tag_ids,
    tag_name,
)
from .metadata import exif_text

Keep = Callable[[int], bool]
# IFD0 tags the EXIF standard requires of a JPEG's EXIF: written when gallery makes an EXIF of its own
# (a credit under "strip"), so readers that validate (exiftool -validate) find nothing missing.
REQUIRED = {
    0x011A: (TiffTags.RATIONAL, 72.0),  # XResolution
    0x011B: (TiffTags.RATIONAL, 72.0),  # YResolution
    0x0128: (TiffTags.SHORT, 2),  # ResolutionUnit: inches
    0x0213: (TiffTags.SHORT, 1),  # YCbCrPositioning: centred
}
_Entries = dict[int, tuple[int, Any]]  # tag -> (TIFF type, value)


def _strip(settings: MetadataSettings) -> tuple[Keep, Keep] | None:
    return None


def _keep(settings: MetadataSettings) -> tuple[Keep, Keep] | None:
    """Everything but what gives a person or a device away, each group unless asked for."""
    dropped = set(NEVER_COPIED)
    if not settings.serials:
        dropped |= SERIAL_TAGS | IDENTIFYING_TAGS
    if not settings.maker_notes:
        dropped.add(MAKER_NOTE)
    return (lambda tag: tag not in dropped), (lambda tag: settings.gps)


def _allow(settings: MetadataSettings) -> tuple[Keep, Keep] | None:
    """Only the tags named in `metadata.allow`."""
    main, gps = allowed_tag_ids(settings.allow)
    return main.__contains__, gps.__contains__


# policy name -> (settings -> predicates over tag ids kept in IFD0/Exif IFD and in the GPS IFD, or None: no EXIF)
POLICIES: dict[str, Callable[[MetadataSettings], tuple[Keep, Keep] | None]] = {
    "strip": _strip,
    "keep": _keep,
    "allow": _allow,
}


@dataclass(frozen=True)
class PublishedExif:
    """The EXIF a photo's outputs carry, with the notes a person should read about it.

    `for_size` gives the bytes for one output: where ExifImageWidth/Height are kept they state that
    output's own pixel size.
    """

    magic: bytes = b""
    ifds: tuple[_Entries, _Entries, _Entries, _Entries] | None = None  # IFD0, Exif IFD, Interop, GPS
    thumbnail: bytes | None = None
    notes: tuple[str, ...] = ()

    def for_size(self, width: int, height: int) -> bytes | None:
        if self.ifds is None:
            return None
        ifd0, exif_ifd, interop, gps = (dict(ifd) for ifd in self.ifds)
        for tag, value in ((EXIF_IMAGE_WIDTH, width), (EXIF_IMAGE_HEIGHT, height)):
            if tag in exif_ifd:
                exif_ifd[tag] = (TiffTags.LONG, value)
        return _write_exif(self.magic, ifd0, exif_ifd, interop, gps, self.thumbnail)


def published_exif(
    exif: Image.Exif | None, raw: bytes | None, settings: MetadataSettings, credit: CreditSettings
) -> PublishedExif:
    """The policy applied to one photo's EXIF, plus the photo credit, the one metadata gallery adds.

    `raw` is the source's EXIF block (a TIFF has none: its IFD0 is the EXIF). A kept Orientation
    becomes 1: the rotation is already in the pixels. Damage that cannot be written back drops the
    source's EXIF with a note, never the photo (nor the credit)."""
    published = _from_source(exif, raw, settings)
    credits = {tag: value for tag, value in ((ARTIST, credit.artist), (COPYRIGHT, credit.copyright)) if value}
    if not credits:
        return published
    magic, ifds = (published.magic, published.ifds) if published.ifds else (b"II*\x00", (dict(REQUIRED), {}, {}, {}))
    # UTF-8 in ASCII fields, as cameras and exiftool write it: Pillow would turn "©" into "?".
    ifd0 = {**ifds[0], **{tag: (TiffTags.ASCII, value.encode()) for tag, value in credits.items()}}
    return PublishedExif(magic, (ifd0, ifds[1], ifds[2], ifds[3]), published.thumbnail, published.notes)


def _from_source(exif: Image.Exif | None, raw: bytes | None, settings: MetadataSettings) -> PublishedExif:
    keep = POLICIES[settings.policy](settings)
    if keep is None or not exif:
        return PublishedExif()
    keep_main, keep_gps = keep
    try:
        tiff = _tiff_block(raw or exif.tobytes())
        with warnings.catch_warnings(record=True) as damage:  # Pillow skips damaged entries with a warning
            warnings.simplefilter("always")
            ifd0 = _read_ifd(tiff, struct.unpack_from(_byte_order(tiff) + "L", tiff, 4)[0], keep_main)
            exif_ifd = _read_ifd(tiff, ifd0.pop(EXIF_IFD, (0, None))[1], keep_main)
            interop = _read_ifd(tiff, exif_ifd.pop(INTEROP_IFD, (0, None))[1], lambda tag: settings.policy == "keep")
            gps = _read_ifd(tiff, ifd0.pop(GPS_IFD, (0, None))[1], keep_gps)
        if ORIENTATION in ifd0:
            ifd0[ORIENTATION] = (ifd0[ORIENTATION][0], 1)
        notes = _drop_owner_names(settings.owners, ifd0, exif_ifd, gps)
        if damage:
            notes.append("part of its EXIF metadata is unreadable and was left out")
        thumbnail = exif_thumbnail(exif, raw) if settings.policy == "keep" and settings.thumbnail else None
        published = PublishedExif(tiff[:4], (ifd0, exif_ifd, interop, gps), thumbnail, tuple(notes))
        published.for_size(1, 1)  # prove now that it can be written
    except Exception:  # damage Pillow tolerated while reading but that cannot be written back
        return PublishedExif(notes=("its EXIF metadata could not be rewritten and was dropped",))
    return published


def _drop_owner_names(owners: tuple[str, ...], *ifds: _Entries) -> list[str]:
    """Leave out every field that holds one of `owners` (case-insensitive), saying which field."""
    notes = []
    folded = [owner.casefold() for owner in owners if owner.strip()]
    for index, entries in enumerate(ifds):
        for tag in list(entries):
            if tag in (EXIF_IFD, GPS_IFD, INTEROP_IFD):
                continue
            text = exif_text(entries[tag][1]).casefold()
            if any(owner in text for owner in folded):
                del entries[tag]
                name = tag_name(tag, gps=index == 2)
                notes.append(f"EXIF {name} holds an owner's name (metadata.owners) and was left out")
    return notes


def _tiff_block(exif: bytes) -> bytes:
    return re.sub(b"^(Exif\x00\x00)+", b"", exif)


def _byte_order(tiff: bytes) -> str:
    return "<" if tiff[:2] == b"II" else ">"


def _read_ifd(tiff: bytes, offset: object, keep: Keep) -> _Entries:
    """The kept tags of one IFD with their types, read by Pillow's TIFF directory reader."""
    if not isinstance(offset, int) or not 8 <= offset < len(tiff):
        return {}
    directory = TiffImagePlugin.ImageFileDirectory_v2(tiff[:8])
    stream = io.BytesIO(tiff)
    stream.seek(offset)
    directory.load(stream)
    return {
        tag: (directory.tagtype[tag], directory[tag])
        for tag in directory
        if tag in (EXIF_IFD, GPS_IFD, INTEROP_IFD) or (tag not in NEVER_COPIED and keep(tag))
    }


def _write_exif(
    magic: bytes, ifd0: _Entries, exif_ifd: _Entries, interop: _Entries, gps: _Entries, thumbnail: bytes | None
) -> bytes | None:
    """Lay the IFDs out one after another, point to each, and append the thumbnail (IFD1) if any."""
    if interop and not exif_ifd:
        interop = {}
    order = _byte_order(magic)
    head = magic + struct.pack(order + "L", 8)
    links = [(ifd0, EXIF_IFD, exif_ifd), (exif_ifd, INTEROP_IFD, interop), (ifd0, GPS_IFD, gps)]
    for parent, pointer, child in links:
        if child:
            parent[pointer] = (TiffTags.LONG, 0)  # placeholder of the same size, filled below
    ifd1: _Entries = {}
    if thumbnail:
        ifd1 = {0x0103: (TiffTags.SHORT, 6), JPEG_THUMBNAIL_OFFSET: (TiffTags.LONG, 0)}
        ifd1[JPEG_THUMBNAIL_LENGTH] = (TiffTags.LONG, len(thumbnail))
    blocks = [entries for entries in (ifd0, exif_ifd, interop, gps, ifd1) if entries]
    if not blocks:
        return None
    offsets, position = [], 8
    for entries in blocks:
        offsets.append(position)
        position += len(_ifd_bytes(head, entries, position))
    offset_of = {id(entries): offset for entries, offset in zip(blocks, offsets, strict=True)}
    for parent, pointer, child in links:
        if child:
            parent[pointer] = (TiffTags.LONG, offset_of[id(child)])
    if ifd1:
        ifd1[JPEG_THUMBNAIL_OFFSET] = (TiffTags.LONG, position)
    tiff = bytearray(head + b"".join(_ifd_bytes(head, e, o) for e, o in zip(blocks, offsets, strict=True)))
    if thumbnail:
        struct.pack_into(order + "L", tiff, 8 + 2 + 12 * len(ifd0), offset_of[id(ifd1)])  # IFD0's next IFD
        tiff += thumbnail
    return b"Exif\x00\x00" + bytes(tiff)


def _ifd_bytes(head: bytes, entries: _Entries, offset: int) -> bytes:
    directory = TiffImagePlugin.ImageFileDirectory_v2(head)
    for tag, (tag_type, value) in entries.items():
        directory.tagtype[tag] = tag_type
        directory[tag] = value
    return directory.tobytes(offset)


def exif_thumbnail(exif: Image.Exif | None, raw: bytes | None) -> bytes | None:
    """The JPEG preview in IFD1, which often shows the uncropped, unedited original."""
    if exif is None:
        return None
    try:
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except Exception:
        return None
    start, length = ifd1.get(JPEG_THUMBNAIL_OFFSET), ifd1.get(JPEG_THUMBNAIL_LENGTH)
    if not raw or not isinstance(start, int) or not isinstance(length, int):
        return None
    thumbnail = _tiff_block(raw)[start : start + length]
    return thumbnail if thumbnail.startswith(b"\xff\xd8") else None
