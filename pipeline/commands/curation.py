"""Curation's judgement over a set's scores: bursts grouped, blurry or badly exposed frames flagged,
the best frame of each burst suggested. Nothing here drops a photo: `group` and `flags` only suggest.

The scores themselves come from image/scores.py, made from pixels rendering already holds; the
thresholds below were tuned on the shared corpus with benchmarks/curation_fpr.py, which prints the
evidence for them.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..image.scores import DARK_P98
from ..model import Analysis

BLURRY_BELOW = 100.0  # absolute: sharp corpus photos score >= 181, Gaussian r2/r3 and 9-px motion blur <= 54
SOFTER_THAN = 0.5  # relative: blur to r1 at 320 px gives <= 0.33 of the sharp frame; exposure steps 0.5x-1.4x >= 0.63
SOFT_BELOW = 150.0  # beside the set: under this and under SOFTER_THAN x the set's median; sharp corpus photos >= 181
MAX_GAP = 2.0  # seconds; also absorbs EXIF times that only have whole seconds
MAX_DISTANCE = 14  # pHash bits: distinct corpus photos differ by >= 20, one shifted 2.5 % by <= 10
MAX_UNTIMED_DISTANCE = 4  # untimed, only near-identical pictures: messenger copies and re-encodes are <= 2
PICK_TOLERANCE = 0.15  # frames this close to the sharpest are equally good: copies score 0.93-1.09x their original


@dataclass(frozen=True)
class Shot:
    """One photo as curation sees it; `pixels` and `camera` come from its header (the plan's SourcePhoto)."""

    id: str  # file name
    captured: datetime | None  # capture instant (`ingest.capture_instants`): comparable across cameras
    analysis: Analysis
    pixels: int = 0  # width x height of the source: a copy has fewer than its original
    camera: str = ""  # "Make Model" from EXIF: a messenger's copy has none


@dataclass(frozen=True)
class Group:
    """Photos of one moment, in capture order, with the suggested pick; most groups hold one photo.

    `set_sharpness` is the median sharpness of the set the group was found in (0: judged without a set).
    """

    shots: tuple[Shot, ...]
    pick: str
    set_sharpness: float = 0.0

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(shot.id for shot in self.shots)


def distance(a: Analysis, b: Analysis) -> int:
    """Hamming distance of two perceptual hashes: 0 for the same picture, ~32 for unrelated ones."""
    return (int(a.phash, 16) ^ int(b.phash, 16)).bit_count()


def group(
    photos: Sequence[Shot],
    *,
    max_gap: float = MAX_GAP,
    max_distance: int = MAX_DISTANCE,
    max_untimed_distance: int = MAX_UNTIMED_DISTANCE,
) -> list[Group]:
    """Bursts: photos that look alike and follow each other within `max_gap` seconds; every photo is in one group.

    A photo joins the most similar group whose latest photo is at most `max_gap` before it, so another
    camera's frame in between (several photographers) does not split a burst. A photo without a time
    (a messenger's copy, an export) cannot be placed in a burst by time, and a burst cannot be told from
    the same scene shot again later by look alone: it joins the most similar group, timed or not, only
    when it is near-identical to one of its photos (`max_untimed_distance`), as a copy of it is.
    The photos given are the set: a frame is judged soft beside its group and beside them.
    """
    order = {shot.id: index for index, shot in enumerate(photos)}
    hashes = {shot.id: int(shot.analysis.phash, 16) for shot in photos}

    def apart(shot: Shot, members: list[Shot]) -> int:
        return min((hashes[shot.id] ^ hashes[member.id]).bit_count() for member in members)

    timed = sorted((shot for shot in photos if shot.captured is not None), key=lambda s: (s.captured, order[s.id]))
    groups: list[list[Shot]] = []
    active: list[list[Shot]] = []
    for shot in timed:
        active = [g for g in active if (shot.captured - g[-1].captured).total_seconds() <= max_gap]  # type: ignore[operator]
        if not _join(shot, active, apart, max_distance):
            active.append([shot])
            groups.append(active[-1])
    for shot in (shot for shot in photos if shot.captured is None):
        if not _join(shot, groups, apart, max_untimed_distance):
            groups.append([shot])
    groups.sort(key=lambda g: min(order[shot.id] for shot in g))
    set_sharpness = statistics.median(shot.analysis.sharpness for shot in photos) if photos else 0.0
    return [Group(tuple(g), _pick(g, set_sharpness), set_sharpness) for g in groups]


def _join(shot: Shot, groups: list[list[Shot]], apart: Callable[[Shot, list[Shot]], int], most: int) -> bool:
    """Add `shot` to the group it looks most like (the earliest on a tie) if within `most` bits; say whether it was."""
    best = min(((apart(shot, g), i) for i, g in enumerate(groups)), default=None)
    if best is None or best[0] > most:
        return False
    groups[best[1]].append(shot)
    return True


def _pick(shots: Sequence[Shot], set_sharpness: float) -> str:
    """The best frame: not flagged blurry, then without an exposure flag, then, among the frames as sharp
    as the sharpest within PICK_TOLERANCE, the untouched original: camera metadata, then more pixels.

    A messenger's copy or a resampled crop can score a little sharper than its original (recompression
    adds edges), so sharpness alone would prefer the copy.
    """
    best = max(_detail(shot) for shot in shots)
    rank = {shot.id: (_blurry(shot, best, set_sharpness), bool(shot.analysis.exposure)) for shot in shots}
    top = min(rank.values())
    contenders = [shot for shot in shots if rank[shot.id] == top]
    sharpest = max(_detail(shot) for shot in contenders)
    equal = [shot for shot in contenders if _detail(shot) >= (1 - PICK_TOLERANCE) * sharpest]
    return min(equal, key=lambda s: (not s.camera, -s.pixels, -_detail(s))).id  # earliest on ties


def _detail(shot: Shot) -> float:
    """Sharpness with exposure divided out (it scales with brightness squared), to compare frames of a burst.

    Raw, a -1 EV frame of an exposure bracket scores 0.3x the +1 EV one and would look blurry.
    """
    return shot.analysis.sharpness / max(shot.analysis.mean, 0.05) ** 2


def _blurry(shot: Shot, best_detail: float, set_sharpness: float) -> bool:
    """Absolutely (in bursts too: a burst that is all shake is flagged all through), beside the burst's
    best, or beside the set: a score under SOFT_BELOW, where no sharp corpus photo falls, and under
    half the set's median, so the set shows that its cameras and light give detail. A 4-px blur at
    2048 px leaves 100-150 on many photos, beyond the absolute threshold's reach.

    A dark frame is judged as if exposed normally (brightest 2 % at 0.9, up to 2 EV): its edges are
    there, only dim, and it is flagged "dark" already.
    """
    p98 = shot.analysis.p98
    gain = min(4.0, (0.9 / max(p98, 0.01)) ** 2) if p98 < DARK_P98 else 1.0
    score = shot.analysis.sharpness * gain
    beside_set = score < SOFT_BELOW and score < SOFTER_THAN * set_sharpness
    return score < BLURRY_BELOW or beside_set or _detail(shot) < SOFTER_THAN * best_detail


def flags(shot: Shot, group: Group) -> list[str]:
    """Hints for one photo of its group: "blurry" (absolutely, beside its burst's sharpest, or beside the
    set), "dark", "bright"."""
    best = max(_detail(member) for member in group.shots)
    hints = ["blurry"] if _blurry(shot, best, group.set_sharpness) else []
    return hints + ([shot.analysis.exposure] if shot.analysis.exposure else [])
