"""The output folder's record of what was written from what, so re-runs redo only what changed.

A source is recognised by size and mtime first (cheap), by content hash when those changed, and each
output by a key derived from every setting that shapes its bytes (plan.py). The record holds typed
records and converts them to and from JSON itself; an unreadable record is a cache miss, never an
error. A journal beside it keeps the photos a killed run finished.
"""

from __future__ import annotations

import dataclasses
import json
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .files import append_line, read_regular_file, write_atomically
from .model import (
    ANALYSIS_VERSION,
    Analysis,
    Candidate,
    OutputFile,
    PhotoPlan,
    PhotoText,
    Placeholder,
    Role,
    SourcePhoto,
)

STATE_FILE = ".gallery-state.json"
JOURNAL_FILE = ".gallery-state.journal"
STATE_VERSION = 1


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
class Reuse:
    """What the record offers one planned photo: outputs already on disk with the right bytes (under
    their planned names once `renames` are done), the keys still to render, and whether a decode is
    needed anyway (no placeholder yet, or one made from other pixels)."""

    outputs: tuple[OutputFile, ...]
    renames: tuple[tuple[Path, Path], ...]
    missing: frozenset[str]
    needs_decode: bool


@dataclass
class State:
    """`sources`: resolved source path -> what its header said; `outputs`: content hash -> output key
    -> record; `placeholders`: content hash -> placeholder; `published`: the set the folder holds."""

    sources: dict[str, SourcePhoto] = field(default_factory=dict)
    outputs: dict[str, dict[str, OutputRecord]] = field(default_factory=dict)
    placeholders: dict[str, Placeholder] = field(default_factory=dict)
    published: PublishedSet | None = None
    analyses: dict[str, Analysis] = field(default_factory=dict)  # content hash -> curation scores

    def known_photo(self, candidate: Candidate) -> SourcePhoto | None:
        """What the record knows of a file whose size and mtime have not changed since."""
        known = self.sources.get(str(candidate.path.resolve()))
        if known is None or (known.size, known.mtime_ns) != (candidate.size, candidate.mtime_ns):
            return None
        return dataclasses.replace(known, path=candidate.path)

    def remember_photo(self, photo: SourcePhoto) -> None:
        self.sources[str(photo.path.resolve())] = photo

    def reuse(self, plan: PhotoPlan, out_dir: Path, rename: bool = True) -> Reuse:
        """Which of a photo's planned outputs exist already; with `rename`, under their planned names
        (a renumbered set's files are renamed, not rendered again), else where they are."""
        known = self.outputs.get(plan.photo.content_hash, {})
        reused: list[OutputFile] = []
        renames: list[tuple[Path, Path]] = []
        for spec in plan.specs:
            record = known.get(spec.key)
            if record is None or not _has_size(out_dir / record.file, record.bytes):
                continue
            existing = out_dir / record.file
            target = out_dir / spec.filename if rename else existing
            if existing != target:
                renames.append((existing, target))
            reused.append(OutputFile(spec.role, spec.format, spec.width, spec.height, record.bytes, target, spec.key))
        missing = frozenset(spec.key for spec in plan.specs) - {o.key for o in reused}
        placeholder = self.placeholders.get(plan.photo.content_hash)
        stale = placeholder is None or placeholder.key != plan.specs[-1].key
        unscored = plan.photo.content_hash not in self.analyses
        return Reuse(tuple(reused), tuple(renames), missing, bool(missing) or stale or unscored)

    def record_outputs(self, content_hash: str, outputs: Iterable[OutputFile]) -> None:
        self.outputs.setdefault(content_hash, {}).update({o.key: OutputRecord.of(o) for o in outputs})

    def settle(
        self,
        published: list[tuple[SourcePhoto, tuple[OutputFile, ...]]],
        out_dir: Path,
        prune: bool,
        left_out: Iterable[SourcePhoto] = (),
    ) -> None:
        """Bring the record in line with what a run published.

        Sources no longer in the set are forgotten; records whose file now belongs to another output
        are dropped. Outputs no current photo needs stay on disk and in the record, unless `prune`
        removes them; those of photos `left_out` on purpose (captions.toml's `skip`) always go, while
        what is known of those photos themselves (header, curation scores) stays for review.
        """
        left_out = list(left_out)
        skipped = {photo.content_hash for photo in left_out}
        current = {str(photo.path.resolve()) for photo, _ in published} | {str(p.path.resolve()) for p in left_out}
        self.sources = {path: photo for path, photo in self.sources.items() if path in current}
        claimed: dict[str, tuple[str, str]] = {}
        for photo, outputs in published:
            self.record_outputs(photo.content_hash, outputs)
            claimed.update({o.path.name: (photo.content_hash, o.key) for o in outputs})
        for content_hash in list(self.outputs):
            entry = self.outputs[content_hash]
            for key in list(entry):
                owner = claimed.get(entry[key].file)
                if owner == (content_hash, key):
                    continue
                if owner is not None:
                    del entry[key]
                elif prune or content_hash in skipped:
                    (out_dir / entry[key].file).unlink(missing_ok=True)
                    del entry[key]
            if not entry:
                del self.outputs[content_hash]
        self.placeholders = {h: p for h, p in self.placeholders.items() if h in self.outputs}
        known = {photo.content_hash for photo in self.sources.values()}
        self.analyses = {h: a for h, a in self.analyses.items() if h in known or h in self.outputs}


