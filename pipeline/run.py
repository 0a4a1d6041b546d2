"""The one entry point: `process(source, config)`. The CLI, watch mode and site builders call it.

A run: find photos, read their headers (or reuse what the cache knows), order them by capture
time, plan every output, render what is missing in parallel, and return typed results from
which the markup is printed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from . import cache, emit, ingest, render
from .config import Config
from .ingest import Candidate, PhotoError, Problem, SourcePhoto
from .render import OutputFile, OutputSpec, RenderJob

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

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def markdown(self) -> str:
        """The post's image block: one line per photo, in capture order."""
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
    **overrides: Any,
) -> RunResult:
    """Process every photo in `source` into `config.output.dir`; return per-photo results.

    `overrides` use `section__key` names (`output__dir="site/img"`); `prune` removes outputs that
    no current photo needs; `progress` shows a bar on stderr (default: when stderr is a terminal).
    """
    started = time.perf_counter()
    config = (config or Config()).with_overrides(**overrides)
    source = Path(source)
    out_dir = Path(config.output.dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with cache.output_lock(out_dir):
        return _run(source, out_dir, config, prune, _show_progress(config, progress), started)


def _show_progress(config: Config, progress: bool | None) -> bool:
    if config.run.quiet:
        return False
    return sys.stderr.isatty() if progress is None else progress


def _run(source: Path, out_dir: Path, config: Config, prune: bool, progress: bool, started: float) -> RunResult:
    cache.remove_stale_temp_files(out_dir)
    state = cache.State() if config.run.force else cache.load_state(out_dir)
    candidates, failures, warnings = ingest.find_candidates(source, config)
    photos = _without_duplicates(_inspect_all(candidates, state, config, failures), warnings)
    photos = ingest.capture_order(photos)

    folder = source.resolve().name
    name = emit.slugify(config.output.name or folder)  # a name reaches paths and URLs: never raw
    title = config.text.title or emit.default_title(folder)
    finished: list[tuple[SourcePhoto, PhotoResult]] = []
    rendered_here: set[str] = set()  # across passes: a second pass reuses what the first one rendered
    while photos:
        # Numbers are given before rendering; if a photo then fails to decode, the others are
        # renumbered on a second pass so the post has no gaps (that pass only renames files).
        plans = [
            (photo, render.plan_outputs(photo, render.output_stem(name, number, len(photos)), config))
            for number, photo in enumerate(photos, start=1)
        ]
        done, jobs = _reuse_cached(plans, state, out_dir, config)
        jobs.sort(key=lambda job: -job.photo.width * job.photo.height)  # largest first: no long tail at the end
        rendered = _map(render.render, jobs, config, progress, "rendering")
        results = {job.photo.content_hash: result for job, result in zip(jobs, rendered, strict=True)}
        broken = {h for h, result in results.items() if result.error}
        for content_hash in broken:
            result = results[content_hash]
            failures.append(Problem(result.photo.path, result.error or ""))
        for result in results.values():
            warnings.extend(Problem(result.photo.path, text) for text in result.warnings)
            _record_outputs(state, result.photo.content_hash, result.outputs)
            if result.outputs:
                rendered_here.add(result.photo.content_hash)
        if broken:
            photos = [photo for photo in photos if photo.content_hash not in broken]
            continue
        for number, (photo, specs) in enumerate(plans, start=1):
            fresh = results[photo.content_hash].outputs if photo.content_hash in results else ()
            outputs = _in_plan_order(specs, done[photo.content_hash], fresh)
            rendered_now = photo.content_hash in rendered_here
            finished.append((photo, _photo_result(photo, number, len(plans), outputs, title, config, rendered_now)))
        break
    photo_results = [result for _, result in finished]
    _forget_replaced_outputs(state, photos, finished, out_dir, prune)
    _publish(photo_results, config, out_dir, name, title)
    cache.save_state(out_dir, state)
    failures.sort(key=lambda problem: problem.path.name)
    return RunResult(
        photos=tuple(photo_results),
        failures=tuple(failures),
        warnings=tuple(warnings),
        bytes_in=sum(photo.source.stat().st_size for photo in photo_results if photo.rendered),
        bytes_out=sum(o.bytes for photo in photo_results for o in photo.outputs),
        seconds=time.perf_counter() - started,
    )


def _inspect_all(
    candidates: list[Candidate], state: cache.State, config: Config, failures: list[Problem]
) -> list[SourcePhoto]:
    """Read headers of new or changed files; reuse cached facts for files whose size and mtime match."""
    photos: list[SourcePhoto] = []
    fresh: list[Candidate] = []
    for candidate in candidates:
        known = state.sources.get(str(candidate.path.resolve()))
        if known and known["size"] == candidate.size and known["mtime_ns"] == candidate.mtime_ns:
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
        if missing:
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
    config: Config,
    rendered: bool,
) -> PhotoResult:
    date = photo.captured.date().isoformat() if photo.captured else ""
    alt, title_text = emit.photo_texts(config, title, number, count, photo.path.name, date)
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
        caption="",
        markdown=emit.markdown_line(alt, url, title_text),
        rendered=rendered,
    )


