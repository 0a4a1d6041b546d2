"""`gallery` on the command line: a thin shell over `pipeline.process`.

stdout carries only the post's image block, so `gallery process photos > block.md` works;
progress, warnings and the summary go to stderr. Exit codes: 0 all good, 1 some photo failed,
2 bad usage or configuration.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from . import audit
from .captions import update_captions
from .config import Config, load_config
from .errors import ConfigError, GalleryError
from .model import RunResult
from .preview import preview
from .run import process
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
    # Pillow warns about damaged tags without naming the file; rendering reports them per photo,
    # and reading headers (in threads, where warnings cannot be told apart) keeps quiet.
    warnings.filterwarnings("ignore", module=r"PIL\.")


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
    for warning in result.alt_warnings:
        typer.echo(f"alt text: {warning}", err=True)
    typer.echo(result.markup, nl=False)
    typer.echo(result.summary(), err=True)
    return 0 if result.ok else 1


@dataclass(frozen=True)
class Invocation:
    """What the options shared by `process` and `watch` amount to: a folder and the run's config."""

    source: Path
    config: Config
    prune: bool


def process_options(
    source: Annotated[
        Path, typer.Argument(metavar="PHOTOS", help="Folder of photos (JPEG, HEIC/HEIF, PNG, WebP, AVIF, TIFF, GIF).")
    ],
    out: Annotated[
        str | None, typer.Option("--out", "-o", metavar="DIR", help="Output folder for the image set.")
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
            metavar="TEMPLATE", help="Alt text template; placeholders {title} {number} {count} {filename} {date}."
        ),
    ] = None,
    title_template: Annotated[
        str | None, typer.Option(metavar="TEMPLATE", help="Title text template; same placeholders as --alt.")
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
            metavar="markdown|kramdown|html|grid",
            help="Markup style of the block: markdown (one-liners), kramdown (responsive <img> for Jekyll), "
            "html (<picture> in <figure>), grid (thumbnails linking to full size).",
        ),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", metavar="N", help="Parallel workers (default: all cores).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-render everything, ignoring the cache.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete outputs that no current photo needs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
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
        run__jobs=jobs,
        run__force=force or None,
        run__quiet=quiet or None,
        run__wait=wait,
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

    \b
        gallery process ./photos --out site/assets/img --name 2024-06-23-trade-mission-japan \\
            --title "Luxembourg Official Trade Mission to Japan 2024" > block.md

    Photos are numbered in capture order. Each gets NAME-NN.jpeg (the main image), WebP variants
    NAME-NN-0480w.webp ... and a thumbnail NAME-NN-thumb.webp, with orientation applied, colours in
    sRGB and metadata stripped. Re-runs only redo what changed.
    """
    try:
        result = process(invocation.source, invocation.config, prune=invocation.prune)
    except GalleryError as error:
        typer.echo(f"gallery: {error}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(report(result))


@app.command("captions")
def captions_command(
    source: Annotated[Path, typer.Argument(help="Folder of photos; captions.toml is written inside it.")],
    config_file: ConfigOption = None,
) -> None:
    """Write or extend SOURCE/captions.toml: one entry per photo for alt text, title and caption.

    New photos get an entry, in capture order, pre-filled with the description and title embedded
    in the photo (XMP, EXIF, IPTC) when there is one. What is already in the file is never changed.
    Fill in `alt` (what the photo shows), then run `gallery process` again: only the Markdown and
    the manifest change, no image is rendered again.
    """
    config = build_config(config_file)
    try:
        update = update_captions(source, config)
    except GalleryError as error:
        typer.echo(f"gallery: {error}", err=True)
        raise typer.Exit(2) from None
    for problem in update.problems:
        typer.echo(f"error: {problem}", err=True)
    typer.echo(f"{update.path}: {len(update.added)} new entries, {update.kept} kept as written", err=True)
    if update.missing_alt:
        typer.echo(f"{len(update.missing_alt)} photos have no alt text yet: fill in `alt` in {update.path}", err=True)
    typer.echo(str(update.path))


@app.command("preview")
def preview_command(
    target: Annotated[
        Path,
        typer.Argument(metavar="SOURCE_OR_MANIFEST", help="Folder of photos, or a manifest of `gallery process`."),
    ],
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", help="Output folder of the image set (default: config, or the manifest's folder)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Where to write the page (default: OUT/.NAME-preview.html).", dir_okay=False)
    ] = None,
    name: Annotated[str | None, typer.Option(help="File-name stem, as for `gallery process`.")] = None,
    title: Annotated[str | None, typer.Option(help="Post title, as for `gallery process`.")] = None,
    config_file: ConfigOption = None,
) -> None:
    """Write an HTML contact sheet to review a set before publishing, and print its path.

    For each photo: every output with its pixel size and bytes, the alt, title and caption (with
    alt-text warnings), the placeholder, and what metadata the source had against what the
    published files keep. Given a folder, it is processed first (as `gallery process`, cheap when
    cached; the post file is not touched). Open the page in a browser:

        xdg-open "$(gallery preview ./photos --out site/assets/img)"
    """
    config = build_config(config_file, output__name=name, text__title=title)
    try:
        page = preview(target, config, out_dir=out, output=output)
    except GalleryError as error:
        typer.echo(f"gallery: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(str(page))


@app.command("inspect")
def inspect_command(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Image files to describe.", exists=True, dir_okay=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout, for machines.")] = False,
    config_file: ConfigOption = None,
) -> None:
    """Show what metadata each file carries: camera, capture time, GPS, serials, thumbnail, ICC, XMP, IPTC.

    Example: gallery inspect photos/IMG_2682.heic site/assets/img/trip-01.jpeg
    """
    config = build_config(config_file)
    facts = [audit.read_facts(path, config) for path in paths]
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(f) for f in facts], indent=2, ensure_ascii=False))
    else:
        typer.echo("\n".join(audit.describe(f) for f in facts), nl=False)
    raise typer.Exit(1 if any(f.error for f in facts) else 0)


@app.command("audit")
def audit_command(
    site_dir: Annotated[
        Path, typer.Argument(metavar="SITE_DIR", help="Folder of published files, e.g. _site or site/assets/img.")
    ],
    owner: Annotated[
        list[str] | None,
        typer.Option(
            "--owner", help="Name that must appear in no metadata field (repeatable; adds to metadata.owners)."
        ),
    ] = None,
    config_file: ConfigOption = None,
) -> None:
    """List every privacy leak in published images (JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIF).

    Leaks: GPS, serial numbers, maker notes, embedded thumbnails, XMP or IPTC location, and the
    configured owner names. Prints one line per leaking file on stdout; exits 1 when anything leaks,
    so a site's CI can run `gallery audit _site`.
    """
    config = build_config(config_file)
    if not site_dir.is_dir():
        typer.echo(f"gallery: {site_dir} is not a folder", err=True)
        raise typer.Exit(2)
    owners = (*config.metadata.owners, *(owner or ()))
    checked = leaking = 0
    for path in audit.published_images(site_dir):
        checked += 1
        found = audit.leaks(audit.read_facts(path, config), owners)
        if found:
            leaking += 1
            typer.echo(f"{path}: {'; '.join(found)}")
    typer.echo(f"{checked} images checked, {leaking} leaking", err=True)
    raise typer.Exit(1 if leaking else 0)


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

    \b
        gallery watch uploads --out site/assets/img --name 2024-06-23-trade-mission-japan \\
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
    except GalleryError as error:
        typer.echo(f"gallery: {error}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if watcher.result is not None:
        typer.echo(watcher.result.markup, nl=False)
    raise typer.Exit(1 if once and watcher.failures else 0)
