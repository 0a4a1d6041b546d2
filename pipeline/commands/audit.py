"""`gallery audit` and `gallery inspect`: what a file's metadata gives away, judged."""

from __future__ import annotations

from ..image.facts import MetadataFacts
from ..names import one_line


def leaks(facts: MetadataFacts, owners: tuple[str, ...] = ()) -> list[str]:
    """The privacy leaks in one file, each said plainly; empty when the file is clean."""
    found = []
    if facts.error:
        found.append(f"cannot be checked: {facts.error}")
    if facts.gps:
        found.append(f"GPS: {facts.location}" if facts.location else f"GPS tags: {', '.join(facts.gps)}")
    if facts.serials:
        found.append(f"serial numbers: {', '.join(facts.serials)}")
    if facts.maker_notes:
        found.append("maker notes (they hold serial numbers and more)")
    if facts.thumbnail:
        found.append("embedded thumbnail (can show the uncropped original)")
    if facts.xmp_location:
        found.append(f"XMP location: {', '.join(facts.xmp_location)}")
    if facts.xmp_serials:
        found.append(f"XMP serial numbers: {', '.join(facts.xmp_serials)}")
    if facts.iptc_location:
        found.append(f"IPTC location: {', '.join(facts.iptc_location)}")
    for owner in owners:
        if any(owner.casefold() in value.casefold() for value in facts.text):
            found.append(f"owner name {owner!r}")
    return found


def describe(facts: MetadataFacts) -> str:
    """The readable table `gallery inspect` prints for one file."""
    if facts.error:
        return f"{one_line(facts.path)}\n  error         {one_line(facts.error)}\n"
    turned = f"{facts.orientation} (turned on display)"
    orientation_text = {None: "-", 1: "1 (as stored)"}.get(facts.orientation, turned)
    gps = "no"
    if facts.gps:
        gps = f"yes: {facts.location}" if facts.location else f"tags without coordinates ({', '.join(facts.gps)})"
    xmp = "no"
    if facts.xmp:
        private = facts.xmp_location + facts.xmp_serials
        xmp = f"yes, with {', '.join(private)}" if private else "yes"
    iptc = f"yes, with {', '.join(facts.iptc_location)}" if facts.iptc_location else ("yes" if facts.iptc else "no")
    rows = [
        ("format", facts.format or "-"),
        ("size", f"{facts.width} x {facts.height}"),
        ("orientation", orientation_text),
        ("captured", facts.captured or "-"),
        ("camera", facts.camera or "-"),
        ("GPS", gps),
        ("serials", ", ".join(facts.serials) or "none"),
        ("maker notes", "yes" if facts.maker_notes else "no"),
        ("thumbnail", "yes" if facts.thumbnail else "no"),
        ("ICC profile", facts.icc_profile or "none (sRGB assumed)"),
        ("EXIF", "yes" if facts.exif else "no"),
        ("XMP", xmp),
        ("IPTC", iptc),
    ]
    return one_line(facts.path) + "\n" + "".join(f"  {label:<13} {one_line(value)}\n" for label, value in rows)
