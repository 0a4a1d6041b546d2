"""Every option of the command line, declared once, and how a command line becomes a `Request`.

`FLAGS` is the one table of arguments and options: each entry is its Typer parameter (names, metavar,
one help text) and the setting it overrides, if any. A command names the flags it takes
(`command("review", "photos", "out", ...)`); Typer is shown a signature built from those entries,
and the command receives one `Request`: the values as given, the run's one settings object (the
settings file, then the flags), and the verbosity. A flag added here reaches every command that
names it, with the same help everywhere.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand

from ..config.load import load_config
from ..config.sections import STDOUT, Config
from ..errors import GalleryError
from ..messages import NORMAL, QUIET, VERBOSE, Say, stderr_line
from ..sites import folders, presets

T = TypeVar("T")


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


@dataclass(frozen=True)
class Flag:
    """One argument or option: its Typer parameter and default, and the setting (`section__key`) it
    overrides; `value` turns what was typed into the setting's value (None: leave the setting)."""

    parameter: Any
    default: Any = None
    setting: str = ""
    value: Callable[[Any], Any] = field(default=lambda given: given)


def _listed(given: list[Any] | None) -> tuple[Any, ...] | None:
    return tuple(given) if given else None


def _switched(given: bool) -> bool | None:
    """A switch given turns its setting on; not given, the settings file decides."""
    return True if given else None


_OUT_HELP = f"Output folder of the image set. [default: {Config().output.dir}, or output.dir in the settings]"
_TEMPLATE_HELP = (
    "placeholders {title} {number} {count} {filename} {date}, with format specs, e.g. '{title}, photo "
    "{number} of {count}', '{title} - {number:02d}' or '{title} ({date:%d %B %Y})'."
)

