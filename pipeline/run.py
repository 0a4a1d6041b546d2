"""The one entry point: `process(source, config)`. The CLI, watch mode and site builders call it.

A run: find photos, read their headers (or reuse what the cache knows), order them by capture
time, plan every output, render what is missing in parallel, and return typed results from
which the markup is printed.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from . import cache, emit, ingest, publish, render, texts
from .config import Config
from .ingest import Candidate, PhotoError, Problem, SourcePhoto
from .render import OutputFile, OutputSpec, RenderJob
from .texts import PhotoText

PR_SET_PDEATHSIG = 1  # prctl option from <linux/prctl.h>
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class PhotoResult:
    """One photo of the set, in capture order, with everything markup needs."""

    source: Path
    number: int
    captured: datetime | None
    width: int
    height: int
    outputs: tuple[OutputFile, ...]
    alt: str
    title: str
    caption: str
    markdown: str
    rendered: bool
    color: str = ""  # dominant colour, "#rrggbb": a background while the photo loads
    placeholder: str = ""  # data: URI of a tiny WebP to blur up while the photo loads

    @property
    def main(self) -> OutputFile:
        """The file the Markdown line links to: the main image, else the largest output."""
        return next((o for o in self.outputs if o.role == "main"), self.outputs[0])


@dataclass(frozen=True)
class RunResult:
    photos: tuple[PhotoResult, ...]
    failures: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    bytes_in: int
    bytes_out: int
    seconds: float
    markup: str  # the post's image block in the configured [markup] style: what is printed and posted
    alt_warnings: tuple[Problem, ...] = ()  # alt-text lint: missing, file names, too long, all alike

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def markdown(self) -> str:
        """The plain Markdown block: one line per photo, in capture order, whatever the markup style."""
        return emit.markdown_block([photo.markdown for photo in self.photos])

    @property
    def processed(self) -> int:
        return sum(photo.rendered for photo in self.photos)

    @property
    def unchanged(self) -> int:
        return len(self.photos) - self.processed

    def summary(self) -> str:
        return (
            f"{len(self.photos) + len(self.failures)} photos: {self.processed} processed, "
            f"{self.unchanged} unchanged, {len(self.failures)} failed; "
            f"{_megabytes(self.bytes_in)} in, {_megabytes(self.bytes_out)} out; {self.seconds:.1f} s"
        )


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def process(
    source: str | Path,
    config: Config | None = None,
    *,
    prune: bool = False,
    progress: bool | None = None,
    exclude: Collection[str] = (),
    keep_deleted: bool = False,
    **overrides: Any,
) -> RunResult:
    """Process every photo in `source` into `config.output.dir`; return per-photo results.

    `overrides` use `section__key` names (`output__dir="site/img"`); `prune` removes outputs that
    no current photo needs; `progress` shows a bar on stderr (default: when stderr is a terminal);
    `exclude` names files of `source` to leave out of this run as if absent (watch mode passes the
    files still being written); `keep_deleted` keeps photos of the last run whose source file is
    gone, with their outputs, as long as those outputs are still there.
    """
    started = time.perf_counter()
    config = (config or Config()).with_overrides(**overrides)
    source = Path(source)
    out_dir = Path(config.output.dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with cache.output_lock(out_dir, config.run.wait):
            options = _RunOptions(prune, _show_progress(config, progress), exclude, keep_deleted)
            return _run(source, out_dir, config, options, started)
    except OSError as error:
        # Per-photo failures are reported per photo; this is the run's own files (lock, record,
        # manifest, post) or folders failing, after which nothing sensible can be written.
        raise cache.OutputError(f"cannot use {error.filename or out_dir}: {error.strerror or error}") from None


def _show_progress(config: Config, progress: bool | None) -> bool:
    if config.run.quiet:
        return False
    return sys.stderr.isatty() if progress is None else progress


@dataclass(frozen=True)
class _RunOptions:
    prune: bool
    progress: bool
    exclude: Collection[str]
    keep_deleted: bool


def _run(source: Path, out_dir: Path, config: Config, options: _RunOptions, started: float) -> RunResult:
    prune, progress = options.prune, options.progress
    cache.remove_stale_temp_files(out_dir)
    state = cache.State() if config.run.force else cache.load_state(out_dir)
    candidates, failures, warnings = ingest.find_candidates(source, config, options.exclude)
    photos = _without_duplicates(_inspect_all(candidates, state, config, failures), warnings)
    if options.keep_deleted:
        photos += _deleted_sources(source, state, photos)
    photos = ingest.capture_order(photos)

    folder = ingest.display_name(source.resolve())
    name = emit.slugify(config.output.name or folder)  # a name reaches paths and URLs: never raw
    title = config.text.title or emit.default_title(folder)
    written = texts.load_captions(source)
    finished: list[tuple[SourcePhoto, PhotoResult]] = []
    rendered_now: set[str] = set()  # photos rendered by this run, in any pass
    while photos:
        # Numbers are given before rendering; if a photo then fails to decode, the others are
        # renumbered on a second pass so the post has no gaps (that pass only renames files).
        plans = [
            (photo, render.plan_outputs(photo, render.output_stem(name, number, len(photos)), config))
            for number, photo in enumerate(photos, start=1)
        ]
        done, jobs = _reuse_cached(plans, state, out_dir, config)
        jobs.sort(key=lambda job: -job.photo.width * job.photo.height)  # largest first: no long tail at the end
        rendered = _map(render.render, jobs, config, progress, "rendering", on_result=_journal(out_dir))
        results = {job.photo.content_hash: result for job, result in zip(jobs, rendered, strict=True)}
        broken = {h for h, result in results.items() if result.error}
        rendered_now |= {h for h, result in results.items() if result.outputs}
        for content_hash in broken:
            result = results[content_hash]
            failures.append(Problem(result.photo.path, result.error or ""))
        for result in rendered:
            warnings.extend(Problem(result.photo.path, text) for text in result.warnings)
            _record_outputs(state, result.photo.content_hash, result.outputs)
            if result.placeholder is not None:
                state.placeholders[result.photo.content_hash] = asdict(result.placeholder)
        if broken:
            photos = [photo for photo in photos if photo.content_hash not in broken]
            continue
        for number, (photo, specs) in enumerate(plans, start=1):
            fresh = results[photo.content_hash].outputs if photo.content_hash in results else ()
            outputs = _in_plan_order(specs, done[photo.content_hash], fresh)
            text = written.get(photo.path.name, PhotoText())
            placeholder = state.placeholders.get(photo.content_hash, {})
            result = _photo_result(
                photo, number, len(plans), outputs, title, text, placeholder, config, photo.content_hash in rendered_now
            )
            finished.append((photo, result))
        break
    photo_results = [result for _, result in finished]
    _forget_replaced_outputs(state, photos, finished, out_dir, prune)
    markup = emit.markup_block(photo_results, config)
    failures.extend(_publish(photo_results, markup, config, out_dir, name, title))
    if config.output.post_file and not photo_results:
        warnings.append(Problem(Path(config.output.post_file), "no photos came out; the post was left unchanged"))
    cache.save_state(out_dir, state)
    failures.sort(key=lambda problem: problem.path.name)
    return RunResult(
        photos=tuple(photo_results),
        failures=tuple(failures),
        warnings=tuple(warnings),
        bytes_in=sum(photo.size for photo, result in finished if result.rendered),  # the source may be gone now
        bytes_out=sum(o.bytes for photo in photo_results for o in photo.outputs),
        seconds=time.perf_counter() - started,
        markup=markup,
        alt_warnings=tuple(publish.alt_lint(photo_results, source, written)),
    )


def _inspect_all(
    candidates: list[Candidate], state: cache.State, config: Config, failures: list[Problem]
) -> list[SourcePhoto]:
    """Read headers of new or changed files; reuse cached facts for files whose size and mtime match."""
    photos: list[SourcePhoto] = []
    fresh: list[Candidate] = []
    for candidate in candidates:
        known = state.sources.get(str(candidate.path.resolve()))
        unchanged = known and known["size"] == candidate.size and known["mtime_ns"] == candidate.mtime_ns
        if unchanged and isinstance(known.get("text"), dict):  # records without "text" predate embedded text
            photos.append(_photo_from_state(candidate, known))
        else:
            fresh.append(candidate)
    inspected = _map(lambda c: _try_inspect(c, config), fresh, config, False, "reading", threads=True)
    for candidate, outcome in zip(fresh, inspected, strict=True):
        if isinstance(outcome, SourcePhoto):
            photos.append(outcome)
            state.sources[str(candidate.path.resolve())] = _photo_to_state(outcome)
        else:
            failures.append(outcome)
    return photos


def _deleted_sources(source: Path, state: cache.State, present: list[SourcePhoto]) -> list[SourcePhoto]:
    """Photos of this folder that the record knows and that are gone, unless present under another name."""
    folder = source.resolve()
    hashes = {photo.content_hash for photo in present}
    deleted = []
    for key, known in state.sources.items():
        path = Path(key)
        kept = known["hash"] in state.outputs and known["hash"] not in hashes
        if kept and path.parent == folder and not path.exists():
            deleted.append(_photo_from_state(Candidate(path, known["format"], known["size"], known["mtime_ns"]), known))
            hashes.add(known["hash"])
    return deleted


def _without_duplicates(photos: list[SourcePhoto], warnings: list[Problem]) -> list[SourcePhoto]:
    """The same file twice in a folder would give the post the same photo twice: keep the first."""
    seen: dict[str, Path] = {}
    unique = []
    for photo in sorted(photos, key=lambda p: p.path.name):
        if photo.content_hash in seen:
            warnings.append(Problem(photo.path, f"same content as {seen[photo.content_hash].name}; skipped"))
            continue
        seen[photo.content_hash] = photo.path
        unique.append(photo)
    return unique


def _try_inspect(candidate: Candidate, config: Config) -> SourcePhoto | Problem:
    try:
        return ingest.inspect_source(candidate, config)
    except PhotoError as error:
        return Problem(candidate.path, str(error))
    except OSError as error:
        return Problem(candidate.path, f"cannot be read: {error.strerror or error}")


def _photo_to_state(photo: SourcePhoto) -> dict[str, Any]:
    return {
        "size": photo.size,
        "mtime_ns": photo.mtime_ns,
        "hash": photo.content_hash,
        "format": photo.format,
        "width": photo.width,
        "height": photo.height,
        "captured": photo.captured.isoformat() if photo.captured else None,
        "text": photo.embedded.as_dict(),
    }


def _photo_from_state(candidate: Candidate, known: dict[str, Any]) -> SourcePhoto:
    captured = known["captured"]
    return SourcePhoto(
        path=candidate.path,
        format=known["format"],
        size=candidate.size,
        mtime_ns=candidate.mtime_ns,
        content_hash=known["hash"],
        width=known["width"],
        height=known["height"],
        captured=datetime.fromisoformat(captured) if captured else None,
        embedded=PhotoText.from_dict(known["text"]),
    )


def _reuse_cached(
    plans: list[tuple[SourcePhoto, tuple[OutputSpec, ...]]],
    state: cache.State,
    out_dir: Path,
    config: Config,
) -> tuple[dict[str, tuple[OutputFile, ...]], list[RenderJob]]:
    """Split planned outputs into files that already exist with the right bytes and work to do.

    A cached output under an old name (the set was renumbered) is renamed, not re-rendered. Renames
    go through temporary names first so that a shift (02 -> 03, 03 -> 04) never overwrites a file
    that is still to be moved.
    """
    done: dict[str, tuple[OutputFile, ...]] = {}
    jobs: list[RenderJob] = []
    moves: list[tuple[Path, Path]] = []
    for photo, specs in plans:
        known = state.outputs.get(photo.content_hash, {})
        reused: list[OutputFile] = []
        for spec in specs:
            record = known.get(spec.key)
            if record is None:
                continue
            existing = out_dir / record["file"]
            try:
                if existing.stat().st_size != record["bytes"]:
                    continue
            except OSError:
                continue
            target = out_dir / spec.filename
            if existing != target:
                moves.append((existing, target))
            reused.append(
                OutputFile(spec.role, spec.format, spec.width, spec.height, record["bytes"], target, spec.key)
            )
        done[photo.content_hash] = tuple(reused)
        missing = frozenset(spec.key for spec in specs) - {o.key for o in reused}
        # A placeholder made from other pixels (or none yet) needs a decode, even with every file cached.
        stale_placeholder = state.placeholders.get(photo.content_hash, {}).get("key") != specs[-1].key
        if missing or stale_placeholder:
            jobs.append(RenderJob(photo, specs, missing, out_dir, config))
    staged = []
    for index, (existing, target) in enumerate(moves):
        temp = out_dir / f".rename-{index}.{os.getpid()}.tmp"
        os.replace(existing, temp)
        staged.append((temp, target))
    for temp, target in staged:
        os.replace(temp, target)
    return done, jobs


def _in_plan_order(
    specs: tuple[OutputSpec, ...], reused: Iterable[OutputFile], fresh: Iterable[OutputFile]
) -> tuple[OutputFile, ...]:
    by_key = {o.key: o for o in (*reused, *fresh)}
    return tuple(by_key[spec.key] for spec in specs if spec.key in by_key)


def _photo_result(
    photo: SourcePhoto,
    number: int,
    count: int,
    outputs: tuple[OutputFile, ...],
    title: str,
    written: PhotoText,
    placeholder: dict[str, str],
    config: Config,
    rendered: bool,
) -> PhotoResult:
    """Texts: what a person wrote in captions.toml, else what the photo carries, else the templates."""
    date = photo.captured.date().isoformat() if photo.captured else ""
    templated = PhotoText(*emit.photo_texts(config, title, number, count, ingest.display_name(photo.path), date))
    text = written.or_else(photo.embedded).or_else(templated)
    alt, title_text = text.alt, text.title
    main = next((o for o in outputs if o.role == "main"), outputs[0])
    url = emit.output_url(config.output.url_prefix, main.path.name)
    return PhotoResult(
        source=photo.path,
        number=number,
        captured=photo.captured,
        width=photo.width,
        height=photo.height,
        outputs=outputs,
        alt=alt,
        title=title_text,
        caption=text.caption,
        markdown=emit.markdown_line(alt, url, title_text),
        rendered=rendered,
        color=placeholder.get("color", ""),
        placeholder=placeholder.get("lqip", ""),
    )


def _publish(
    photos: list[PhotoResult], block: str, config: Config, out_dir: Path, name: str, title: str
) -> list[Problem]:
    """Write the manifest and the post's block, each atomically, once per run; return what failed."""
    problems = []
    if config.output.manifest:
        problems += publish.write_manifest(publish.manifest_path(config, out_dir, name), photos, config, title, name)
    if config.output.post_file:
        problems += publish.write_post(Path(config.output.post_file), block, title, name, photos)
    return problems


