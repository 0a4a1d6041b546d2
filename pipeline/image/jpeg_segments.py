"""Lossless, segment-level rewrite of a JPEG: keep the compressed image, replace the metadata.

A web-ready JPEG source (no resize, rotation or colour conversion needed) is published as its own
compressed data instead of being decoded and re-encoded, which would grow it and cost a generation
of quality. Only the marker stream is touched: metadata segments are dropped, the EXIF and ICC
profile that policy allows are inserted, and every segment a decoder needs is copied byte for byte.

What is kept and why:

- JFIF APP0 is kept (moved right after SOI, as JFIF requires) only if the source had one, with its
  thumbnail removed. It carries version and pixel density, no private data; and libjpeg decides a
  3-component JPEG is YCbCr when it sees JFIF *before* looking at component ids, so dropping it could
  change decoded colours, while adding one to a file without it could too. Its optional thumbnail is
  a second rendition of the photo (possibly uncropped or unredacted), so it goes.
- Adobe APP14 is kept where it was: it tells decoders the colour transform of RGB, CMYK and YCCK
  JPEGs (and whether CMYK is inverted); dropping it changes decoded pixels. It holds no private data.
- Everything else between SOI and EOI that is not APPn or COM (DQT, DHT, DAC, SOFn, DRI, SOS with its
  entropy-coded data, RSTn, DNL, DHP, EXP) is copied unchanged. Fill bytes before markers are dropped.
- Bytes after EOI are dropped: appended motion-photo video, MPF/Ultra HDR secondary images and
  vendor trailers are not part of this image and may carry metadata (the MPF APP2 that indexes them
  goes too).

Anything not understood raises ValueError (and nothing else), so the caller can fall back to re-encoding.
"""

from __future__ import annotations

from collections.abc import Iterator

SOI, EOI, SOS, TEM, COM = 0xD8, 0xD9, 0xDA, 0x01, 0xFE
APP0, APP1, APP2, APP14 = 0xE0, 0xE1, 0xE2, 0xEE
_RST = frozenset(range(0xD0, 0xD8))
_STANDALONE = _RST | {TEM}
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # C4 is DHT, C8 reserved, CC is DAC
# Markers with a length field that this module understands; JPGn (F0-FD), C8 and RES (02-BF) are refused.
_SEGMENTS = _SOF | {0xC4, 0xCC, SOS, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, COM} | frozenset(range(0xE0, 0xF0))
_NAMES = {0xC4: "DHT", 0xCC: "DAC", SOI: "SOI", EOI: "EOI", SOS: "SOS", 0xDB: "DQT", 0xDC: "DNL", 0xDD: "DRI"}
_NAMES |= {0xDE: "DHP", 0xDF: "EXP", TEM: "TEM", COM: "COM"}

MAX_PAYLOAD = 65533  # a segment's 16-bit length counts itself
EXIF_HEADER = b"Exif\x00\x00"
ICC_HEADER = b"ICC_PROFILE\x00"
ICC_CHUNK = MAX_PAYLOAD - len(ICC_HEADER) - 2  # 65519: the header plus sequence number and count
JFIF_HEADER = b"JFIF\x00"


def _scan_end(data: bytes, pos: int) -> int:
    """Offset of the marker that ends the entropy-coded data starting at pos (0xFF00 and RSTn do not)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise ValueError("truncated scan: no EOI")
        following = data[pos + 1]
        if following != 0x00 and following not in _RST:
            return pos
        pos += 2


def _walk(data: bytes) -> Iterator[tuple[int, int, int]]:
    """Yield (marker, start, end) for SOI through EOI; an SOS segment's span includes its scan data."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG: no SOI")
    yield SOI, 0, 2
    pos, size = 2, len(data)
    seen_sof = seen_sos = False
    while True:
        if pos >= size:
            raise ValueError("truncated: no EOI")
        if data[pos] != 0xFF:
            raise ValueError(f"no marker at offset {pos}")
        while pos + 1 < size and data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        if pos + 1 >= size:
            raise ValueError("truncated: no EOI")
        marker = data[pos + 1]
        if marker == EOI:
            if not seen_sos:
                raise ValueError("no SOS before EOI")
            yield marker, pos, pos + 2
            return
        if marker in _STANDALONE:
            yield marker, pos, pos + 2
            pos += 2
            continue
        if marker not in _SEGMENTS:
            raise ValueError(f"unsupported marker 0x{marker:02X} at offset {pos}")
        if pos + 4 > size:
            raise ValueError(f"truncated segment at offset {pos}")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > size:
            raise ValueError(f"bad segment length {length} at offset {pos}")
        if marker in _SOF:
            seen_sof = True
        elif marker == SOS:
            if not seen_sof:
                raise ValueError("SOS before any SOF")
            seen_sos = True
            end = _scan_end(data, end)
        yield marker, pos, end
        pos = end


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"segment payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def _icc_segments(icc: bytes) -> list[bytes]:
    """The profile as APP2 ICC_PROFILE chunks numbered 1..count, as ICC.1 Annex B.4 specifies."""
    chunks = [icc[i : i + ICC_CHUNK] for i in range(0, len(icc), ICC_CHUNK)]
    if len(chunks) > 255:
        raise ValueError(f"ICC profile of {len(icc)} bytes needs more than 255 APP2 chunks")
    return [_segment(APP2, ICC_HEADER + bytes((n, len(chunks))) + c) for n, c in enumerate(chunks, 1)]


def rewrite(data: bytes, exif: bytes | None, icc: bytes | None = None) -> bytes:
    """The JPEG with all metadata replaced by `exif` (b"Exif\\0\\0...") and `icc`; None or b"" writes none.

    The compressed image is copied byte for byte, so decoded pixels are identical to the source's.
    """
    if exif and not exif.startswith(EXIF_HEADER):
        raise ValueError("EXIF data must begin with Exif\\0\\0")
    inserted = [_segment(APP1, exif)] if exif else []
    inserted += _icc_segments(icc) if icc else []
    view = memoryview(data)
    jfif: list[bytes] = []
    body: list[memoryview] = []
    for marker, start, end in _walk(data):
        ident = data[start + 4 : start + 9]
        if marker == SOI:
            continue
        if marker == APP0 and ident == JFIF_HEADER and end - start >= 18:
            if not jfif:  # version, units and density; the thumbnail size zeroed and its pixels dropped
                jfif.append(_segment(APP0, data[start + 4 : start + 16] + b"\x00\x00"))
        elif (marker == APP14 and ident == b"Adobe") or not (APP0 <= marker <= 0xEF or marker == COM):
            body.append(view[start:end])
    return b"".join([b"\xff\xd8", *jfif, *inserted, *body])


def _name(marker: int, segment: bytes) -> str:
    if marker in _SOF:
        return f"SOF{marker - 0xC0}"
    if marker in _RST:
        return f"RST{marker - 0xD0}"
    if APP0 <= marker <= 0xEF:
        ident = segment[4:36].split(b"\x00", 1)[0]
        label = ident.decode("ascii") if ident.isascii() and ident.decode("ascii").isprintable() else ""
        return f"APP{marker - APP0} {label}".rstrip()
    return _NAMES.get(marker, f"0x{marker:02X}")


def describe(data: bytes) -> list[tuple[str, int]]:
    """(name, bytes from marker to segment end) per segment; APPn names carry their identifier,
    e.g. "APP1 Exif", and an SOS length includes its entropy-coded data. Raises ValueError like rewrite."""
    return [(_name(m, data[s:e]), e - s) for m, s, e in _walk(data)]
