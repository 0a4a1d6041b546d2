"""The command line's shared parts: the options `process` and `watch` take, defined once, and how
arguments are shown in help.

A flag added to `process_options` reaches every command built with `with_options`; `build_config`
turns the flags into the run's one settings object.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand

from . import sites
from .config import Config, load_config
from .errors import ConfigError, GalleryError
from .report import NORMAL, QUIET, VERBOSE, Say, stderr_line
from .run import STDOUT

LEGACY_FILE = Path("config.toml")


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
        help="Settings file. Default: gallery.toml here or in a folder above (up to the site's root), "
        "else built-in defaults (the values the repository's config.toml documents).",
        dir_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout, for scripts.")]


def build_config(config_file: Path | None, **overrides: Any) -> Config:
    """Defaults, the site's preset, the settings file, then flags: the one config object of the run."""
    try:
        return load_config(config_file or settings_file(), **overrides)
    except ConfigError as error:
        stderr_line(f"gallery: {error}")
        raise typer.Exit(2) from None


def settings_file() -> Path | None:
    """gallery.toml here or in a folder above, up to the site's or repository's root; else a
    ./config.toml that is recognisably gallery's (every table one of gallery's sections, as older
    versions read it). A site's own config.toml, such as Hugo's, is never read."""
    found = sites.settings_file(Path.cwd())
    if found is not None or not LEGACY_FILE.is_file():
        return found
    try:
        raw = tomllib.loads(LEGACY_FILE.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    sections = {f.name for f in dataclasses.fields(Config)}
    ours = bool(raw) and all(isinstance(value, dict) and key in sections for key, value in raw.items())
    return LEGACY_FILE if ours else None


@dataclass(frozen=True)
class Invocation:
    """What the options shared by `process` and `watch` amount to: a folder and the run's config."""

    source: Path
    config: Config
    prune: bool
    dry_run: bool
    as_json: bool
    say: Say


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
    config = build_config(
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
    if quiet and verbose:
        usage_error("--quiet and --verbose contradict each other: choose one")
    level = QUIET if config.run.quiet else VERBOSE if verbose else NORMAL
    if as_json and config.output.manifest == STDOUT:
        usage_error("--json and --manifest - both print on stdout: choose one")
    return Invocation(source, config, prune, dry_run, as_json, Say(level))


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
