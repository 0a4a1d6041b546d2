"""The one orchestrator: every command's run is `prepare` (read only) and then `execute` (writes).

`prepare` reads the folder, the record and captions.toml and decides everything: the plan (plan.py)
and where each planned output stands. `--dry-run` shows a prepared run and stops. `execute` places
what exists, renders the rest on the worker pool, commits the set under its names (record/commit.py), then
writes the markup, the manifest and the post, and only then deletes what no output owns. `process`
is the two under the output folder's lock; the CLI, watch mode, review, preview, captions, the
editor and site builders all call it.

review, preview and captions publish nothing: their runs write into a private folder in the user's
cache (never into a folder the site publishes), and a later `process` takes their renders from
there instead of rendering again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from .config.sections import Config
from .errors import ConfigError, OutputError
from .files import make_folder, remove_stale_temp_files
from .image import pool, render
from .image.ingest import Found, find_candidates, folder_of
from .image.render import RenderJob, RenderResult
from .image.watermark import Mark
from .model import Captions, OutputFile, PhotoPlan, PhotoResult, Plan, Problem, RunResult, needed
from .names import slugify
from .plan import make_plan, number_photos
from .publish import markup
from .publish.manifest import build_manifest, manifest_path, write_manifest
from .publish.post import check_post_file, write_post
from .record.commit import commit, place, release
from .record.journal import journal_rendered
from .record.lock import output_lock
from .record.state import Located, PublishedSet, State, load_state, save_state
from .sites import presets
from .text.captions_file import load_captions
from .text.lint import alt_problems

Progress = Callable[[int, int], None]  # (photos rendered, photos to render)


@dataclass(frozen=True)
class Target:
    """Where a run writes. `folder` gets the outputs and its record; with `publish` the manifest and
    the post are written too. `other` is gallery's other folder for the same output folder (the
    private one when publishing, the published one when not): its record may already hold outputs,
    and the published one's names the set."""

    folder: Path
    publish: bool
    other: Path

    @classmethod
    def of(cls, config: Config, publish: bool = True) -> Target:
        out, private = Path(config.output.dir), private_folder(config)
        return cls(out, True, private) if publish else cls(private, False, out)


def private_folder(config: Config) -> Path:
    """The folder of review's, preview's and captions' renders and scores for one output folder: in
    the user's cache folder (XDG_CACHE_HOME on Linux), never where a site publishes."""
    out = Path(config.output.dir).resolve()
    digest = hashlib.blake2b(str(out).encode("utf-8", "surrogateescape"), digest_size=6).hexdigest()
    return Path(platformdirs.user_cache_dir("gallery")) / "sets" / f"{slugify(out.name)}-{digest}"


@dataclass
class Run:
    """A prepared run: the plan, the record of the target folder (`state`), the records of the
    folders it may take outputs from (`others`), where each photo's outputs stand, and the run's
    watermark."""

    source: Path
    config: Config
    target: Target
    state: State
    others: list[tuple[State, Path]]
    plan: Plan
    located: dict[str, Located]
    mark: Mark | None = None


def check_folders(source: Path, config: Config) -> None:
    """The photos must be a folder, the output folder must not be a file, and gallery's outputs must
    never land among the photos, where each run would take them for new ones."""
    folder_of(source)
    out = Path(config.output.dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"cannot use {out} as the output folder: it is a file, not a folder")
    if out.resolve().is_relative_to(source.resolve()):
        raise ConfigError(
            f"the output folder {out} is inside the photo folder {source}: gallery would read its own "
            "outputs as new photos; choose an --out outside it"
        )


@dataclass(frozen=True)
class Checked:
    """What the checks before a run made: the run's watermark, and captions.toml as read."""

    mark: Mark | None
    captions: Captions


def preflight(source: Path, config: Config, target: Target) -> Checked:
    """Everything that can stop a run, checked before anything is created or locked: the folders,
    what only Pillow can judge (the background colour, the watermark, made once here), a post
    linked out of the site, and captions.toml."""
    check_folders(source, config)
    mark = render.before_run(config)
    if target.publish and config.output.post_file:
        check_post_file(Path(config.output.post_file))
    return Checked(mark, load_captions(source))