def _publish(photos: list[PhotoResult], config: Config, out_dir: Path, name: str, title: str) -> None:
    """Write the manifest and the post's block, each atomically, once per run."""
    if config.output.manifest:
        path = Path(config.output.manifest.format(dir=out_dir, name=name))
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = [_manifest_entry(photo, config) for photo in photos]
        cache.write_text_atomically(path, emit.manifest(entries, title, name))
    if config.output.post_file:
        post = Path(config.output.post_file)
        existing = post.read_text(encoding="utf-8") if post.exists() else None
        post.parent.mkdir(parents=True, exist_ok=True)
        block = emit.markdown_block([photo.markdown for photo in photos])
        cache.write_text_atomically(post, emit.update_post(existing, block, title, _post_date(name, photos)))


def _post_date(name: str, photos: list[PhotoResult]) -> str:
    """Jekyll's post date: from a `YYYY-MM-DD-` name, else the first capture date, else today."""
    try:
        return date.fromisoformat(name[:10]).isoformat()
    except ValueError:
        pass
    captured = next((photo.captured for photo in photos if photo.captured), None)
    return (captured.date() if captured else date.today()).isoformat()


def _manifest_entry(photo: PhotoResult, config: Config) -> dict[str, Any]:
    return {
        "number": photo.number,
        "source": photo.source.name,
        "captured": photo.captured.isoformat() if photo.captured else None,
        "width": photo.width,
        "height": photo.height,
        "alt": photo.alt,
        "title": photo.title,
        "caption": photo.caption,
        "markdown": photo.markdown,
        "outputs": [
            {
                "role": output.role,
                "format": output.format,
                "width": output.width,
                "height": output.height,
                "bytes": output.bytes,
                "file": output.path.name,
                "url": emit.output_url(config.output.url_prefix, output.path.name),
            }
            for output in photo.outputs
        ],
    }


def _record_outputs(state: cache.State, content_hash: str, outputs: Iterable[OutputFile]) -> None:
    entry = state.outputs.setdefault(content_hash, {})
    for output in outputs:
        entry[output.key] = {
            "file": output.path.name,
            "role": output.role,
            "format": output.format,
            "width": output.width,
            "height": output.height,
            "bytes": output.bytes,
        }


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


def _map(
    function: Callable[[T], R],
    items: list[T],
    config: Config,
    progress: bool,
    label: str,
    threads: bool = False,
) -> list[R]:
    """Run `function` over `items` on the configured number of workers; results in item order.

    Rendering uses processes. Pillow releases the GIL in decode, resize and encode, and
    `benchmarks/bench.py --levers` measured threads level with processes on two cores (wall and CPU
    within noise); processes keep each worker's peak memory its own, which is what the README bounds.
    """
    if not items:
        return []
    workers = min(config.jobs, len(items))
    bar = tqdm(total=len(items), desc=label, unit="photo", disable=not progress, file=sys.stderr, leave=False)
    results: list[R] = []
    with bar:
        if workers == 1:
            for item in items:
                results.append(function(item))
                bar.update()
            return results
        pool: Executor = ThreadPoolExecutor(workers) if threads else ProcessPoolExecutor(workers)
        with pool:
            for result in pool.map(function, items):
                results.append(result)
                bar.update()
    return results
