"""The output folder's record of what was written from what, so re-runs redo only what changed.

A source is recognised by size and mtime first (cheap), by content hash when those changed, and each
output by its cache key (keys.py). The record holds typed records and converts them to and from JSON
itself; an unreadable record is a cache miss, never an error.

A run writes nothing under a published name until its set is complete: outputs whose name is taken
wait under a hidden stage name (`.NAME.stage`) and take their names in one commit (commit.py). The
journal (journal.py) notes every output finished, every file placed and the commit itself; reading
the record replays it, so a run killed at any point loses no finished work and a restart knows
exactly which file holds what.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..files import read_regular_file, write_atomically
from ..model import (
    ANALYSIS_VERSION,
    Analysis,
    Candidate,
    OutputFile,
    OutputSpec,
    PhotoPlan,
    PhotoText,
    Placeholder,
    Role,
    SourcePhoto,
)

STATE_FILE = ".gallery-state.json"
JOURNAL_FILE = ".gallery-state.journal"
STATE_VERSION = 1
STAGE_SUFFIX = ".stage"


def stage_name(filename: str) -> str:
    """Where an output waits for the commit when its published name is still taken: hidden, so no
    site builder publishes it, and not a temp file, so a restart finds it again."""
    return f".{filename}{STAGE_SUFFIX}"


@dataclass(frozen=True)
class OutputRecord:
    """One output file as the record keeps it: a file name in the output folder, never a path."""

    file: str
    role: Role
    format: str
    width: int
    height: int
    bytes: int

    @classmethod
    def of(cls, output: OutputFile) -> OutputRecord:
        return cls(output.path.name, output.role, output.format, output.width, output.height, output.bytes)


@dataclass(frozen=True)
class PublishedSet:
    """The set last published into the folder: which source folder, under which name and title."""

    source: str
    name: str
    title: str


@dataclass(frozen=True)
class Placed:
    """One planned output: where its bytes are now (None: still to be rendered) and how many there
    are, as the record says and the file's size confirmed; where they must be before the commit (its
    published name when that is free, else its stage name), and its name."""

    spec: OutputSpec
    current: Path | None
    target: Path
    final: Path
    size: int = 0

    @property
    def moved(self) -> bool:
        """Bytes that exist, but not yet where the commit expects them."""
        return self.current is not None and self.current != self.target


@dataclass(frozen=True)
class Located:
    """Where each planned output of one photo stands (those not there are `to_render`), and whether
    the photo must be decoded even when all are (no placeholder yet, one made from other pixels, or
    no curation scores)."""

    outputs: tuple[Placed, ...]
    needs_decode: bool

    @property
    def to_render(self) -> dict[str, Path]:
        """Output key -> where rendering writes it."""
        return {placed.spec.key: placed.target for placed in self.outputs if placed.current is None}


@dataclass
class State:
    """`sources`: resolved source path -> what its header said; `outputs`: content hash -> output key
    -> record; `placeholders`: content hash -> placeholder; `published`: the set the folder holds;
    `released`: files that no output owns any more, deleted once the post and manifest no longer
    name them."""

    sources: dict[str, SourcePhoto] = field(default_factory=dict)
    outputs: dict[str, dict[str, OutputRecord]] = field(default_factory=dict)
    placeholders: dict[str, Placeholder] = field(default_factory=dict)
    published: PublishedSet | None = None
    analyses: dict[str, Analysis] = field(default_factory=dict)  # content hash -> curation scores
    released: set[str] = field(default_factory=set)

    def known_photo(self, candidate: Candidate) -> SourcePhoto | None:
        """What the record knows of a file whose size and mtime have not changed since."""
        known = self.sources.get(str(candidate.path.resolve()))
        if known is None or (known.size, known.mtime_ns) != (candidate.size, candidate.mtime_ns):
            return None
        return dataclasses.replace(known, path=candidate.path)

    def remember_photo(self, photo: SourcePhoto) -> None:
        self.sources[str(photo.path.resolve())] = photo

    def find(self, content_hash: str, key: str, folder: Path) -> tuple[Path, int] | None:
        """The file holding an output's bytes and their number, when it is there with the recorded size."""
        record = self.outputs.get(content_hash, {}).get(key)
        if record is None or not _holds(folder / record.file, record.bytes):
            return None
        return folder / record.file, record.bytes

    def locate(self, plan: PhotoPlan, folder: Path, elsewhere: Sequence[tuple[State, Path]] = ()) -> Located:
        """Where each planned output of a photo stands: here, in another folder of gallery's (the
        private folder of review and preview, or the published one), or nowhere yet."""
        content_hash = plan.photo.content_hash
        placed = []
        for spec in plan.specs:
            final = folder / spec.filename
            found = self.find(content_hash, spec.key, folder)
            if found is None:
                found = next((there for s, f in elsewhere if (there := s.find(content_hash, spec.key, f))), None)
            current, size = found or (None, 0)
            ready = current in (final, folder / stage_name(spec.filename))
            target = current if ready and current else (final if not os.path.lexists(final) else _stage(final))
            placed.append(Placed(spec, current, target, final, size))
        placeholder = self.placeholders.get(content_hash)
        stale = placeholder is None or placeholder.key != plan.specs[-1].key
        unscored = content_hash not in self.analyses
        return Located(tuple(placed), stale or unscored)

    def adopt(self, content_hash: str, placeholder_key: str | None, others: Iterable[State]) -> None:
        """Take a photo's curation scores, and its placeholder when made from the pixels of
        `placeholder_key` (the smallest planned output), from another folder's record: no photo is
        decoded again for what review or the published set already made."""
        for other in others:
            theirs = other.placeholders.get(content_hash)
            ours = self.placeholders.get(content_hash)
            if theirs and theirs.key == placeholder_key and (ours is None or ours.key != placeholder_key):
                self.placeholders[content_hash] = theirs
            if content_hash not in self.analyses and content_hash in other.analyses:
                self.analyses[content_hash] = other.analyses[content_hash]

    def adopt_sources(self, others: Iterable[State]) -> None:
        """What other folders' records know of the photos' headers: a file whose size and mtime match
        is not read again (`known_photo`)."""
        for other in others:
            for path, photo in other.sources.items():
                self.sources.setdefault(path, photo)

    def record_outputs(self, content_hash: str, outputs: Iterable[OutputFile]) -> None:
        self.outputs.setdefault(content_hash, {}).update({o.key: OutputRecord.of(o) for o in outputs})

    def claim(self, committed: Iterable[tuple[str, Iterable[OutputFile]]]) -> None:
        """Record the outputs of a commit, by content hash, where they now are; a record of another
        output whose file now holds one of them is dropped."""
        claimed: dict[str, tuple[str, str]] = {}
        for content_hash, outputs in committed:
            for output in outputs:
                self.record_outputs(content_hash, (output,))
                claimed[output.path.name] = (content_hash, output.key)
        for content_hash, entry in list(self.outputs.items()):
            for key in [
                k for k, record in entry.items() if claimed.get(record.file, (content_hash, k)) != (content_hash, k)
            ]:
                del entry[key]
            if not entry:
                del self.outputs[content_hash]

    def owned(self) -> set[str]:
        """Every file name some record owns."""
        return {record.file for records in self.outputs.values() for record in records.values()}

    def doomed(
        self, needed: Mapping[str, Collection[str]], left_out: Collection[str], prune: bool
    ) -> list[tuple[str, str]]:
        """(content hash, key) of the outputs a run gives up: every output of a photo left out on
        purpose (captions.toml's `skip`) and, with `prune`, every output the set does not `need`
        (content hash -> output keys): a photo gone, or a width or format no longer asked for."""
        return [
            (content_hash, key)
            for content_hash, records in self.outputs.items()
            for key in records
            if content_hash in left_out or (prune and key not in needed.get(content_hash, ()))
        ]

    def forget(
        self,
        needed: Mapping[str, Collection[str]],
        current: Iterable[SourcePhoto],
        left_out: Iterable[SourcePhoto],
        prune: bool,
    ) -> None:
        """Forget sources no longer in the folder, and the `doomed` outputs, whose files are released:
        deleted once the post and the manifest name none of them (commit.release), at this run's end
        or, if its texts could not be written, a later one's. What is known of left-out photos
        themselves (header, curation scores) stays for review."""
        left_out = list(left_out)
        kept = {str(photo.path.resolve()) for photo in (*current, *left_out)}
        self.sources = {path: photo for path, photo in self.sources.items() if path in kept}
        for content_hash, key in self.doomed(needed, {photo.content_hash for photo in left_out}, prune):
            self.released.add(self.outputs[content_hash].pop(key).file)
            if not self.outputs[content_hash]:
                del self.outputs[content_hash]
        self.placeholders = {h: p for h, p in self.placeholders.items() if h in self.outputs}
        known = {photo.content_hash for photo in self.sources.values()}
        self.analyses = {h: a for h, a in self.analyses.items() if h in known or h in self.outputs}


def _stage(final: Path) -> Path:
    return final.with_name(stage_name(final.name))


def _holds(path: Path, size: int) -> bool:
    """A regular file of the recorded size: a link planted at an output's name is never taken for it."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == size


def load_state(out_dir: Path) -> State:
    """The record of the last complete run, plus what the journal says a killed run did after it."""
    try:
        raw = json.loads((out_dir / STATE_FILE).read_text(encoding="utf-8"))
        state = _from_json(raw) if raw.get("version") == STATE_VERSION else State()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        state = State()
    _replay_journal(out_dir, state)
    return state


def save_state(out_dir: Path, state: State) -> None:
    """Write the whole record; the journal is folded into it and goes."""
    payload = {
        "version": STATE_VERSION,
        "sources": {path: _source_json(photo) for path, photo in state.sources.items()},
        "outputs": {h: {key: vars(r) for key, r in records.items()} for h, records in state.outputs.items()},
        "placeholders": {h: vars(p) for h, p in state.placeholders.items()},
        "published": vars(state.published) if state.published else None,
        "analyses": {"version": ANALYSIS_VERSION, "photos": {h: vars(a) for h, a in state.analyses.items()}},
        "released": sorted(state.released),
    }
    # Compact on purpose: without `indent` json uses its C encoder, ~4x faster on the record of a
    # large set, which every run writes, even one that finds nothing to do. The records are flat
    # dataclasses: `vars` gives their fields without `asdict`'s deep copy.
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True) + "\n"
    write_atomically(out_dir / STATE_FILE, text.encode("utf-8"))
    (out_dir / JOURNAL_FILE).unlink(missing_ok=True)


def _replay_journal(out_dir: Path, state: State) -> None:
    journal = read_regular_file(out_dir / JOURNAL_FILE)  # a link planted at its name is not read
    if journal is None:
        return
    for line in journal.decode("utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
            kind = entry.get("kind", "rendered")
            if kind == "rendered":
                records = {key: _record(record) for key, record in entry["outputs"].items()}
                state.outputs.setdefault(entry["hash"], {}).update(records)
                if entry.get("placeholder"):
                    state.placeholders[entry["hash"]] = Placeholder(**entry["placeholder"])
                if entry.get("analysis"):
                    state.analyses[entry["hash"]] = Analysis(**entry["analysis"])
            elif kind == "placed":
                state.outputs.setdefault(entry["hash"], {})[entry["key"]] = _record(entry["output"])
                if entry.get("released"):
                    state.released.add(_plain_name(entry["released"]))
            elif kind == "commit":
                _replay_commit(out_dir, state, entry["outputs"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue


def _replay_commit(out_dir: Path, state: State, entries: list[dict[str, Any]]) -> None:
    """A commit's outputs under their published names; one whose stage file is still there did not
    move before the kill, and is known where it waits."""
    committed: list[tuple[str, list[OutputFile]]] = []
    for entry in entries:
        record = _record(entry["output"])
        stage = entry.get("stage")
        if stage and _holds(out_dir / _plain_name(stage), record.bytes):
            record = dataclasses.replace(record, file=_plain_name(stage))
        output = OutputFile(record.role, record.format, record.width, record.height, record.bytes,
                            out_dir / record.file, entry["key"])  # fmt: skip
        committed.append((entry["hash"], [output]))
    state.claim(committed)


def _record(raw: dict[str, Any]) -> OutputRecord:
    record = OutputRecord(**raw)
    return dataclasses.replace(record, file=_plain_name(record.file))


def _plain_name(name: str) -> str:
    """A file name inside the folder, never a path out of it: the record is read back from disk."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError(f"not a file name: {name!r}")
    return name


def _from_json(raw: dict[str, Any]) -> State:
    published = raw.get("published")
    return State(
        sources=_sources_from_json(raw["sources"]),
        outputs={h: {key: _record(record) for key, record in records.items()} for h, records in raw["outputs"].items()},
        placeholders={h: Placeholder(**p) for h, p in raw.get("placeholders", {}).items()},
        published=PublishedSet(**published) if published else None,
        analyses=_analyses_from_json(raw.get("analyses")),
        released={_plain_name(name) for name in raw.get("released", [])},
    )


def _analyses_from_json(raw: Any) -> dict[str, Analysis]:
    """Curation scores of an older meaning (another version) are scored again, not trusted."""
    if not isinstance(raw, dict) or raw.get("version") != ANALYSIS_VERSION:
        return {}
    return {h: Analysis(**values) for h, values in raw["photos"].items()}


def _sources_from_json(raw: dict[str, Any]) -> dict[str, SourcePhoto]:
    """The sources the record knows; an entry it cannot read (one from an older gallery) is left out,
    so that file's header is read again, and the rest of the record still counts."""
    sources = {}
    for path, facts in raw.items():
        try:
            sources[path] = _source_from_json(path, facts)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return sources


def _source_json(photo: SourcePhoto) -> dict[str, Any]:
    return {
        "size": photo.size,
        "mtime_ns": photo.mtime_ns,
        "hash": photo.content_hash,
        "format": photo.format,
        "width": photo.width,
        "height": photo.height,
        "captured": photo.captured.isoformat() if photo.captured else None,
        "text": vars(photo.embedded),
        "camera": photo.camera,
        "serial": photo.serial,
    }


def _source_from_json(path: str, known: dict[str, Any]) -> SourcePhoto:
    captured = known["captured"]
    return SourcePhoto(
        path=Path(path),
        format=known["format"],
        size=known["size"],
        mtime_ns=known["mtime_ns"],
        content_hash=known["hash"],
        width=known["width"],
        height=known["height"],
        captured=datetime.fromisoformat(captured) if captured else None,
        embedded=PhotoText(**{k: v for k, v in known["text"].items() if isinstance(v, str)}),
        camera=known["camera"],
        serial=known["serial"],
    )
