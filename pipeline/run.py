"""The one entry point: `process(source, config)`. The CLI, watch mode, preview and site builders call it.

A run: lock the output folder, make the plan (plan.py), reuse what the record says is already
there, render the rest on the worker pool, then publish: the markup block, the manifest and the
post. Orchestration only: each step lives in the module named for it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Collection, Iterable
from concurrent.futures import Executor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from . import pool, render, sites
from .cache import PublishedSet, State, journal_outputs, load_state, save_state
from .config import Config
from .errors import OutputError, PhotoError
from .files import remove_stale_temp_files
from .ingest import Found, find_candidates
from .lock import output_lock
from .manifest import build_manifest, manifest_path, write_manifest
from .markup import markup_block
from .model import OutputFile, OutputSpec, PhotoPlan, PhotoResult, Plan, Problem, RunResult
from .plan import make_plan, number_photos, photo_result
from .post import write_post
from .render import RenderJob, RenderResult
from .texts import alt_problems

PREVIEW_FOLDER = ".gallery-preview"  # where preview renders photos whose published names are taken
STDOUT = "-"  # output.manifest = "-": the caller prints the manifest instead of a file being written


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
    **overrides: Any,
) -> RunResult:
    """Process every photo in `source` into `config.output.dir`; return per-photo results.

    `overrides` use `section__key` names (`output__dir="site/img"`). `executor` runs the render
    stage (any concurrent.futures.Executor, e.g. a Dask cluster's; default: local processes).
    `prune` removes outputs that no current photo needs; `progress` shows a bar on stderr (default:
    when stderr is a terminal); `exclude` names files of `source` to leave out as if absent (watch
    mode's files still being written); `keep_deleted` keeps photos of the last run whose source is
    gone, with their outputs, while those are still there. With `publish=False` (preview) no
    published file is renamed, rewritten or deleted, and no manifest or post is written.
    `lock_held` says the caller already holds the output folder's lock (`gallery edit` keeps it for
    its lifetime): a second flock of the same file from this process would refuse the run.
    Raises GalleryError subclasses for what stops the whole run; a photo's failure is in the result.
    """
    started = time.perf_counter()
    config = (config or Config()).with_overrides(**overrides)
    source = Path(source)
    if not source.is_dir():
        raise PhotoError(f"{source} is not a folder of photos")
    out_dir = Path(config.output.dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"cannot use {out_dir} as the output folder: it is a file, not a folder")
    found = find_candidates(source, config, exclude)
    if not keep_deleted and not (found.candidates or found.failures or found.skipped):
        # Nothing to publish: no folder, lock or empty manifest is left behind for it.
        return RunResult((), (), (), 0, 0, time.perf_counter() - started, "", set_aside=found.set_aside)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with nullcontext() if lock_held else output_lock(out_dir, config.run.wait):
            show = not config.run.quiet and (sys.stderr.isatty() if progress is None else progress)
            run = _Run(source, out_dir, config, executor, show, publish)
            return run.go(prune, exclude, keep_deleted, found, started)
    except OSError as error:
        # Per-photo failures are reported per photo; this is the run's own files (lock, record,
        # manifest, post) or folders failing, after which nothing sensible can be written.
        raise OutputError(f"cannot use {error.filename or out_dir}: {error.strerror or error}") from None


class _Run:
    """One run's fixed surroundings, so each step below takes only what it works on."""

    def __init__(
        self, source: Path, out_dir: Path, config: Config, executor: Executor | None, progress: bool, publish: bool
    ) -> None:
        self.source, self.out_dir, self.config = source, out_dir, config
        self.executor, self.progress, self.publish = executor, progress, publish

    def go(self, prune: bool, exclude: Collection[str], keep_deleted: bool, found: Found, started: float) -> RunResult:
        remove_stale_temp_files(self.out_dir)
        state = load_state(self.out_dir)
        if self.config.run.force:
            state = State(published=state.published)
        plan = make_plan(self.source, self.config, state, exclude=exclude, keep_deleted=keep_deleted, found=found)
        failures, warnings = list(plan.failures), list(plan.warnings)
        post_change = ""
        photos, results = self._render(plan, state, failures, warnings)
        markup = markup_block(results, self.config, plan.name)
        if self.publish:
            published = [(photo.photo, result.outputs) for photo, result in zip(photos, results, strict=True)]
            state.settle(published, self.out_dir, prune, left_out=plan.skipped)
            post_change, problems = self._write_texts(plan, results, markup)
            failures += problems
            if results:
                warnings += self._install_templates()
                state.published = PublishedSet(str(self.source.resolve()), plan.name, plan.title)
        if self.config.output.post_file and not results and self.publish:
            warnings.append(
                Problem(Path(self.config.output.post_file), "no photos came out; the post was left unchanged")
            )
        save_state(self.out_dir, state)
        failures.sort(key=lambda problem: problem.path.name)
        return RunResult(
            photos=tuple(results),
            failures=tuple(failures),
            warnings=tuple(warnings),
            bytes_in=sum(plan.photo.size for plan, result in zip(photos, results, strict=True) if result.rendered),
            bytes_out=sum(o.bytes for photo in results for o in photo.outputs),
            seconds=time.perf_counter() - started,
            markup=markup,
            alt_warnings=tuple(alt_problems(results, self.source, plan.captions)),
            name=plan.name,
            title=plan.title,
            post_change=post_change,
            set_aside=plan.set_aside,
        )

    def _render(
        self, plan: Plan, state: State, failures: list[Problem], warnings: list[Problem]
    ) -> tuple[tuple[PhotoPlan, ...], list[PhotoResult]]:
        """Render what is missing. Numbers are given before rendering; if a photo then fails to decode,
        the others are numbered again so the post has no gaps (that pass only renames files)."""
        photos = plan.photos
        rendered_now: set[str] = set()  # photos rendered by this run, in any pass
        while photos:
            done, jobs = self._reuse_cached(photos, state)
            jobs.sort(key=lambda job: -job.photo.width * job.photo.height)  # largest first: no long tail
            rendered = pool.run_all(
                render.render,
                jobs,
                workers=self.config.jobs,
                executor=self.executor,
                progress=self.progress,
                label="rendering",
                on_result=self._journal,
            )
            by_hash = {result.photo.content_hash: result for result in rendered}
            broken = {h for h, result in by_hash.items() if result.error}
            rendered_now |= {h for h, result in by_hash.items() if result.outputs}
            failures += [Problem(by_hash[h].photo.path, by_hash[h].error or "") for h in broken]
            for result in rendered:
                warnings.extend(Problem(result.photo.path, text) for text in result.warnings)
                if self._published_here(result.outputs):
                    state.record_outputs(result.photo.content_hash, result.outputs)
                if result.placeholder is not None:
                    state.placeholders[result.photo.content_hash] = result.placeholder
                if result.analysis is not None:
                    state.analyses[result.photo.content_hash] = result.analysis
            if broken:
                kept = [p.photo for p in photos if p.photo.content_hash not in broken]
                photos = number_photos(kept, plan.name, plan.title, plan.captions, self.config)
                continue
            results = []
            for photo in photos:
                fresh = by_hash[photo.photo.content_hash].outputs if photo.photo.content_hash in by_hash else ()
                outputs = _in_plan_order(photo.specs, done[photo.photo.content_hash], fresh)
                placeholder = state.placeholders.get(photo.photo.content_hash)
                rendered = photo.photo.content_hash in rendered_now
                results.append(photo_result(photo, outputs, placeholder, self.config, rendered))
            return photos, results
        return (), []

    def _reuse_cached(
        self, photos: Iterable[PhotoPlan], state: State
    ) -> tuple[dict[str, tuple[OutputFile, ...]], list[RenderJob]]:
        """Split planned outputs into files that already exist with the right bytes and work to do.

        Cached outputs under old names (the set was renumbered) are renamed, not re-rendered, and
        only when publishing: preview shows them where they are. Renames go through temporary names
        first so that a shift (02 -> 03, 03 -> 04) never overwrites a file that is still to be moved.
        """
        done: dict[str, tuple[OutputFile, ...]] = {}
        jobs: list[RenderJob] = []
        moves: list[tuple[Path, Path]] = []
        for plan in photos:
            reuse = state.reuse(plan, self.out_dir, rename=self.publish)
            done[plan.photo.content_hash] = reuse.outputs
            moves += reuse.renames
            if reuse.needs_decode:
                folder = self._folder_for(plan, reuse.missing)
                jobs.append(RenderJob(plan.photo, plan.specs, reuse.missing, folder, self.config))
        staged = []
        for index, (existing, target) in enumerate(moves):
            temp = self.out_dir / f".rename-{index}.{os.getpid()}.tmp"
            os.replace(existing, temp)
            staged.append((temp, target))
        for temp, target in staged:
            os.replace(temp, target)
        return done, jobs

    def _folder_for(self, plan: PhotoPlan, missing: frozenset[str]) -> Path:
        """Where a photo's missing outputs go: the output folder, unless a preview would overwrite
        another photo's published file there (the set was renumbered since), then a hidden folder."""
        if self.publish or not any((self.out_dir / s.filename).exists() for s in plan.specs if s.key in missing):
            return self.out_dir
        folder = self.out_dir / PREVIEW_FOLDER
        folder.mkdir(exist_ok=True)
        return folder

    def _published_here(self, outputs: Iterable[OutputFile]) -> bool:
        return all(output.path.parent == self.out_dir for output in outputs)

    def _journal(self, result: RenderResult) -> None:
        """Record each photo's outputs as soon as it is rendered, so a killed run loses no finished work."""
        if result.outputs and result.placeholder is not None and self._published_here(result.outputs):
            journal_outputs(
                self.out_dir, result.photo.content_hash, result.outputs, result.placeholder, result.analysis
            )

    def _write_texts(self, plan: Plan, results: list[PhotoResult], markup: str) -> tuple[str, list[Problem]]:
        """Write the manifest and the post's block, each atomically, once per run; say what became
        of the post and what failed."""
        problems, post_change = [], ""
        if self.config.output.manifest not in ("", STDOUT) and results:
            path = manifest_path(self.config, self.out_dir, plan.name)
            try:
                write_manifest(path, build_manifest(results, self.config, plan.title, plan.name))
            except OSError as error:
                problems.append(Problem(path, f"manifest cannot be written: {error.strerror or error}"))
        if self.config.output.post_file:
            post = Path(self.config.output.post_file)
            post_change, failed = write_post(post, markup, plan.title, plan.name, results, self.config.output.site)
            problems += failed
        return post_change, problems

    def _install_templates(self) -> list[Problem]:
        """The templates the markup needs in the site (Hugo's shortcode), written once, never over
        the site's own; said as a warning, since it changes the site."""
        site = sites.choose(self.config.output.site, Path(self.config.output.post_file or self.out_dir))
        try:
            written = sites.install_templates(site, self.config.markup.style)
        except OSError as error:
            return [Problem(Path(self.config.output.post_file or self.out_dir), f"template not written: {error}")]
        return [Problem(path, "written: gallery's Hugo shortcode, which the block calls") for path in written]


def _in_plan_order(
    specs: tuple[OutputSpec, ...], reused: Iterable[OutputFile], fresh: Iterable[OutputFile]
) -> tuple[OutputFile, ...]:
    by_key = {o.key: o for o in (*reused, *fresh)}
    return tuple(by_key[spec.key] for spec in specs if spec.key in by_key)
