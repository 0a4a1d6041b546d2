"""pipeline.image.xmp: JPEG segments and extended XMP, raw-byte packets, namespace-aware reading, hostile input."""

from __future__ import annotations

import functools
import hashlib
import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from pipeline.image import xmp

RDF = xmp.RDF
GUID_OTHER = "0123456789ABCDEF0123456789ABCDEF"


def packet(body: str, namespaces: str = f'xmlns:dc="{xmp.DC}" xmlns:exif="{xmp.EXIF}"', wrap: bool = True) -> str:
    """An XMP packet holding BODY in one rdf:Description, optionally with the xpacket wrapper."""
    text = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="test"><rdf:RDF xmlns:rdf="{RDF}">'
        f'<rdf:Description rdf:about="" {namespaces}>{body}</rdf:Description></rdf:RDF></x:xmpmeta>'
    )
    if wrap:
        text = f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n{text}\n<?xpacket end="w"?>'
    return text


def alt(text: str, lang: str = "x-default") -> str:
    return f'<rdf:Alt><rdf:li xml:lang="{lang}">{text}</rdf:li></rdf:Alt>'


def app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def standard_segment(text: str) -> bytes:
    return app1(xmp.STANDARD_HEADER + text.encode("utf-8"))


def extended_segments(extended: bytes, guid: str, parts: int = 3, order: tuple[int, ...] = (2, 0, 1)) -> list[bytes]:
    """EXTENDED split into PARTS chunks, each an APP1 segment, returned in ORDER (out of order by default)."""
    size = -(-len(extended) // parts)
    segments = []
    for offset in range(0, len(extended), size):
        header = xmp.EXTENDED_HEADER + guid.encode("ascii") + struct.pack(">II", len(extended), offset)
        segments.append(app1(header + extended[offset : offset + size]))
    return [segments[index] for index in order]


@functools.cache
def plain_jpeg() -> bytes:
    """A real JPEG from Pillow, without XMP."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg(*segments: bytes) -> bytes:
    """A real JPEG from Pillow, with SEGMENTS inserted after its JFIF APP0 segment."""
    data = plain_jpeg()
    assert data[2:4] == b"\xff\xe0"
    end_of_app0 = 4 + int.from_bytes(data[4:6], "big")
    return data[:end_of_app0] + b"".join(segments) + data[end_of_app0:]


def app1_payloads(data: bytes) -> list[range]:
    """Where the payload of each APP1 segment of a JPEG built here lies, read by walking its segments
    (marker, two-byte length) up to the start of the image data."""
    spans, pos = [], 2
    while data[pos : pos + 2] != b"\xff\xda":
        assert data[pos] == 0xFF, f"no segment marker at {pos}"
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if data[pos + 1] == 0xE1:
            spans.append(range(pos + 4, pos + 2 + length))
        pos += 2 + length
    return spans


EXTENDED = packet(
    f"<dc:description>{alt('A heron on the weir, seen from the footbridge. ' * 40)}</dc:description>"
    "<exif:GPSLatitude>51,30.4N</exif:GPSLatitude>"
).encode("utf-8")
GUID = hashlib.md5(EXTENDED).hexdigest().upper()  # what Adobe writes, and what exiftool checks
STANDARD = packet(
    f"<dc:title>{alt('Heron')}</dc:title>",
    namespaces=f'xmlns:dc="{xmp.DC}" xmlns:xmpNote="{xmp.XMP_NOTE}" xmpNote:HasExtendedXMP="{GUID}"',
)


def jpeg_packets(data: bytes) -> list[bytes]:
    """A JPEG's XMP as gallery reads it (image/metadata.py): the APP1 segments Pillow found, assembled
    by xmp.packets. Every JPEG given here is built for its XMP to be read: one Pillow refuses would
    never reach xmp.packets, so it fails the test instead of passing for "no XMP"."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, applist = image.format, image.applist
    except Exception as error:  # whatever Pillow raises, the file tests nothing
        pytest.fail(f"Pillow refused a JPEG built to test XMP: {error!r}")
    assert kind == "JPEG", kind
    return xmp.packets([payload for marker, payload in applist if marker == "APP1"])


def read(data: bytes) -> xmp.Xmp | None:
    """A file's XMP as gallery reads it: a JPEG's segments, else (or when they hold none) a search of
    its bytes (what Pillow does not expose)."""
    packets = jpeg_packets(data) if data.startswith(b"\xff\xd8") else []
    return xmp.parse_all(packets or xmp.find_packets(data))


@pytest.fixture(scope="module")
def extended_jpeg() -> bytes:
    return jpeg(standard_segment(STANDARD), *extended_segments(EXTENDED, GUID))


# JPEG segments -----------------------------------------------------------------------------------


def test_standard_packet_is_read_from_a_jpeg():
    data = jpeg(standard_segment(packet(f"<dc:description>{alt('Two swans')}</dc:description>")))
    packets = jpeg_packets(data)
    assert len(packets) == 1
    assert xmp.parse(packets[0]).text(xmp.DC, "description") == "Two swans"
    assert read(data).text(xmp.DC, "description") == "Two swans"
    Image.open(io.BytesIO(data)).load()  # the fixture is a JPEG Pillow decodes


def test_extended_packet_reassembled_from_chunks_out_of_order(extended_jpeg):
    standard, extended = jpeg_packets(extended_jpeg)
    assert extended == EXTENDED
    assert standard.decode() == STANDARD
    data = read(extended_jpeg)
    assert data.text(xmp.DC, "title") == "Heron"
    assert data.text(xmp.DC, "description").startswith("A heron on the weir")
    assert data.values(xmp.EXIF, "GPSLatitude") == ["51,30.4N"]
    assert (xmp.XMP_NOTE, "HasExtendedXMP", GUID) in data.properties()


def test_chunks_with_another_guid_are_ignored():
    decoy = packet("<exif:GPSLatitude>10,0.0S</exif:GPSLatitude>").encode()
    data = jpeg(
        standard_segment(STANDARD),
        *extended_segments(decoy, GUID_OTHER, parts=2, order=(1, 0)),
        *extended_segments(EXTENDED, GUID),
    )
    assert jpeg_packets(data)[1] == EXTENDED
    only_decoy = jpeg(standard_segment(STANDARD), *extended_segments(decoy, GUID_OTHER, parts=2, order=(0, 1)))
    assert jpeg_packets(only_decoy) == [STANDARD.encode()]


def test_incomplete_or_inconsistent_extended_packets_are_dropped():
    segments = extended_segments(EXTENDED, GUID, order=(0, 1, 2))
    gap = jpeg(standard_segment(STANDARD), segments[0], segments[2])
    assert jpeg_packets(gap) == [STANDARD.encode()]
    # a chunk declaring another full length does not count, so the packet has a gap
    wrong_length = bytearray(segments[1])
    wrong_length[4 + len(xmp.EXTENDED_HEADER) + 32 : 4 + len(xmp.EXTENDED_HEADER) + 36] = struct.pack(">I", 10**6)
    data = jpeg(standard_segment(STANDARD), segments[0], bytes(wrong_length), segments[2])
    assert jpeg_packets(data) == [STANDARD.encode()]
    # extended chunks without a standard packet naming their GUID are not XMP anyone can attribute
    assert jpeg_packets(jpeg(*segments)) == []


def test_truncated_segments_never_raise(extended_jpeg):
    """Every APP1 payload of the extended fixture cut short at every length, framed as a valid
    segment of a JPEG Pillow opens: gallery gets each cut payload, and reads what is left whole."""
    payloads = [bytes(extended_jpeg[span.start : span.stop]) for span in app1_payloads(extended_jpeg)]
    assert len(payloads) == 4 and payloads[0] == xmp.STANDARD_HEADER + STANDARD.encode()
    assert jpeg_packets(jpeg(*map(app1, payloads))) == [STANDARD.encode(), EXTENDED]
    for index, whole in enumerate(payloads):
        for length in range(len(whole)):
            cut = [*payloads[:index], whole[:length], *payloads[index + 1 :]]
            packets = jpeg_packets(jpeg(*map(app1, cut)))
            assert packets == xmp.packets(cut), "Pillow hands gallery the cut payload as it is"
            if index > 0:  # an extended chunk cut short: the packet has a gap, the standard one stands
                assert packets == [STANDARD.encode()], (index, length)
            elif length < len(xmp.STANDARD_HEADER):  # no standard packet, so no extended one either
                assert packets == [], length
            else:
                assert packets[0] == whole[len(xmp.STANDARD_HEADER) : length] and len(packets) <= 2, length
                assert packets[1:] in ([], [EXTENDED]), length


def test_malformed_segments_never_raise():
    """Payloads too short for their header, or extended chunks declaring impossible lengths and
    offsets, in JPEGs Pillow opens: skipped, never raised on."""
    standard = standard_segment(STANDARD)
    header = xmp.EXTENDED_HEADER + GUID.encode("ascii")
    for segment in (
        app1(b""),
        app1(b"\xff"),
        app1(xmp.STANDARD_HEADER[:-1]),
        app1(xmp.EXTENDED_HEADER),
        app1(xmp.EXTENDED_HEADER + GUID.encode()[:10]),
        app1(header + struct.pack(">II", 0, 0) + EXTENDED),  # full length 0
        app1(header + struct.pack(">II", xmp.MAX_PACKET + 1, 0) + EXTENDED),  # beyond the bound
        app1(header + struct.pack(">II", len(EXTENDED), 0xFFFFFFFF) + EXTENDED),  # past its end
        app1(header + struct.pack(">II", len(EXTENDED) // 2, 0) + EXTENDED),  # longer than it says
    ):
        assert jpeg_packets(jpeg(segment)) == [], segment[:60]
        assert jpeg_packets(jpeg(standard, segment)) == [STANDARD.encode()], segment[:60]
        assert jpeg_packets(jpeg(segment, standard)) == [STANDARD.encode()], segment[:60]
    assert xmp.packets([]) == [] and read(b"") is None and read(b"GIF89a") is None


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_corrupted_jpegs_never_raise(extended_jpeg, data):
    """Bytes changed inside the APP1 payloads (the segments' framing kept, so Pillow opens the file
    and gallery reads what it hands over)."""
    inside = [position for span in app1_payloads(extended_jpeg) for position in span]
    corrupt = bytearray(extended_jpeg)
    for _ in range(data.draw(st.integers(1, 8))):
        corrupt[data.draw(st.sampled_from(inside))] = data.draw(st.integers(0, 255))
    packets = jpeg_packets(bytes(corrupt))
    assert len(packets) <= 2
    for found in packets + xmp.find_packets(bytes(corrupt)):
        if (parsed := xmp.parse(found)) is not None:
            parsed.properties()
            parsed.text(xmp.DC, "description")


# Reading: forms, namespaces, language alternatives -----------------------------------------------


def test_attribute_and_element_forms_read_alike():
    attribute = xmp.parse(
        packet("", namespaces=f'xmlns:dc="{xmp.DC}" xmlns:exif="{xmp.EXIF}" exif:GPSLatitude="51,30.4N"')
    )
    element = xmp.parse(packet("<exif:GPSLatitude>51,30.4N</exif:GPSLatitude>"))
    assert attribute.properties() == element.properties() == [(xmp.EXIF, "GPSLatitude", "51,30.4N")]
    assert attribute.text(xmp.EXIF, "GPSLatitude") == element.text(xmp.EXIF, "GPSLatitude") == "51,30.4N"


def test_arrays_and_structures():
    body = (
        "<dc:subject><rdf:Bag><rdf:li>heron</rdf:li><rdf:li>weir</rdf:li></rdf:Bag></dc:subject><dc:title>"
        '<rdf:Alt><rdf:li xml:lang="x-default">Heron</rdf:li><rdf:li xml:lang="de">Reiher</rdf:li></rdf:Alt>'
        "</dc:title>"
        '<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType="Resource">'
        "<Iptc4xmpExt:City>Bath</Iptc4xmpExt:City></rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>"
        '<exif:Flash exif:Fired="False"><exif:Mode>2</exif:Mode></exif:Flash>'
        '<aux:Lens><rdf:Description aux:SerialNumber="42"/></aux:Lens>'
        "<dc:rights><rdf:Description><rdf:value>CC-BY</rdf:value></rdf:Description></dc:rights>"
    )
    namespaces = f'xmlns:dc="{xmp.DC}" xmlns:exif="{xmp.EXIF}" xmlns:aux="{xmp.AUX}" xmlns:Iptc4xmpExt="{xmp.IPTC_EXT}"'
    assert xmp.parse(packet(body, namespaces)).properties() == [
        (xmp.DC, "subject", "heron"),
        (xmp.DC, "subject", "weir"),
        (xmp.DC, "title", "Heron"),
        (xmp.DC, "title", "Reiher"),
        (xmp.IPTC_EXT, "City", "Bath"),
        (xmp.EXIF, "Fired", "False"),
        (xmp.EXIF, "Mode", "2"),
        (xmp.AUX, "SerialNumber", "42"),
        (xmp.DC, "rights", "CC-BY"),
    ]


def test_unusual_prefix_is_read_by_namespace():
    data = xmp.parse(packet(f"<d:description>{alt('Reeds')}</d:description>", namespaces=f'xmlns:d="{xmp.DC}"'))
    assert data.text(xmp.DC, "description") == "Reeds"
    assert data.properties() == [(xmp.DC, "description", "Reeds")]


def test_dc_prefix_bound_to_another_uri_is_not_dublin_core():
    data = xmp.parse(
        packet(f"<dc:description>{alt('Not DC')}</dc:description>", namespaces='xmlns:dc="http://example.com/dc/"')
    )
    assert data.text(xmp.DC, "description") == ""
    assert data.text("http://example.com/dc/", "description") == "Not DC"
    assert xmp.DC not in {namespace for namespace, _, _ in data.properties()}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<dc:description><rdf:Alt><rdf:li xml:lang="de">Zwei</rdf:li>'
         '<rdf:li xml:lang="x-default">Two</rdf:li></rdf:Alt></dc:description>', "Two"),
        ('<dc:description><rdf:Alt><rdf:li xml:lang="x-default"> </rdf:li>'
         '<rdf:li xml:lang="fr">Deux</rdf:li></rdf:Alt></dc:description>', "Deux"),
        ("<dc:description>  Plain text  </dc:description>", "Plain text"),
        ("", ""),
    ],
)  # fmt: skip
def test_language_alternative_prefers_x_default(body, expected):
    assert xmp.parse(packet(body)).text(xmp.DC, "description") == expected


