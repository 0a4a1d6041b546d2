"""The command line's shared parts: the options `process` and `watch` take, defined once, and how
arguments are shown in help.

A flag added to `process_options` reaches every command built with `with_options`; `read_settings`
turns the settings file and the flags into the run's one settings object.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand

from ..config.load import load_config
from ..config.sections import Config
from ..errors import ConfigError, GalleryError
from ..run import STDOUT
from ..sites import folders, presets
from .report import NORMAL, QUIET, VERBOSE, Say, stderr_line


class Argument(TyperArgument):
    """An argument shown as `PHOTOS` in the usage line and help, like the options' metavars
    (Typer's own style is `{PHOTOS}` and `PHOTOS <path>`)."""

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def _rich_display_name(self) -> str:
        return (self.metavar or (self.name or "").upper()) + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: Any) -> str:
        return ""


class Command(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = Argument


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Settings file, always read. Default: gallery.toml here or in a folder above, up to the site's or "
        "repository's root or the home folder, else built-in defaults (the values the repository's "
        "config.toml documents).",
        dir_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout, for scripts.")]


@dataclass(frozen=True)
class Settings:
    """The run's one config, and the settings file it was read from (None: the built-in defaults)."""

    config: Config
    file: Path | None

    @property
    def json(self) -> str | None:
        """The settings file as `--json` output names it."""
        return str(self.file) if self.file else None


def read_settings(config_file: Path | None, **overrides: Any) -> Settings:
    """Defaults, the site's preset, the settings file, then flags: the one config of the run.

    The settings file is `--config FILE` (always read: it was named), else the `gallery.toml` that
    `folders.find_settings` finds; which one it is, is said first on stderr, unless quiet.
    """
    search = folders.SettingsSearch(config_file) if config_file else folders.find_settings(Path.cwd())
    try:
        config = load_config(search.file, **overrides)
    except ConfigError as error:
        stderr_line(f"gallery: {error}")
        raise typer.Exit(2) from None
    if not config.run.quiet:
        if search.refused:
            typer.echo(f"warning: {search.refused}", err=True)
        typer.echo(f"settings: {search.file or 'built-in defaults'}", err=True)
    return Settings(config, search.file)


@dataclass(frozen=True)
class Invocation:
    """What the options shared by `process` and `watch` amount to: a folder and the run's config."""

    source: Path
    config: Config
    prune: bool
    dry_run: bool
    as_json: bool
    say: Say
    settings: Settings


def process_options(
    source: Annotated[
        Path, typer.Argument(metavar="PHOTOS", help="Folder of photos (JPEG, HEIC/HEIF, PNG, WebP, AVIF, TIFF, GIF).")
    ],
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help=f"Output folder for the image set. [default: {Config().output.dir}, or output.dir in the settings]",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="File-name stem, e.g. 2024-06-23-trade-mission-japan -> ...-01.jpeg. Default: the folder's name.",
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Post title, used for alt and title text by default.")
    ] = None,
    alt: Annotated[
        str | None,
        typer.Option(
            metavar="TEMPLATE",
            help="Alt text template; placeholders {title} {number} {count} {filename} {date}, with format specs, "
            "e.g. '{title}, photo {number} of {count}' or '{title} ({date:%d %B %Y})'.",
        ),
    ] = None,
    title_template: Annotated[
        str | None,
        typer.Option(metavar="TEMPLATE", help="Title text template; same placeholders, e.g. '{title} - {number:02d}'."),
    ] = None,
    url_prefix: Annotated[
        str | None,
        typer.Option(metavar="URL", help="URL prefix in the Markdown, e.g. '{{ site.baseurl }}/assets/img'."),
    ] = None,
    width: Annotated[
        list[int] | None,
        typer.Option(
            "--width", "-w", metavar="PX", help="Responsive width; repeat for several (default 480 960 1600)."
        ),
    ] = None,
    variant_format: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            metavar="webp|avif|jpeg|jxl",
            help="Responsive variant format: webp, avif, jpeg, or jxl (JPEG XL, needs the `jxl` extra); repeatable.",
        ),
    ] = None,
    max_edge: Annotated[
        int | None, typer.Option(metavar="PX", help="Long-edge cap of the main image in pixels (never upscaled).")
    ] = None,
    post_file: Annotated[
        str | None,
        typer.Option(
            metavar="POST.md", help="Also write the block into this post, between <!-- gallery:start/end --> markers."
        ),
    ] = None,
    manifest: Annotated[
        str | None,
        typer.Option(
            metavar="PATH",
            help="JSON manifest path, e.g. '_data/{name}.json' for Jekyll; '' = none. See docs/manifest.md.",
        ),
    ] = None,
    metadata: Annotated[
        str | None,
        typer.Option(
            "--metadata",
            metavar="strip|keep|allow",
            help="What metadata outputs carry: strip (none, the default), keep (EXIF without GPS, serial "
            "numbers, maker notes or thumbnail), allow (only the --allow tags).",
        ),
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(
            "--allow",
            metavar="TAG",
            help="EXIF tag to keep, e.g. --allow Artist --allow Copyright; implies --metadata allow.",
        ),
    ] = None,
    color: Annotated[
        str | None,
        typer.Option(
            "--color",
            metavar="srgb|preserve",
            help="srgb: convert colours to sRGB (default); preserve: keep the photo's profile.",
        ),
    ] = None,
    markup: Annotated[
        str | None,
        typer.Option(
            metavar="markdown|kramdown|html|grid|hugo",
            help="Markup style of the block: markdown (one-liners), kramdown (responsive <img> for Jekyll), "
            "html (<picture> in <figure>), grid (thumbnails linking to full size), hugo (gallery's shortcode).",
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            metavar="jekyll|hugo|eleventy",
            help="Prepare for this site builder: where images, manifest and markup go (default: the site "
            "the working folder is in, if any).",
        ),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", metavar="N", help="Parallel workers (default: all cores).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-render everything, ignoring the cache.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete outputs that no current photo needs.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only errors (no progress, warnings or summary).")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also print a line per photo.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the plan (photos, numbers, names, what would change); write nothing."),
    ] = False,
    as_json: JsonOption = False,
    wait: Annotated[
        int | None,
        typer.Option(
            metavar="SECONDS",
            help="Seconds to wait for another run on the same --out folder (default: refuse at once).",
        ),
    ] = None,
    config_file: ConfigOption = None,
) -> Invocation:
    """The options of `process`, defined once: `watch` takes them too (see `with_options`)."""
    settings = read_settings(
        config_file,
        output__dir=out,
        output__name=name,
        output__url_prefix=url_prefix,
        output__post_file=post_file,
        output__manifest=manifest,
        text__title=title,
        text__alt=alt,
        text__title_template=title_template,
        variants__widths=tuple(width) if width else None,
        variants__formats=tuple(variant_format) if variant_format else None,
        image__max_edge=max_edge,
        metadata__policy=metadata or ("allow" if allow else None),
        metadata__allow=tuple(allow) if allow else None,
        metadata__color=color,
        markup__style=markup,
        output__site=site,
        run__jobs=jobs,
        run__force=force or None,
        run__quiet=quiet or None,
        run__wait=wait,
    )
    config = settings.config
    if quiet and verbose:
        usage_error("--quiet and --verbose contradict each other: choose one")
    level = QUIET if config.run.quiet else VERBOSE if verbose else NORMAL
    if as_json and config.output.manifest == STDOUT:
        usage_error("--json and --manifest - both print on stdout: choose one")
    say = Say(level)
    builder = presets.choose(config.output.site, Path.cwd())
    for advice in presets.advice(builder, config.output.dir, config.output.post_file):
        say.warning(advice)
    return Invocation(source, config, prune, dry_run, as_json, say, settings)


def usage_error(message: str) -> None:
    stderr_line(f"gallery: {message}")
    raise typer.Exit(2)


def fail(error: GalleryError) -> None:
    stderr_line(f"gallery: {error}")
    raise typer.Exit(2)


def with_options(
    options: Callable[..., Invocation], *, without: tuple[str, ...] = ()
) -> Callable[[Callable[..., None]], Callable[..., None]]:
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
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]  # read by inspect.signature
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate
