"""`--dry-run`: what a run would do, from the same plan and record a run uses, with nothing written.

The forecast lists each photo's number and file stem, which outputs would be rendered, reused or
renamed, what `--prune` would delete, and how the manifest and the post would change. Whether a
photo decodes is only known by decoding it, which a dry run does not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .cache import State, load_state
from .config import Config
from .errors import PhotoError, PostError
from .manifest import manifest_path
from .markup import markup_block
from .model import OutputFile, PhotoResult, Plan
from .plan import make_plan, photo_result
from .post import post_date, update_post


@dataclass(frozen=True)
class PhotoForecast:
    number: int
    source: Path
    stem: str
    render: tuple[str, ...]  # output files that would be rendered
    reuse: tuple[str, ...]  # output files already there, under their planned names
    renames: tuple[tuple[str, str], ...]  # (current name, planned name) of cached outputs


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
    """The plan of `process(source, config)` and what it would change in the output folder."""
    if not source.is_dir():
        raise PhotoError(f"{source} is not a folder of photos")
    out_dir = Path(config.output.dir)
    state = load_state(out_dir) if out_dir.is_dir() else State()
    if config.run.force:
        state = State(published=state.published)
    plan = make_plan(source, config, state, keep_deleted=keep_deleted)
    photos: list[PhotoForecast] = []
    results: list[PhotoResult] = []
    for photo in plan.photos:
        reuse = state.reuse(photo, out_dir)
        planned = tuple(
            OutputFile(s.role, s.format, s.width, s.height, 0, out_dir / s.filename, s.key)
            for s in photo.specs
            if s.key in reuse.missing
        )
        outputs = tuple(sorted((*reuse.outputs, *planned), key=lambda o: -o.width))
        results.append(photo_result(photo, outputs, state.placeholders.get(photo.photo.content_hash), config, True))
        photos.append(
            PhotoForecast(
                number=photo.number,
                source=photo.photo.path,
                stem=photo.stem,
                render=tuple(o.path.name for o in planned),
                reuse=tuple(o.path.name for o in reuse.outputs if all(o.path != new for _, new in reuse.renames)),
                renames=tuple((old.name, new.name) for old, new in reuse.renames),
            )
        )
    needed = {name for p in photos for name in (*p.render, *p.reuse, *(new for _, new in p.renames))}
    moved = {old for p in photos for old, _ in p.renames}
    recorded = {record.file for records in state.outputs.values() for record in records.values()}
    unneeded = tuple(sorted(recorded - needed - moved))
    markup = markup_block(results, config, plan.name)
    post = Path(config.output.post_file) if config.output.post_file else None
    manifest = manifest_path(config, out_dir, plan.name) if config.output.manifest and results else None
    change = _post_change(post, markup, plan, results, config.output.site)
    return Forecast(plan, tuple(photos), unneeded, manifest, post, change, markup)


def _post_change(post: Path | None, block: str, plan: Plan, results: list[PhotoResult], config_site: str) -> str:
    if post is None:
        return ""
    if not results:
        return "left unchanged: no photos"
    target = post.resolve()
    try:
        existing = target.read_bytes().decode("utf-8") if target.exists() else None
        text = update_post(existing, block, plan.title, post_date(post, plan.name, results), config_site)
    except (OSError, UnicodeDecodeError) as error:
        return f"left unchanged: cannot be read ({error})"
    except PostError as error:
        return f"left unchanged: {error}"
    return "create" if existing is None else ("unchanged" if text == existing else "update")