def prepare(
    source: Path,
    config: Config,
    target: Target,
    *,
    exclude: Collection[str] = (),
    keep_deleted: bool = False,
    found: Found | None = None,
    checked: Checked | None = None,
) -> Run:
    """Everything a run will do, decided from the folder, the records and captions.toml; nothing is
    written. Headers, scores and outputs another gallery folder holds are taken from there (the
    outputs not with `run.force`, which keeps only what undoing a killed run needs)."""
    state = load_state(target.folder) if target.folder.is_dir() else State()
    if config.run.force:
        state = State(published=state.published, released=state.released)
    others = [(load_state(target.other), target.other)] if _readable(target.other) else []
    owner = state if target.publish else next((other for other, _ in others), State())
    state.adopt_sources(other for other, _ in others)
    plan = make_plan(
        source, config, state, published=owner.published, exclude=exclude, keep_deleted=keep_deleted, found=found,
        captions=checked.captions if checked else None,
    )  # fmt: skip
    taken = [] if config.run.force else others
    for photo in plan.photos:
        state.adopt(photo.photo.content_hash, photo.specs[-1].key, (other for other, _ in taken))
    for skipped in plan.skipped:
        state.adopt(skipped.content_hash, None, (other for other, _ in taken))
    located = {p.photo.content_hash: state.locate(p, target.folder, taken) for p in plan.photos}
    return Run(source, config, target, state, taken, plan, located, checked.mark if checked else None)


def _readable(folder: Path) -> bool:
    """A folder of gallery's that this run may take outputs from: one it cannot read is passed by."""
    try:
        return folder.is_dir() and os.access(folder, os.R_OK | os.X_OK)
    except OSError:
        return False


@contextmanager
def holding(target: Target, config: Config, lock_held: bool = False) -> Iterator[None]:
    """The target folder, created, and its run lock for the whole run (unless the caller holds it).
    The private folder is its owner's alone: its record and preview page tell which originals
    carried GPS positions or serial numbers."""
    try:
        make_folder(target.folder, private=not target.publish)
        with nullcontext() if lock_held else output_lock(target.folder, config.run.wait):
            yield
    except OSError as error:
        # The run's own files (lock, record, manifest, post) or folders failing: nothing sensible can
        # be written after that. A photo's own failure never gets here.
        raise OutputError(f"cannot use {error.filename or target.folder}: {error.strerror or error}") from None


def process(
    source: str | Path,
    config: Config | None = None,
    *,
    executor: Executor | None = None,
    prune: bool = False,
    progress: bool | None = None,
    exclude: Collection[str] = (),
    keep_deleted: bool = False,
    publish: bool = True,
    lock_held: bool = False,
    on_rendered: Progress | None = None,
    **overrides: Any,
) -> RunResult:
    """Process every photo in `source` into `config.output.dir`; return per-photo results.

    `overrides` use `section__key` names (`output__dir="site/img"`). `executor` runs the render
    stage (any concurrent.futures.Executor, e.g. a Dask cluster's; default: local processes).
    `prune` removes outputs that no current photo needs; `progress` shows a bar on stderr (default:
    when stderr is a terminal); `exclude` names files of `source` to leave out as if absent (watch
    mode's files still being written); `keep_deleted` keeps photos of the last run whose source is
    gone, with their outputs, while those are still there. With `publish=False` (review, preview)
    the run writes into its private folder (`private_folder`) and no manifest or post.
    `on_rendered(done, total)` hears of each photo rendered (the editor's progress bar).
    `lock_held` says the caller already holds the target folder's lock (`gallery edit` keeps the
    output folder's for its lifetime): a second flock of the same file from this process would
    refuse the run.
    Raises GalleryError subclasses for what stops the whole run; a photo's failure is in the result.
    """
    started = time.perf_counter()
    config = (config or Config()).with_overrides(**overrides)
    source, target = Path(source), Target.of(config, publish)
    checked = preflight(source, config, target)
    found = find_candidates(source, config, exclude)
    if not keep_deleted and not (found.candidates or found.failures or found.skipped):
        # Nothing to publish: no folder, lock or empty manifest is left behind for it.
        return RunResult((), (), (), 0, 0, time.perf_counter() - started, "", set_aside=found.set_aside)
    show = not config.run.quiet and (sys.stderr.isatty() if progress is None else progress)
    with holding(target, config, lock_held):
        run = prepare(source, config, target, exclude=exclude, keep_deleted=keep_deleted, found=found, checked=checked)
        return execute(run, executor=executor, prune=prune, progress=show, started=started, on_rendered=on_rendered)


