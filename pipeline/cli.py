"""`gallery` on the command line: a thin shell over `pipeline.process`.

stdout carries only the post's image block, so `gallery process photos > block.md` works;
progress, warnings and the summary go to stderr. Exit codes: 0 all good, 1 some photo failed,
2 bad usage or configuration.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from .cache import LockedError
from .config import Config, ConfigError, load_config
from .ingest import PhotoError
from .run import RunResult, process
from .watch import stop_on_signals, watch

app = typer.Typer(
    help="Turn a folder of event photos into a web-ready image set and the Markdown for your post.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

DEFAULT_CONFIG = Path("config.toml")


@app.callback()
def gallery() -> None:
    """Turn a folder of event photos into a web-ready image set and the Markdown for your post."""


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Settings file. Default: ./config.toml when it exists, else built-in defaults "
        "(the same values the repository's config.toml documents).",
        dir_okay=False,
    ),
]


def build_config(config_file: Path | None, **overrides: Any) -> Config:
    """Defaults, then the settings file, then flags: the one config object of the run."""
    path = config_file if config_file is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    try:
        return load_config(path, **overrides)
    except ConfigError as error:
        typer.echo(f"gallery: {error}", err=True)
        raise typer.Exit(2) from None


def report(result: RunResult) -> int:
    """Print the block on stdout and problems plus the summary on stderr; return the exit code."""
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for failure in result.failures:
        typer.echo(f"error: {failure}", err=True)
    typer.echo(result.markdown, nl=False)
    typer.echo(result.summary(), err=True)
    return 0 if result.ok else 1


@dataclass(frozen=True)
class Invocation:
    """What the options shared by `process` and `watch` amount to: a folder and the run's config."""

    source: Path
    config: Config
    prune: bool


def process_options(
    source: Annotated[Path, typer.Argument(help="Folder of photos (JPEG, HEIC/HEIF, PNG, WebP, AVIF, TIFF, GIF).")],
    out: Annotated[str | None, typer.Option("--out", "-o", help="Output folder for the image set.")] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="File-name stem, e.g. 2024-06-23-trade-mission-japan -> ...-01.jpeg. Default: the folder's name."
        ),
    ] = None,
    title: Annotated[str | None, typer.Option(help="Post title, used for alt and title text by default.")] = None,
    alt: Annotated[
        str | None,
        typer.Option(help="Alt text template; placeholders {title} {number} {count} {filename} {date}."),
    ] = None,
    title_template: Annotated[str | None, typer.Option(help="Title text template; same placeholders as --alt.")] = None,
    url_prefix: Annotated[
        str | None, typer.Option(help="URL prefix in the Markdown, e.g. '{{ site.baseurl }}/assets/img'.")
    ] = None,
    width: Annotated[
        list[int] | None,
        typer.Option("--width", "-w", help="Responsive width; repeat for several (default 480 960 1600)."),
    ] = None,
    variant_format: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="Responsive variant format: webp, avif, jpeg; repeatable."),
    ] = None,
    max_edge: Annotated[
        int | None, typer.Option(help="Long-edge cap of the main image in pixels (never upscaled).")
    ] = None,
    post_file: Annotated[
        str | None,
        typer.Option(help="Also write the block into this post, between <!-- gallery:start/end --> markers."),
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Parallel workers (default: all cores).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-render everything, ignoring the cache.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete outputs that no current photo needs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    config_file: ConfigOption = None,
) -> Invocation:
    """The options of `process`, defined once: `watch` takes them too (see `with_options`)."""
    config = build_config(
        config_file,
        output__dir=out,
        output__name=name,
        output__url_prefix=url_prefix,
        output__post_file=post_file,
        text__title=title,
        text__alt=alt,
        text__title_template=title_template,
        variants__widths=tuple(width) if width else None,
        variants__formats=tuple(variant_format) if variant_format else None,
        image__max_edge=max_edge,
        run__jobs=jobs,
        run__force=force or None,
        run__quiet=quiet or None,
    )
    return Invocation(source, config, prune)


def with_options(options: Callable[..., Invocation], *, without: tuple[str, ...] = ()) -> Callable:
    """Give a command the parameters of `options` (minus `without`) before its own.

    Typer reads a command's options from its signature; the wrapper shows it the combined one,
    calls `options` with its share of the values and the command with the resulting `Invocation`
    and the rest. A flag added to `process_options` therefore reaches every command built this way.
    """

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        shared = [p for p in inspect.signature(options, eval_str=True).parameters.values() if p.name not in without]
        own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]

        @functools.wraps(command)
        def wrapper(**values: Any) -> None:
            command(options(**{p.name: values.pop(p.name) for p in shared}), **values)

        parameters = [*shared, *own]
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate


@app.command("process")
@with_options(process_options)
def process_command(invocation: Invocation) -> None:
    """Process a folder of photos and print the Markdown image block for the post.

    Example:

        gallery process ./photos --out site/assets/img --name 2024-06-23-trade-mission-japan
            --title "Luxembourg Official Trade Mission to Japan 2024" > block.md

    Photos are numbered in capture order. Each gets NAME-NN.jpeg (the main image), WebP variants
    NAME-NN-0480w.webp ... and a thumbnail NAME-NN-thumb.webp, with orientation applied, colours in
    sRGB and metadata stripped. Re-runs only redo what changed.
    """
    try:
        result = process(invocation.source, invocation.config, prune=invocation.prune)
    except (LockedError, ConfigError, PhotoError) as error:
        typer.echo(f"gallery: {error}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(report(result))


@app.command("watch")
@with_options(process_options, without=("prune",))
def watch_command(
    invocation: Invocation,
    settle: Annotated[
        float | None,
        typer.Option(help="Seconds a file must stay unchanged before it is read (default 1.5; more for slow shares)."),
    ] = None,
    poll: Annotated[
        bool, typer.Option("--poll", help="Poll instead of file-system events (network mounts are polled anyway).")
    ] = False,
    keep_deleted: Annotated[
        bool,
        typer.Option(
            "--keep-deleted",
            help="Keep photos whose source is deleted, outputs and line (phone syncs that move files).",
        ),
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="Process what is there, then exit (for cron or CI).")] = False,
) -> None:
    """Process a folder, then keep the image set, manifest and post current as photos arrive.

    Example, next to `jekyll serve`:

        gallery watch uploads --out site/assets/img --name 2024-06-23-trade-mission-japan
            --post-file site/_posts/2024-06-23-trade-mission-japan.md

    Files still being written (size or mtime changed within --settle seconds, not yet a whole image,
    or named *.part, *.crdownload, *.tmp, *~, .*) are left until they have arrived. Each batch logs
    one line on stderr; a bad file is reported once and retried when it changes. Ctrl-C or SIGTERM
    finishes the batch in hand, writes the block and exits 0; the final block is printed on stdout.
    """
    stop = threading.Event()
    try:
        config = invocation.config.with_overrides(
            watch__settle=settle, watch__poll=poll or None, watch__keep_deleted=keep_deleted or None
        )
        with stop_on_signals(stop):
            watcher = watch(invocation.source, config, once=once, stop=stop)
    except (ConfigError, PhotoError) as error:
        typer.echo(f"gallery: {error}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if watcher.result is not None:
        typer.echo(watcher.result.markdown, nl=False)
    raise typer.Exit(1 if once and watcher.failures else 0)
