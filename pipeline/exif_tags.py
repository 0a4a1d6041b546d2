"""EXIF tag ids and names, shared by the metadata policy and the settings check of `metadata.allow`.

Names are accepted as the EXIF standard spells them (Pillow's table) or as exiftool does. The table
is built on first use, so importing this module (and the settings, which check `allow`) loads no
image library.
"""

from __future__ import annotations

import difflib
from functools import cache

from .errors import ConfigError

ORIENTATION = 0x0112
IMAGE_DESCRIPTION = 0x010E
MAKE = 0x010F
MODEL = 0x0110
DATETIME = 0x0132
ARTIST = 0x013B
HOST_COMPUTER = 0x013C
COPYRIGHT = 0x8298
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
INTEROP_IFD = 0xA005
DATETIME_ORIGINAL = 0x9003
DATETIME_DIGITIZED = 0x9004
OFFSET_TIME = 0x9010
OFFSET_TIME_ORIGINAL = 0x9011
OFFSET_TIME_DIGITIZED = 0x9012
SUBSEC_TIME_ORIGINAL = 0x9291
MAKER_NOTE = 0x927C
EXIF_IMAGE_WIDTH = 0xA002
EXIF_IMAGE_HEIGHT = 0xA003
IMAGE_UNIQUE_ID = 0xA420
CAMERA_OWNER_NAME = 0xA430
JPEG_THUMBNAIL_OFFSET = 0x0201
JPEG_THUMBNAIL_LENGTH = 0x0202
BODY_SERIAL_NUMBER = 0xA431
# BodySerialNumber, LensSerialNumber, and DNG's CameraSerialNumber.
SERIAL_TAGS = frozenset({BODY_SERIAL_NUMBER, 0xA435, 0xC62F})
# Tags that name a person or single out one device or one file, like serial numbers do:
# CameraOwnerName (exiftool: OwnerName), ImageUniqueID, HostComputer.
IDENTIFYING_TAGS = frozenset({CAMERA_OWNER_NAME, IMAGE_UNIQUE_ID, HOST_COMPUTER})
POINTERS = frozenset({EXIF_IFD, GPS_IFD, INTEROP_IFD})
# Tags that describe a TIFF's layout (strips, tiles, samples) or carry other metadata blocks in IFD0
# (XMP 0x02BC, IPTC 0x83BB, Photoshop 0x8649, ICC 0x8773, PrintIM 0xC4A5, DNG private 0xC634).
# They are wrong or unsafe in a new file, whatever the policy.
NEVER_COPIED = frozenset(
    {
        0x00FE,
        0x00FF,
        *range(0x0100, 0x010B),
        0x0111,
        *range(0x0115, 0x011A),
        0x011C,
        *range(0x0120, 0x0126),
        0x012D,
        0x013D,
        *range(0x0140, 0x0160),
        *range(0x0200, 0x020A),
        0x0212,
        0x02BC,
        0x83BB,
        0x8649,
        0x8773,
        0xC4A5,
        0xC634,
    }
)
# Where exiftool's tag names differ from the EXIF specification's (which Pillow uses); both work.
EXIFTOOL_ALIASES = {
    "SerialNumber": "BodySerialNumber",
    "OwnerName": "CameraOwnerName",
    "ISO": "ISOSpeedRatings",
    "PhotographicSensitivity": "ISOSpeedRatings",
    "ExposureCompensation": "ExposureBiasValue",
    "CreateDate": "DateTimeDigitized",
    "ModifyDate": "DateTime",
    "PixelXDimension": "ExifImageWidth",
    "PixelYDimension": "ExifImageHeight",
    "FocalLengthIn35mmFormat": "FocalLengthIn35mmFilm",
    "LensInfo": "LensSpecification",
}


@cache
def _tag_names() -> dict[str, tuple[str, int, str]]:
    """lower-case name -> (group, tag id, canonical spelling) for every EXIF and GPS tag name."""
    from PIL import ExifTags  # a plain table; loaded only when a tag name must be resolved

    table = {name.lower(): ("main", tag, name) for tag, name in ExifTags.TAGS.items()}
    table.update({name.lower(): ("gps", tag, name) for tag, name in ExifTags.GPSTAGS.items()})
    for alias, name in EXIFTOOL_ALIASES.items():
        table[alias.lower()] = (*table[name.lower()][:2], alias)
    return table


@cache
def _names_by_id() -> dict[tuple[str, int], str]:
    return {(group, tag): name for group, tag, name in _tag_names().values() if name not in EXIFTOOL_ALIASES}


def tag_name(tag: int, gps: bool = False) -> str:
    """The EXIF standard's name of a tag id (as warnings and `inspect` show it), else its hex id."""
    return _names_by_id().get(("gps" if gps else "main", tag), hex(tag))


def allowed_tag_ids(names: tuple[str, ...]) -> tuple[frozenset[int], frozenset[int]]:
    """Resolve `allow` names (EXIF or exiftool spelling, any case) to tag ids: (IFD0/Exif IFD, GPS).

    Raises ConfigError naming the first unknown tag, with the closest known names as a hint.
    """
    table = _tag_names()
    main: set[int] = set()
    gps: set[int] = set()
    for name in names:
        found = table.get(name.lower()) if isinstance(name, str) else None
        if found is None:
            hint = difflib.get_close_matches(str(name).lower(), table, n=3)
            suggestion = f"; did you mean {', '.join(table[h][2] for h in hint)}?" if hint else ""
            raise ConfigError(f"metadata.allow: unknown EXIF tag {name!r}{suggestion}")
        group, tag, spelling = found
        if group == "main" and tag in NEVER_COPIED:
            raise ConfigError(f"metadata.allow: {spelling} describes the file's structure and is never copied")
        (gps if group == "gps" else main).add(tag)
    return frozenset(main), frozenset(gps)