def execute(
    run: Run,
    *,
    executor: Executor | None = None,
    prune: bool = False,
    progress: bool = False,
    started: float = 0.0,
    on_rendered: Progress | None = None,
) -> RunResult:
    """Carry out a prepared run; the caller holds the target folder's lock (`holding`)."""
    started = started or time.perf_counter()
    folder, plan, state, config = run.target.folder, run.plan, run.state, run.config
    remove_stale_temp_files(folder)
    failures, warnings = list(plan.failures), list(plan.warnings)
    photos, produced, rendered = _produce(run, failures, warnings, executor, progress, on_rendered)
    finals = [(p, outputs, _at_final(p, outputs, folder)) for p, outputs in produced]
    commit(folder, [(p.photo.content_hash, outputs, final) for p, outputs, final in finals])
    state.claim((p.photo.content_hash, final) for p, _, final in finals)
    results, block = markup.build(
        [
            PhotoResult.of(p, final, state.placeholders.get(h), h in rendered)
            for p, _, final in finals
            for h in (p.photo.content_hash,)
        ],
        config,
        plan.name,
    )
    # The private folder keeps only what the set needs now: it is review's and preview's cache, and
    # a preview page there shows the set as it was when the page was made.
    state.forget(needed(photos), [p.photo for p in photos], plan.skipped, prune or not run.target.publish)
    post_change, unwritten = "", list[Problem]()
    if run.target.publish and (results or plan.emptied):
        post_change, unwritten = _write_texts(run, results, block)
        if results:
            warnings += _install_templates(config)
            state.published = PublishedSet(str(run.source.resolve()), plan.name, plan.title)
        else:
            warnings.append(
                Problem(run.source, "every photo is marked skip = true in captions.toml: the block is empty")
            )
        if not unwritten:  # else the post or manifest may still name what is released: a later run deletes it
            release(folder, state)
    elif not run.target.publish:
        release(folder, state)
    elif config.output.post_file:
        warnings.append(Problem(Path(config.output.post_file), "no photos came out; the post was left unchanged"))
    save_state(folder, state)
    failures.sort(key=lambda problem: problem.path.name)
    return RunResult(
        photos=tuple(results),
        failures=tuple(failures),
        warnings=tuple(warnings),
        bytes_in=sum(p.photo.size for p in photos if p.photo.content_hash in rendered),
        bytes_out=sum(o.bytes for photo in results for o in photo.outputs),
        seconds=time.perf_counter() - started,
        markup=block,
        alt_warnings=tuple(alt_problems(results, run.source, plan.captions)),
        name=plan.name,
        title=plan.title,
        post_change=post_change,
        set_aside=plan.set_aside,
        plan=plan,
        analyses=dict(state.analyses),
        unwritten=tuple(unwritten),
    )


