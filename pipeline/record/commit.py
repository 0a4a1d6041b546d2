"""How a run's files take their published names without a moment in which the post or the manifest
points at a file that is not there.

The order is what keeps every reference whole, whenever the run is killed:
1. `place`: bytes that exist already (a renumbered photo's outputs, or renders of the private
   folder) are linked, never moved, to their new name when it is free, else to its stage name.
   Rendering writes the same way. No published name has lost its file yet.
2. `commit`: the journal notes the commit, then each stage file replaces its published name in one
   rename. A name is never missing, only replaced.
3. The run writes the manifest and the post (run.py).
4. `release`: only then go the files no output owns any more, and stage files left by killed runs.
A restart reads what the journal noted, so it renders nothing that was finished and deletes nothing
that the post still names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..files import link_or_copy
from ..model import OutputFile
from .journal import journal_commit, journal_placed
from .state import STAGE_SUFFIX, Placed, State


def place(folder: Path, state: State, content_hash: str, placed: Placed) -> OutputFile | None:
    """Link (or copy) an output's existing bytes to where the commit expects them; note it in the
    record and the journal. The file they came from stays until `release`. None when another
    folder's file went meanwhile (a review pruned its cache): the output is rendered instead."""
    assert placed.current is not None
    try:
        link_or_copy(placed.current, placed.target)
    except FileNotFoundError:
        if placed.current.parent == folder:
            raise
        return None
    output = placed.spec.written_at(placed.target, placed.size)  # a link or copy of the recorded bytes
    released = placed.current if placed.current.parent == folder else None  # another folder's file stays its
    journal_placed(folder, content_hash, output, released)
    state.record_outputs(content_hash, (output,))
    if released is not None:
        state.released.add(released.name)
    return output


def commit(folder: Path, staged: Sequence[tuple[str, Sequence[OutputFile], Sequence[OutputFile]]]) -> None:
    """Move every staged output onto its published name: (content hash, outputs where they are now,
    the same outputs under their published names). Outputs already under their names stay as they are."""
    moves = [
        (content_hash, output.path, final)
        for content_hash, outputs, finals in staged
        for output, final in zip(outputs, finals, strict=True)
        if output.path != final.path
    ]
    if not moves:
        return
    journal_commit(folder, moves)
    for _, stage, final in moves:
        os.replace(stage, final.path)


def release(folder: Path, state: State) -> None:
    """Delete what no output owns any more: files released by placing or given up by the run
    (`state.released`), and stage files of killed runs. Called once the post and manifest name none
    of them."""
    owned = state.owned()
    for name in state.released - owned:
        (folder / name).unlink(missing_ok=True)
    state.released.clear()
    for leftover in folder.glob(f".*{STAGE_SUFFIX}"):
        if leftover.name not in owned:
            leftover.unlink(missing_ok=True)
