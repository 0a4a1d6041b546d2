"""The journal: one line per finished output, file placed and commit, written the moment it
happens, so that a run killed at any point loses no finished work (state.py reads it back)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..files import append_line
from ..model import (
    Analysis,
    OutputFile,
    Placeholder,
)
from .state import JOURNAL_FILE, OutputRecord


def journal_rendered(
    out_dir: Path, content_hash: str, outputs: Iterable[OutputFile], placeholder: Placeholder, analysis: Analysis | None
) -> None:
    """Note one photo's finished outputs (under the names they were written to) the moment they exist."""
    _append(
        out_dir,
        {
            "kind": "rendered",
            "hash": content_hash,
            "outputs": {o.key: vars(OutputRecord.of(o)) for o in outputs},
            "placeholder": vars(placeholder),
            "analysis": vars(analysis) if analysis else None,
        },
    )


def journal_placed(out_dir: Path, content_hash: str, output: OutputFile, released: Path | None) -> None:
    """Note an output copied or linked to where the commit expects it; `released` is the file it came
    from, which no output owns any more once the set is published."""
    entry = {"kind": "placed", "hash": content_hash, "key": output.key, "output": vars(OutputRecord.of(output))}
    _append(out_dir, entry | {"released": released.name if released else None})


def journal_commit(out_dir: Path, committed: Sequence[tuple[str, Path, OutputFile]]) -> None:
    """Note a commit before any file moves: (content hash, the stage file, the output under its
    published name). Flushed to disk: a restart after a kill mid-commit reads it."""
    entries = [
        {"hash": h, "key": o.key, "output": vars(OutputRecord.of(o)), "stage": stage.name} for h, stage, o in committed
    ]
    _append(out_dir, {"kind": "commit", "outputs": entries}, sync=True)


def _append(out_dir: Path, entry: dict[str, Any], sync: bool = False) -> None:
    """One line at the end of the journal; a line cut short by a kill is ignored when read. A link
    planted at the journal's name is replaced, never appended through (files.append_line)."""
    append_line(out_dir / JOURNAL_FILE, json.dumps(entry, sort_keys=True) + "\n", sync=sync)