def _produce(
    run: Run,
    failures: list[Problem],
    warnings: list[Problem],
    executor: Executor | None,
    progress: bool,
    on_rendered: Progress | None,
) -> tuple[tuple[PhotoPlan, ...], list[tuple[PhotoPlan, tuple[OutputFile, ...]]], set[str]]:
    """Every planned photo's outputs where the commit expects them: placed, or rendered now.

    Numbers are given before rendering; if a photo then fails to decode, the others are numbered
    again so the post has no gaps, and their outputs placed under the new names (no pixel is
    rendered twice). Returns the photos, their outputs in plan order, and the photos rendered now.
    """
    folder, state, config = run.target.folder, run.state, run.config
    photos, located = run.plan.photos, run.located
    rendered_now: set[str] = set()
    first = True  # a later pass (after a decode failure) only renames: the progress it would report is none
    while True:
        ready: dict[str, dict[str, OutputFile]] = {}
        jobs = []
        for photo in photos:
            content_hash = photo.photo.content_hash
            where = located[content_hash]
            to_render = dict(where.to_render)
            ready[content_hash] = {}
            for p in (p for p in where.outputs if p.current is not None):
                output = place(folder, state, content_hash, p) if p.moved else p.spec.written_at(p.target, p.size)
                if output is None:  # gone from the other folder meanwhile: rendered instead
                    to_render[p.spec.key] = p.target
                else:
                    ready[content_hash][p.spec.key] = output
            if where.needs_decode or to_render:
                jobs.append(RenderJob(photo.photo, photo.specs, to_render, config, run.mark))
        jobs.sort(key=lambda job: -job.photo.width * job.photo.height)  # largest first: no long tail
        results = pool.run_all(
            render.render, jobs, workers=config.jobs, executor=executor, progress=progress, label="rendering",
            on_result=_noting(folder, len(jobs), on_rendered if jobs or first else None),
        )  # fmt: skip
        first = False
        broken = set()
        for result in results:
            content_hash = result.photo.content_hash
            warnings.extend(Problem(result.photo.path, text) for text in result.warnings)
            if result.error:
                broken.add(content_hash)
                failures.append(Problem(result.photo.path, result.error))
                continue
            state.record_outputs(content_hash, result.outputs)
            ready[content_hash].update({o.key: o for o in result.outputs})
            rendered_now |= {content_hash} if result.outputs else set()
            if result.placeholder is not None:
                state.placeholders[content_hash] = result.placeholder
            if result.analysis is not None:
                state.analyses[content_hash] = result.analysis
        if not broken:
            produced = [(p, tuple(ready[p.photo.content_hash][s.key] for s in p.specs)) for p in photos]
            return photos, produced, rendered_now
        kept = [p.photo for p in photos if p.photo.content_hash not in broken]
        plan = run.plan
        photos = number_photos(kept, plan.name, plan.title, plan.captions, config)
        located = {p.photo.content_hash: state.locate(p, folder, run.others) for p in photos}


def _noting(folder: Path, total: int, on_rendered: Progress | None) -> Callable[[RenderResult], None]:
    """What hears of each photo rendered: the journal notes its outputs the moment they exist (a
    killed run loses no finished work), and `on_rendered` counts it."""
    done = 0
    if on_rendered is not None:
        on_rendered(done, total)

    def note(result: RenderResult) -> None:
        nonlocal done
        if result.outputs and result.placeholder is not None:
            journal_rendered(folder, result.photo.content_hash, result.outputs, result.placeholder, result.analysis)
        done += 1
        if on_rendered is not None:
            on_rendered(done, total)

    return note


def _at_final(photo: PhotoPlan, outputs: tuple[OutputFile, ...], folder: Path) -> tuple[OutputFile, ...]:
    """The outputs under their published names, as the commit leaves them."""
    return tuple(
        dataclasses.replace(o, path=folder / spec.filename) for o, spec in zip(outputs, photo.specs, strict=True)
    )


def _write_texts(run: Run, results: list[PhotoResult], block: str) -> tuple[str, list[Problem]]:
    """Write the manifest and the post's block, each atomically, once per run; say what became of
    the post and what failed."""
    config, plan = run.config, run.plan
    problems: list[Problem] = []
    post_change = ""
    if (path := manifest_path(config, run.target.folder, plan.name)) is not None:
        try:
            write_manifest(path, build_manifest(results, config, plan.title, plan.name))
        except OSError as error:
            problems.append(Problem(path, f"manifest cannot be written: {error.strerror or error}"))
    if config.output.post_file:
        post = Path(config.output.post_file)
        post_change, failed = write_post(post, block, plan.title, plan.name, results, config.output.site)
        problems += failed
    return post_change, problems


def _install_templates(config: Config) -> list[Problem]:
    """The templates the markup needs in the site (Hugo's shortcode), written once, never over
    the site's own; said as a warning, since it changes the site."""
    site = presets.choose(config.output.site, Path(config.output.post_file or config.output.dir))
    try:
        written = presets.install_templates(site, config.markup.style)
    except OSError as error:
        return [Problem(Path(config.output.post_file or config.output.dir), f"template not written: {error}")]
    return [Problem(path, "written: gallery's Hugo shortcode, which the block calls") for path in written]
