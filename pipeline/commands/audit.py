"""`gallery audit` and `gallery inspect`: what published files' metadata gives away, judged.

The files are read through the one metadata reader (image/facts.py); only headers, no pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config.sections import Config
from ..image.facts import MetadataFacts, published_images, read_facts
from ..image.ingest import folder_of


@dataclass(frozen=True)
class Audit:
    """Every image of a published site with its leaks (empty when clean), and the entries passed by
    (FIFOs, sockets, devices) with why."""

    checked: tuple[tuple[Path, tuple[str, ...]], ...]
    passed_by: tuple[tuple[Path, str], ...]

    @property
    def leaking(self) -> int:
        return sum(bool(found) for _, found in self.checked)


def inspect(paths: Sequence[Path], config: Config) -> list[MetadataFacts]:
    """What each file's headers carry, for `gallery inspect`."""
    return [read_facts(path, config) for path in paths]


def audit(site: Path, config: Config, owners: Sequence[str] = ()) -> Audit:
    """Every image under `site`, judged for leaks; `owners` add to `metadata.owners`."""
    folder_of(site, holding="published files")
    names = (*config.metadata.owners, *owners)
    checked, passed_by = [], []
    for path, skipped in published_images(site):
        if skipped:
            passed_by.append((path, skipped))
        else:
            checked.append((path, tuple(leaks(read_facts(path, config), names))))
    return Audit(tuple(checked), tuple(passed_by))


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