def _has_size(path: Path, size: int) -> bool:
    """A regular file of that size: a link planted at an output's name is never published as the output."""
    try:
        info = path.lstat()
        return stat.S_ISREG(info.st_mode) and info.st_size == size
    except OSError:
        return False


def load_state(out_dir: Path) -> State:
    """The record of the last complete run, plus the photos a killed run finished after it."""
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
    }
    # Compact on purpose: without `indent` json uses its C encoder, ~4x faster on the record of a
    # large set, which every run writes, even one that finds nothing to do. The records are flat
    # dataclasses: `vars` gives their fields without `asdict`'s deep copy.
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True) + "\n"
    write_atomically(out_dir / STATE_FILE, text.encode("utf-8"))
    (out_dir / JOURNAL_FILE).unlink(missing_ok=True)


def journal_outputs(
    out_dir: Path, content_hash: str, outputs: Iterable[OutputFile], placeholder: Placeholder, analysis: Analysis | None
) -> None:
    """Note one photo's finished outputs the moment they exist, one appended line each.

    The full record is written once, at the end of a run; a run killed before then would forget
    every photo it finished. The journal keeps them, so the next run renders only the rest. A line
    cut short by the kill is ignored when read. A link planted at the journal's name is replaced,
    never appended through (files.append_line).
    """
    records = {o.key: vars(OutputRecord.of(o)) for o in outputs}
    entry = {
        "hash": content_hash,
        "outputs": records,
        "placeholder": vars(placeholder),
        "analysis": vars(analysis) if analysis else None,
    }
    append_line(out_dir / JOURNAL_FILE, json.dumps(entry, sort_keys=True) + "\n")


def _replay_journal(out_dir: Path, state: State) -> None:
    journal = read_regular_file(out_dir / JOURNAL_FILE)  # a link planted at its name is not read
    if journal is None:
        return
    for line in journal.decode("utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
            records = {key: OutputRecord(**record) for key, record in entry["outputs"].items()}
            state.outputs.setdefault(entry["hash"], {}).update(records)
            if entry.get("placeholder"):
                state.placeholders[entry["hash"]] = Placeholder(**entry["placeholder"])
            if entry.get("analysis"):
                state.analyses[entry["hash"]] = Analysis(**entry["analysis"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue


def _from_json(raw: dict[str, Any]) -> State:
    published = raw.get("published")
    return State(
        sources=_sources_from_json(raw["sources"]),
        outputs={
            h: {key: OutputRecord(**record) for key, record in records.items()} for h, records in raw["outputs"].items()
        },
        placeholders={h: Placeholder(**p) for h, p in raw.get("placeholders", {}).items()},
        published=PublishedSet(**published) if published else None,
        analyses=_analyses_from_json(raw.get("analyses")),
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