def test_attribute_form_is_the_last_resort():
    namespaces = f'xmlns:dc="{xmp.DC}" dc:description="From attribute"'
    assert xmp.parse(packet("", namespaces)).text(xmp.DC, "description") == "From attribute"


# Hostile or sloppy packets -----------------------------------------------------------------------


def test_padding_and_processing_instructions_are_tolerated():
    body = f"<dc:description>{alt('Padded')}</dc:description>"
    for text in (b"\x00\x00 \n" + packet(body).encode() + b" " * 2000 + b"\x00", packet(body, wrap=False).encode()):
        assert xmp.parse(text).text(xmp.DC, "description") == "Padded"
    utf16 = packet(body, wrap=False).encode("utf-16")
    assert xmp.parse(utf16).text(xmp.DC, "description") == "Padded"


@pytest.mark.parametrize(
    "text",
    [
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + packet("<dc:description>&b;</dc:description>", wrap=False),
        '<!DOCTYPE x SYSTEM "file:///etc/passwd">' + packet("", wrap=False),
        packet("<dc:description>unclosed"),
        "not xml at all",
        "",
        "\x00" * 64,
        " " * (xmp.MAX_PACKET + 1),
    ],
)
def test_unsafe_or_invalid_packets_parse_to_none(text):
    assert xmp.parse(text) is None
    assert xmp.parse(text.encode("utf-8")) is None


def test_deep_nesting_does_not_raise():
    depth = 5000
    body = "<exif:A>" * depth + "leaf" + "</exif:A>" * depth
    data = xmp.parse(packet(body))
    assert data.properties() == []  # beyond MAX_DEPTH nothing is reported, and nothing recurses without bound
    assert xmp.parse(packet("<exif:A>" * 3 + "leaf" + "</exif:A>" * 3)).properties() == [(xmp.EXIF, "A", "leaf")]


# Packets in other formats ------------------------------------------------------------------------


def test_find_packets_in_png_and_gif_like_bytes():
    wrapped = packet(f"<dc:description>{alt('In a PNG')}</dc:description>").encode()
    bare = packet(f"<dc:description>{alt('In a GIF')}</dc:description>", wrap=False).encode()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x10\x00iTXtXML:com.adobe.xmp\x00\x00\x00\x00\x00" + wrapped + b"IEND"
    gif = b"GIF89a" + b"\x21\xff\x0bXMP DataXMP" + bare + bytes(range(255, -1, -1)) + b"\x00;"
    assert xmp.find_packets(png) == [wrapped]
    assert xmp.find_packets(gif) == [bare]
    assert read(png).text(xmp.DC, "description") == "In a PNG"
    assert read(gif).text(xmp.DC, "description") == "In a GIF"
    assert xmp.find_packets(png + gif) == [wrapped, bare]