# The table of every argument and option; the commands below name theirs. (A declared data table.)
FLAGS: dict[str, Flag] = {
    "photos": Flag(Annotated[Path, typer.Argument(metavar="PHOTOS", help="Folder of photos (JPEG, HEIC/HEIF, PNG, WebP, AVIF, TIFF, GIF); captions.toml lives in it.")], ...),  # noqa: E501
    "target": Flag(Annotated[Path, typer.Argument(metavar="SOURCE_OR_MANIFEST", help="Folder of photos, or a manifest of `gallery process`.")], ...),  # noqa: E501
    "paths": Flag(Annotated[list[Path], typer.Argument(metavar="PATH", help="Image files to describe.", exists=True, dir_okay=False)], ...),  # noqa: E501
    "site_dir": Flag(Annotated[Path, typer.Argument(metavar="SITE_DIR", help="Folder of published files, e.g. _site or site/assets/img.")], ...),  # noqa: E501
    "out": Flag(Annotated[str | None, typer.Option("--out", "-o", metavar="DIR", help=_OUT_HELP)], setting="output__dir"),  # noqa: E501
    "name": Flag(Annotated[str | None, typer.Option(metavar="NAME", help="File-name stem, e.g. 2024-06-23-trade-mission-japan -> ...-01.jpeg. Default: the name the set was published under, else the folder's name.")], setting="output__name"),  # noqa: E501
    "title": Flag(Annotated[str | None, typer.Option(metavar="TEXT", help="Post title, used for alt and title text by default. Default: the title the set was published under, else the folder's name.")], setting="text__title"),  # noqa: E501
    "alt": Flag(Annotated[str | None, typer.Option(metavar="TEMPLATE", help=f"Alt text template; {_TEMPLATE_HELP}")], setting="text__alt"),  # noqa: E501
    "title_template": Flag(Annotated[str | None, typer.Option(metavar="TEMPLATE", help=f"Title text template; {_TEMPLATE_HELP}")], setting="text__title_template"),  # noqa: E501
    "url_prefix": Flag(Annotated[str | None, typer.Option(metavar="URL", help="URL prefix in the Markdown, e.g. '{{ site.baseurl }}/assets/img'.")], setting="output__url_prefix"),  # noqa: E501
    "width": Flag(Annotated[list[int] | None, typer.Option("--width", "-w", metavar="PX", help="Responsive width; repeat for several (default 480 960 1600).")], setting="variants__widths", value=_listed),  # noqa: E501
    "format": Flag(Annotated[list[str] | None, typer.Option("--format", "-f", metavar="webp|avif|jpeg|jxl", help="Responsive variant format: webp, avif, jpeg, or jxl (JPEG XL, needs the `jxl` extra); repeatable.")], setting="variants__formats", value=_listed),  # noqa: E501
    "max_edge": Flag(Annotated[int | None, typer.Option(metavar="PX", help="Long-edge cap of the main image in pixels (never upscaled).")], setting="image__max_edge"),  # noqa: E501
    "post_file": Flag(Annotated[str | None, typer.Option(metavar="POST.md", help="Also write the block into this post, between <!-- gallery:start/end --> markers.")], setting="output__post_file"),  # noqa: E501
    "manifest": Flag(Annotated[str | None, typer.Option(metavar="PATH", help="JSON manifest path, e.g. '_data/{name}.json' for Jekyll; '' = none; '-' = print it on stdout. See docs/manifest.md.")], setting="output__manifest"),  # noqa: E501
    "metadata": Flag(Annotated[str | None, typer.Option("--metadata", metavar="strip|keep|allow", help="What metadata outputs carry: strip (none, the default), keep (EXIF without GPS, serial numbers, maker notes or thumbnail), allow (only the --allow tags).")], setting="metadata__policy"),  # noqa: E501
    "allow": Flag(Annotated[list[str] | None, typer.Option("--allow", metavar="TAG", help="EXIF tag to keep, e.g. --allow Artist --allow Copyright; implies --metadata allow.")], setting="metadata__allow", value=_listed),  # noqa: E501
    "color": Flag(Annotated[str | None, typer.Option("--color", metavar="srgb|preserve", help="srgb: convert colours to sRGB (default); preserve: keep the photo's profile.")], setting="metadata__color"),  # noqa: E501
    "markup": Flag(Annotated[str | None, typer.Option(metavar="markdown|kramdown|html|grid|hugo", help="Markup style of the block: markdown (one-liners), kramdown (responsive <img> for Jekyll), html (<picture> in <figure>), grid (thumbnails linking to full size), hugo (gallery's shortcode).")], setting="markup__style"),  # noqa: E501
    "site": Flag(Annotated[str | None, typer.Option(metavar="jekyll|hugo|eleventy", help="Prepare for this site builder: where images, manifest and markup go (default: the site the working folder is in, if any).")], setting="output__site"),  # noqa: E501
    "jobs": Flag(Annotated[int | None, typer.Option("--jobs", "-j", metavar="N", help="Parallel workers (default: all cores).")], setting="run__jobs"),  # noqa: E501
    "force": Flag(Annotated[bool, typer.Option("--force", help="Re-render everything, ignoring the cache.")], False, "run__force", _switched),  # noqa: E501
    "prune": Flag(Annotated[bool, typer.Option("--prune", help="Delete outputs that no current photo needs.")], False),
    "quiet": Flag(Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors (no progress, warnings or summary).")], False, "run__quiet", _switched),  # noqa: E501
    "verbose": Flag(Annotated[bool, typer.Option("--verbose", "-v", help="Also print a line per photo.")], False),
    "dry_run": Flag(Annotated[bool, typer.Option("--dry-run", help="Show what would be done (photos, numbers, names, outputs, entries) and change nothing: no image, manifest, post or captions.toml is written (captions --skip-suggested still renders into gallery's private folder, to judge the photos).")], False),  # noqa: E501
    "json": Flag(Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout, for scripts.")], False),  # noqa: E501
    "wait": Flag(Annotated[int | None, typer.Option(metavar="SECONDS", help="Seconds to wait for another run on the same --out folder (default: refuse at once).")], setting="run__wait"),  # noqa: E501
    "config": Flag(Annotated[Path | None, typer.Option("--config", metavar="FILE", dir_okay=False, help="Settings file, always read. Default: gallery.toml here or in a folder above, up to the site's or repository's root or the home folder, else built-in defaults (the values the repository's config.toml documents).")]),  # noqa: E501
    "settle": Flag(Annotated[float | None, typer.Option(metavar="SECONDS", help="Seconds a file must stay unchanged before it is read (default 1.5; more for slow shares).")], setting="watch__settle"),  # noqa: E501
    "poll": Flag(Annotated[bool, typer.Option("--poll", help="Poll instead of file-system events (network mounts are polled anyway).")], False, "watch__poll", _switched),  # noqa: E501
    "keep_deleted": Flag(Annotated[bool, typer.Option("--keep-deleted", help="Keep photos whose source is deleted, outputs and line (phone syncs that move files).")], False, "watch__keep_deleted", _switched),  # noqa: E501
    "once": Flag(Annotated[bool, typer.Option("--once", help="Process what is there, then exit (for cron or CI).")], False),  # noqa: E501
    "port": Flag(Annotated[int, typer.Option(metavar="N", min=0, max=65535, show_default=False, help="Port on 127.0.0.1 (default: a free one).")], 0),  # noqa: E501
    "no_browser": Flag(Annotated[bool, typer.Option("--no-browser", help="Print the page's address only; do not open a browser.")], False),  # noqa: E501
    "skip_suggested": Flag(Annotated[bool, typer.Option("--skip-suggested", help="Render and review first; new entries for burst frames other than the pick, and for blurry photos, get skip = true.")], False),  # noqa: E501
    "page": Flag(Annotated[Path | None, typer.Option("--output", metavar="FILE", dir_okay=False, help="Where to write the page (default: NAME-preview.html in the private folder).")]),  # noqa: E501
    "owner": Flag(Annotated[list[str] | None, typer.Option("--owner", metavar="NAME", help="Name that must appear in no metadata field (repeatable; adds to metadata.owners).")]),  # noqa: E501
}  # fmt: skip

# The options of every command that runs the pipeline (process, watch, edit).
RUN = (
    "photos", "out", "name", "title", "alt", "title_template", "url_prefix", "width", "format", "max_edge",
    "post_file", "manifest", "metadata", "allow", "color", "markup", "site", "jobs", "force", "quiet", "verbose",
    "wait", "config",
)  # fmt: skip


@dataclass(frozen=True)
class Request:
    """One command line: its arguments and flags as given, the run's one settings object (the
    settings file, the site's preset, then the flags), the settings file read (None: the built-in
    defaults) and how much to say."""

    values: Mapping[str, Any]
    config: Config
    settings_file: Path | None
    say: Say

    def __getitem__(self, flag: str) -> Any:
        return self.values[flag]

    @property
    def source(self) -> Path:
        return self.values["photos"]  # type: ignore[no-any-return]  # typed by FLAGS["photos"]

    @property
    def settings(self) -> str | None:
        """The settings file as `--json` output names it."""
        return str(self.settings_file) if self.settings_file else None


def command(
    app: typer.Typer, name: str, *flags: str
) -> Callable[[Callable[[Request], None]], Callable[[Request], None]]:
    """Register `name` on `app` with the named FLAGS; the function receives the `Request`."""

    def decorate(function: Callable[[Request], None]) -> Callable[[Request], None]:
        parameters = [
            inspect.Parameter(flag, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=FLAGS[flag].parameter,
                              default=inspect.Parameter.empty if FLAGS[flag].default is ... else FLAGS[flag].default)
            for flag in flags
        ]  # fmt: skip

        def run(**values: Any) -> None:
            function(request(values))

        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]  # read by Typer
        run.__doc__, run.__name__ = function.__doc__, function.__name__
        app.command(name, cls=Command)(run)
        return function

    return decorate


def request(values: dict[str, Any]) -> Request:
    """The flags as one Request: settings read once (named on stderr), contradictions refused (exit 2)."""
    if values.get("quiet") and values.get("verbose"):
        usage_error("--quiet and --verbose contradict each other: choose one")
    overrides = {FLAGS[flag].setting: FLAGS[flag].value(given) for flag, given in values.items() if FLAGS[flag].setting}
    if values.get("allow") and not values.get("metadata"):
        overrides["metadata__policy"] = "allow"
    search = folders.SettingsSearch(values["config"]) if values.get("config") else folders.find_settings(Path.cwd())
    config = call(load_config, search.file, **overrides)
    say = Say(QUIET if config.run.quiet else VERBOSE if values.get("verbose") else NORMAL)
    if search.refused:
        say.warning(search.refused)
    say.info(f"settings: {search.file or 'built-in defaults'}")
    if values.get("json") and config.output.manifest == STDOUT:
        usage_error("--json and --manifest - both print on stdout: choose one")
    if "post_file" in values:  # a command that publishes: what the site still lacks for it, said first
        for advice in presets.advice(presets.choose(config.output.site, Path.cwd()), config.output.dir,
                                     config.output.post_file):  # fmt: skip
            say.warning(advice)
    return Request(values, config, search.file, say)


def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A library call whose GalleryError ends the command with one line and exit 2."""
    try:
        return function(*args, **kwargs)
    except GalleryError as error:
        usage_error(str(error))
        raise  # not reached: usage_error exits


def usage_error(message: str) -> None:
    stderr_line(f"gallery: {message}")
    raise typer.Exit(2)
