"""`gallery` on the command line: a thin shell over `pipeline.process`.

stdout carries only the post's image block, so `gallery process photos > block.md` works;
progress, warnings and the summary go to stderr. Exit codes: 0 all good, 1 some photo failed,
2 bad usage or configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .cache import LockedError, OutputError
from .config import Config, ConfigError, load_config
from .ingest import PhotoError
from .run import RunResult, process

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


@app.command("process")
def process_command(
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
    wait: Annotated[
        int | None,
        typer.Option(help="Seconds to wait for another run on the same --out folder (default: refuse at once)."),
    ] = None,
    config_file: ConfigOption = None,
) -> None:
    """Process a folder of photos and print the Markdown image block for the post.

    Example:

        gallery process ./photos --out site/assets/img --name 2024-06-23-trade-mission-japan
            --title "Luxembourg Official Trade Mission to Japan 2024" > block.md

    Photos are numbered in capture order. Each gets NAME-NN.jpeg (the main image), WebP variants
    NAME-NN-0480w.webp ... and a thumbnail NAME-NN-thumb.webp, with orientation applied, colours in
    sRGB and metadata stripped. Re-runs only redo what changed.
    """
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
        run__wait=wait,
    )
    try:
        result = process(source, config, prune=prune)
    except (LockedError, OutputError, ConfigError, PhotoError) as error:
        typer.echo(f"gallery: {error}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(report(result))
