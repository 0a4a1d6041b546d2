"""A small, defensive XMP reader shared by alt-text extraction and the privacy audit.

No image library, so every part of the app reads XMP the same way, whatever decoder opened the
photo. Finding packets: `packets` reassembles a JPEG's standard and extended XMP from the APP1
segments Pillow read (extended XMP is what Pillow ignores, and where large descriptions and GPS
data may sit); `find_packets` searches any other file's bytes. Reading them: `parse` (one packet)
or `parse_all` (several read as one) give an `Xmp`, which is namespace-aware: properties are
matched by namespace URI, never by prefix, so `d:description` bound to Dublin Core is a
description and `dc:` bound elsewhere is not. Nothing here raises on malformed input: a damaged
segment is skipped, a bad packet parses to None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.etree import ElementTree

DC = "http://purl.org/dc/elements/1.1/"
EXIF = "http://ns.adobe.com/exif/1.0/"
EXIF_EX = "http://cipa.jp/exif/1.0/"
AUX = "http://ns.adobe.com/exif/1.0/aux/"
TIFF = "http://ns.adobe.com/tiff/1.0/"
XMP = "http://ns.adobe.com/xap/1.0/"
XMP_NOTE = "http://ns.adobe.com/xmp/note/"
PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
IPTC_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X = "adobe:ns:meta/"
XML = "http://www.w3.org/XML/1998/namespace"

STANDARD_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
EXTENDED_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
MAX_PACKET = 4 << 20  # bytes; room for a full extended packet, bounded against hostile files
MAX_DEPTH = 64  # nesting of structures followed by `properties`; real XMP stays in single digits

_STRUCTURAL = frozenset({RDF, X, XML})  # namespaces of RDF syntax, not of properties
_RDF_RDF, _RDF_LI, _RDF_VALUE, _RDF_RESOURCE = (f"{{{RDF}}}{name}" for name in ("RDF", "li", "value", "resource"))
_XML_LANG = f"{{{XML}}}lang"
_CONTAINERS = frozenset(f"{{{RDF}}}{name}" for name in ("Alt", "Seq", "Bag"))
_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ENCODINGS = (  # byte-order marks, then a NUL beside the first `<`; else UTF-8
    (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
    (b"\x00<\x00", "utf-16-be"), (b"<\x00", "utf-16-le"),
)  # fmt: skip
_START = re.compile(rb"<\?xpacket begin|<x:x[am]pmeta[\s>]")  # where a packet starts in arbitrary bytes

Property = tuple[str, str, str]  # (namespace URI, local name, text value)


# Finding packets ---------------------------------------------------------------------------------


def _assemble(chunks: list[tuple[int, int, bytes]]) -> bytes | None:
    """An extended packet from its (offset, full length, chunk) parts, or None if any byte is missing.

    The full length is the one the chunk at offset 0 declares; chunks declaring another, or reaching
    past it, are ignored. Overlapping chunks are accepted (the earlier bytes win); a gap is not.
    """
    full = next((length for offset, length, _ in chunks if offset == 0), 0)
    if not 0 < full <= MAX_PACKET:
        return None
    packet = bytearray()
    for offset, length, chunk in sorted(chunks, key=lambda part: part[0]):
        if length != full or offset + len(chunk) > full:
            continue
        if offset > len(packet):
            return None
        packet += chunk[len(packet) - offset :]
    return bytes(packet) if len(packet) == full else None


def packets(app1: Iterable[bytes]) -> list[bytes]:
    """A JPEG's XMP from its APP1 payloads: [] without any, [standard], or [standard, extended] when
    the extended is complete.

    Only extended chunks whose GUID is the standard packet's xmpNote:HasExtendedXMP count: another
    GUID is a leftover of an earlier edit, which readers are required to ignore.
    """
    standard: bytes | None = None
    chunks: dict[bytes, list[tuple[int, int, bytes]]] = {}
    for payload in app1:
        if payload.startswith(STANDARD_HEADER):
            standard = payload[len(STANDARD_HEADER) :] if standard is None else standard
        elif payload.startswith(EXTENDED_HEADER) and len(payload) >= len(EXTENDED_HEADER) + 40:
            body = payload[len(EXTENDED_HEADER) :]
            full, offset = int.from_bytes(body[32:36], "big"), int.from_bytes(body[36:40], "big")
            chunks.setdefault(body[:32], []).append((offset, full, body[40:]))
    if standard is None:
        return []
    xmp = parse(standard)
    guid = xmp.text(XMP_NOTE, "HasExtendedXMP").encode("ascii", "replace") if xmp else b""
    extended = _assemble(chunks.get(guid, []))
    return [standard, extended] if extended else [standard]


def find_packets(data: bytes) -> list[bytes]:
    """XMP packets found by searching raw bytes, for formats whose XMP is not reached another way.

    A packet is `<?xpacket begin ...?> ... <?xpacket end ...?>`, or `<x:xmpmeta ...> ...
    </x:xmpmeta>` when unwrapped; a start left unclosed does not swallow the next packet. The search
    is linear: once a closing text is known to be absent, starts that need it are not searched again.
    """
    packets: list[bytes] = []
    missing: set[bytes] = set()
    pos = 0
    while match := _START.search(data, pos):
        wrapped = match.group().startswith(b"<?")
        close = b"<?xpacket end" if wrapped else b"</" + match.group()[1:10] + b">"
        end = -1 if close in missing else data.find(close, match.end())
        if end >= 0:
            end = data.find(b"?>", end) if wrapped else end + len(close)
            end = end + 2 if wrapped and end >= 0 else end
        if end < 0:
            missing.add(close)
            pos = match.end()
            continue
        start = data.rfind(match.group()[: 15 if wrapped else 10], match.start(), end)  # the innermost start
        packets.append(data[start:end])
        pos = end
    return packets


# Reading packets ---------------------------------------------------------------------------------


def _decode(packet: bytes) -> str:
    """The packet as text: UTF-8, unless a byte-order mark or a NUL beside the first `<` says UTF-16/32."""
    for start, codec in _ENCODINGS:
        if packet.startswith(start):
            return packet.decode(codec, "replace")
    return packet.decode("utf-8", "replace")


def parse(packet: bytes | str) -> Xmp | None:
    """One packet parsed, or None when it is too large, declares a DTD (entity expansion), or is not XML.

    NULs and whitespace around the packet (padding in files) and `<?xpacket?>` instructions are fine.
    """
    if len(packet) > MAX_PACKET:
        return None
    text = (packet if isinstance(packet, str) else _decode(packet)).strip("\x00 \t\r\n\ufeff")
    if not text or _DTD.search(text):
        return None
    try:
        return Xmp((ElementTree.fromstring(text),))
    except (ElementTree.ParseError, ValueError):
        return None


def parse_all(packets: Iterable[bytes | str]) -> Xmp | None:
    """The packets that parse, read as one (a JPEG's standard and extended XMP); None if none do."""
    roots = tuple(root for xmp in map(parse, packets) if xmp for root in xmp.roots)
    return Xmp(roots) if roots else None


def _split(tag: str) -> tuple[str, str]:
    namespace, _, name = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    return namespace, name


def _fields(node: ElementTree.Element, owner: tuple[str, str] | None, depth: int) -> Iterator[Property]:
    """The properties a node holds: its attributes, then its children, the leaves under their own names.

    NODE is an rdf:Description, a property, or an rdf:li; OWNER is the property whose value the
    node's own text, rdf:value or rdf:resource is (None at the top level).
    """
    if depth > MAX_DEPTH:
        return
    for key, value in node.attrib.items():
        namespace, name = _split(key)
        if namespace and namespace not in _STRUCTURAL:
            yield namespace, name, value
        elif key == _RDF_RESOURCE and owner:
            yield *owner, value
    for child in node:
        namespace, name = _split(child.tag)
        if child.tag in _CONTAINERS:  # array items are values of the property that holds the array
            for item in child.iterfind(_RDF_LI):
                yield from _value(item, owner, depth + 1)
        elif child.tag == _RDF_VALUE or (namespace == RDF and name == "Description"):
            yield from _value(child, owner, depth + 1)
        elif namespace and namespace not in _STRUCTURAL:
            yield from _value(child, (namespace, name), depth + 1)


def _value(element: ElementTree.Element, owner: tuple[str, str] | None, depth: int) -> Iterator[Property]:
    """A simple value as (owner, text); a structure as its fields."""
    fields = list(_fields(element, owner, depth))
    yield from fields
    if owner and not fields and len(element) == 0:
        yield *owner, element.text or ""


@dataclass(frozen=True)
class Xmp:
    """One or more parsed packets; the roots of their element trees, in reading order."""

    roots: tuple[ElementTree.Element, ...]

    def _descriptions(self) -> Iterator[ElementTree.Element]:
        """The top-level nodes (rdf:Description, or typed nodes) whose properties a packet holds."""
        for root in self.roots:
            for rdf in root.iter(_RDF_RDF):
                yield from rdf

    def properties(self) -> list[Property]:
        """Every simple property, in document order, whether written as attribute or element.

        Array items are reported under the array property's name, structure fields under their own.
        """
        return [prop for node in self._descriptions() for prop in _fields(node, None, 0)]

    def values(self, namespace: str, name: str) -> list[str]:
        """Every value of one property (all items of an array), in document order."""
        return [value for ns, local, value in self.properties() if (ns, local) == (namespace, name)]

    def text(self, namespace: str, name: str) -> str:
        """One text for a property, stripped; "" when absent.

        For a language alternative (dc:description, dc:title) the x-default item, else the first
        non-empty item; for a simple property its element text, else its attribute-form value.
        """
        tag = f"{{{namespace}}}{name}"
        for node in self._descriptions():
            for element in node.iterfind(tag):
                items = list(element.iter(_RDF_LI))
                preferred = [item for item in items if item.get(_XML_LANG, "").lower() == "x-default"]
                for candidate in (*preferred, *items, element, *element.iter(_RDF_VALUE)):
                    if candidate.text and candidate.text.strip():
                        return candidate.text.strip()
        return next((value.strip() for node in self._descriptions() if (value := node.get(tag)) is not None), "")