def _record_outputs(state: cache.State, content_hash: str, outputs: Iterable[OutputFile]) -> None:
    state.outputs.setdefault(content_hash, {}).update(_output_records(outputs))


def _output_records(outputs: Iterable[OutputFile]) -> dict[str, dict[str, Any]]:
    return {
        output.key: {
            "file": output.path.name,
            "role": output.role,
            "format": output.format,
            "width": output.width,
            "height": output.height,
            "bytes": output.bytes,
        }
        for output in outputs
    }


def _journal(out_dir: Path) -> Callable[[render.RenderResult], None]:
    """Record each photo's outputs as soon as it is rendered, so a killed run loses no finished work."""

    def note(result: render.RenderResult) -> None:
        if result.outputs:
            placeholder = asdict(result.placeholder) if result.placeholder is not None else None
            cache.journal_outputs(out_dir, result.photo.content_hash, _output_records(result.outputs), placeholder)

    return note


def _forget_replaced_outputs(
    state: cache.State,
    photos: list[SourcePhoto],
    finished: list[tuple[SourcePhoto, PhotoResult]],
    out_dir: Path,
    prune: bool,
) -> None:
    """Bring the record in line with this run's outputs.

    Records whose file now belongs to another output are dropped. Outputs no current photo needs
    stay on disk and in the record, unless `prune` removes them.
    """
    current = {str(photo.path.resolve()) for photo in photos}
    state.sources = {path: facts for path, facts in state.sources.items() if path in current}
    claimed: dict[str, tuple[str, str]] = {}
    for photo, result in finished:
        _record_outputs(state, photo.content_hash, result.outputs)
        claimed.update({o.path.name: (photo.content_hash, o.key) for o in result.outputs})
    for content_hash in list(state.outputs):
        entry = state.outputs[content_hash]
        for key in list(entry):
            owner = claimed.get(entry[key]["file"])
            if owner == (content_hash, key):
                continue
            if owner is not None:
                del entry[key]
            elif prune:
                (out_dir / entry[key]["file"]).unlink(missing_ok=True)
                del entry[key]
        if not entry:
            del state.outputs[content_hash]
    state.placeholders = {h: p for h, p in state.placeholders.items() if h in state.outputs}