def test_find_packets_with_unclosed_starts():
    bare = packet("<exif:GPSLatitude>1,0N</exif:GPSLatitude>", wrap=False).encode()
    noise = b"<?xpacket begin=''?>junk<x:xmpmeta >junk" * 20_000 + bare
    assert xmp.find_packets(noise) == [bare]
    assert xmp.find_packets(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>never closed") == []


def test_exiftool_reads_the_hand_built_extended_xmp(extended_jpeg, exiftool, tmp_path):
    """An independent reader agrees the fixture is valid extended XMP, so the tests above test real files."""
    path = tmp_path / "extended.jpg"
    path.write_bytes(extended_jpeg)
    (tags,) = exiftool(path)
    assert tags["XMP-dc:Description"].startswith("A heron on the weir")
    assert tags["XMP-dc:Title"] == "Heron"
    assert abs(tags["XMP-exif:GPSLatitude"] - 51.50667) < 1e-4
    assert not any("Warning" in key for key in tags), tags
    # and, like pipeline.image.xmp, exiftool ignores extended XMP the standard packet does not name
    stale = tmp_path / "stale.jpg"
    stale.write_bytes(jpeg(standard_segment(STANDARD.replace(GUID, GUID_OTHER)), *extended_segments(EXTENDED, GUID)))
    (tags,) = exiftool(stale)
    assert "XMP-dc:Description" not in tags and "XMP-exif:GPSLatitude" not in tags
    assert jpeg_packets(stale.read_bytes()) == [STANDARD.replace(GUID, GUID_OTHER).encode()]
