"""The alt-text lint: missing, file-name-like, too long, or the same on most photos of a set."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ..model import Captions, PhotoResult, Problem
from ..names import display_name
from .clean import looks_like_file_name

ALT_LIMIT = 150  # screen readers read alt text in one go; longer belongs in the caption
CREATE = "(`gallery captions SOURCE` creates it)"
HINT = f"write one in captions.toml {CREATE}"


def lint_alt(photos: list[tuple[str, str]]) -> list[tuple[str | None, str]]:
    """Problems with alt text as (file name or None for the whole set, one-line message with a hint).

    Checks: missing alt, alt that is a file name, alt over ALT_LIMIT characters, and the same alt
    on most photos of the set (the default, the post title on every photo, describes none of them).
    """
    problems: list[tuple[str | None, str]] = []
    for filename, alt in photos:
        if not alt.strip():
            problems.append((filename, f"no alt text; {HINT}"))
        elif looks_like_file_name(alt, filename):
            problems.append((filename, f"alt text {alt!r} is a file name, not a description; {HINT}"))
        elif len(alt) > ALT_LIMIT:
            problems.append(
                (
                    filename,
                    f"alt text is {len(alt)} characters (over {ALT_LIMIT}); shorten it and move the rest "
                    "to `caption` in captions.toml",
                )
            )
    counts = Counter(alt for _, alt in photos if alt.strip())
    if counts and len(photos) >= 2:
        alt, shared = counts.most_common(1)[0]
        if shared * 2 > len(photos) and shared >= 2:
            scope = "every photo" if shared == len(photos) else f"{shared} of {len(photos)} photos"
            problems.append(
                (
                    None,
                    f"the same alt text {alt!r} on {scope}; describe each photo in captions.toml {CREATE}",
                )
            )
    return problems


def alt_problems(photos: Sequence[PhotoResult], source: Path, captions: Captions) -> list[Problem]:
    """The alt-text lint as problems for stderr, then what matching captions.toml's entries to the
    photos found (entries that match no photo, or needed a guess: see `match_captions`)."""
    problems = [
        Problem(source / filename if filename else source, message)
        for filename, message in lint_alt([(display_name(photo.source), photo.alt) for photo in photos])
    ]
    return problems + list(captions.notes)