def _start_worker(parent: int) -> None:
    """Worker start-up: end with the run, even a killed one, and leave Ctrl-C to the run.

    A worker left behind by `kill -9` would wait forever on its queue and, holding a copy of the
    run's lock, keep every later run out of the output folder. Ctrl-C reaches the whole process
    group; only the parent decides what it means, so workers finish their photo instead of dying
    with a traceback each.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the run died before the line above took effect
        os._exit(1)


def _map(
    function: Callable[[T], R],
    items: list[T],
    config: Config,
    progress: bool,
    label: str,
    threads: bool = False,
    on_result: Callable[[R], None] | None = None,
) -> list[R]:
    """Run `function` over `items` on the configured number of workers; results in item order.

    `on_result` sees each result as soon as it is ready, in whatever order they finish.
    Rendering uses processes. Pillow releases the GIL in decode, resize and encode, and
    `benchmarks/bench.py --levers` measured threads level with processes on two cores (wall and CPU
    within noise); processes keep each worker's peak memory its own, which is what the README bounds.
    """
    if not items:
        return []
    workers = min(config.jobs, len(items))
    bar = tqdm(total=len(items), desc=label, unit="photo", disable=not progress, file=sys.stderr, leave=False)
    results: dict[int, R] = {}

    def collect(index: int, result: R) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)
        bar.update()

    with bar:
        if workers == 1:
            for index, item in enumerate(items):
                collect(index, function(item))
        else:
            pool: Executor = (
                ThreadPoolExecutor(workers)
                if threads
                else ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(os.getpid(),))
            )
            futures = {pool.submit(function, item): index for index, item in enumerate(items)}
            try:
                for future in as_completed(futures):
                    collect(futures[future], future.result())
            finally:
                # On Ctrl-C, photos already in a worker's hands finish; queued ones never start.
                pool.shutdown(cancel_futures=True)
    return [results[index] for index in range(len(items))]
