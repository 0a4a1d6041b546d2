"""`--dry-run`: a prepared run (run.prepare), shown instead of carried out; nothing is written.

The forecast lists each photo's number and file stem, which outputs would be rendered, reused,
renamed or copied from the private folder of review and preview, what `--prune` would delete, and
how the manifest and the post would change. Whether a photo decodes is only known by decoding it,
which a dry run does not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config.sections import Config
from .errors import PostError
from .model import PhotoResult, Plan, needed
from .publish import markup
from .publish.manifest import manifest_path
from .publish.post import post_date, update_post
from .run import Run, Target, preflight, prepare


@dataclass(frozen=True)
class PhotoForecast:
    number: int
    source: Path
    stem: str
    render: tuple[str, ...]  # output files that would be rendered
    reuse: tuple[str, ...]  # output files already there, under their planned names
    renames: tuple[tuple[str, str], ...]  # (current name, planned name) of outputs already in the folder
    copies: tuple[str, ...]  # outputs taken from the private folder of review and preview


@dataclass(frozen=True)
class Forecast:
    plan: Plan
    photos: tuple[PhotoForecast, ...]
    unneeded: tuple[str, ...]  # recorded outputs no planned photo needs: deleted by --prune
    manifest: Path | None
    post: Path | None
    post_change: str  # "create", "update", "unchanged" or why it would be left alone
    markup: str


def forecast(source: Path, config: Config, *, keep_deleted: bool = False) -> Forecast:
    """What `process(source, config)` would do, from the run it would prepare: the same checks first."""
    target = Target.of(config)
    return view(prepare(source, config, target, keep_deleted=keep_deleted, checked=preflight(source, config, target)))


def view(run: Run) -> Forecast:
    """A prepared run as a forecast."""
    folder, config, plan = run.target.folder, run.config, run.plan
    photos: list[PhotoForecast] = []
    results: list[PhotoResult] = []
    for photo in plan.photos:
        located = run.located[photo.photo.content_hash].outputs
        outputs = tuple(p.spec.written_at(p.final, p.size) for p in located)
        results.append(PhotoResult.of(photo, outputs, run.state.placeholders.get(photo.photo.content_hash), True))
        moved = [(p.current, p.final) for p in located if p.moved and p.current is not None]
        photos.append(
            PhotoForecast(
                number=photo.number,
                source=photo.photo.path,
                stem=photo.stem,
                render=tuple(p.final.name for p in located if p.current is None),
                reuse=tuple(p.final.name for p in located if p.current is not None and not p.moved),
                renames=tuple((current.name, final.name) for current, final in moved if current.parent == folder),
                copies=tuple(final.name for current, final in moved if current.parent != folder),
            )
        )
    wanted, skipped = needed(plan.photos), {photo.content_hash for photo in plan.skipped}
    by_prune = set(run.state.doomed(wanted, skipped, True)) - set(run.state.doomed(wanted, skipped, False))
    unneeded = tuple(sorted(run.state.outputs[h][key].file for h, key in by_prune))
    results, block = markup.build(results, config, plan.name)
    post = Path(config.output.post_file) if config.output.post_file else None
    manifest = manifest_path(config, folder, plan.name) if results or plan.emptied else None
    change = _post_change(post, block, plan, results, config.output.site, plan.emptied)
    return Forecast(plan, tuple(photos), unneeded, manifest, post, change, block)


def _post_change(post: Path | None, block: str, plan: Plan, results: list[PhotoResult], site: str, empty: bool) -> str:
    if post is None:
        return ""
    if not results and not empty:
        return "left unchanged: no photos"
    target = post.resolve()
    try:
        existing = target.read_bytes().decode("utf-8") if target.exists() else None
        text = update_post(existing, block, plan.title, post_date(post, plan.name, results), site)
    except (OSError, UnicodeDecodeError) as error:
        return f"left unchanged: cannot be read ({error})"
    except PostError as error:
        return f"left unchanged: {error}"
    return "create" if existing is None else ("unchanged" if text == existing else "update")
