"""`gallery` on the command line: a thin shell over `pipeline.process`.

stdout carries only what a command produces (the post's image block, so `gallery process photos >
block.md` works; or JSON with --json); progress, warnings and the summary go to stderr. Exit codes:
0 all good, 1 some photo failed, 2 bad usage or configuration, 3 an unexpected error (a bug: the
one line printed says what to report), 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import threading
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer

from ..commands import audit
from ..commands.captions import update_captions
from ..commands.preview import preview
from ..commands.review import as_json as review_json
from ..commands.review import review
from ..commands.review import table as review_table
from ..commands.watch import stop_on_signals, watch
from ..dry_run import forecast
from ..errors import GalleryError
from ..image import facts
from ..model import set_aside_text
from ..names import one_line
from ..publish.manifest import build_manifest
from ..run import STDOUT, process
from .options import (
    Command,
    ConfigOption,
    Invocation,
    JsonOption,
    fail,
    process_options,
    read_settings,
    usage_error,
    with_options,
)
from .report import audit_json, facts_json, forecast_json, forecast_text, report_run, run_json, stderr_line

DISTRIBUTION = "event-gallery"
UNEXPECTED = 3


app = typer.Typer(
    help="Turn a folder of event photos into a web-ready image set and the Markdown for your post.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
command = functools.partial(app.command, cls=Command)


def main() -> None:
    """The `gallery` program: the app, with a last guard so that no traceback reaches a person."""
    try:
        app(prog_name="gallery")
    except KeyboardInterrupt:
        stderr_line("gallery: interrupted")
        sys.exit(130)
    except Exception as error:  # a bug: one line that says what happened and what to report
        arguments = " ".join(sys.argv[1:])
        stderr_line(
            f"gallery: unexpected error while running `gallery {arguments}`: {type(error).__name__}: {error}. "
            "This is a bug in gallery: please report it with this line."
        )
        sys.exit(UNEXPECTED)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"gallery {version(DISTRIBUTION)}")
        except PackageNotFoundError:
            typer.echo("gallery (not installed as a package)")
        raise typer.Exit()


@app.callback()
def gallery(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Turn a folder of event photos into a web-ready image set and the Markdown for your post."""
    # Pillow warns about damaged tags without naming the file; rendering reports them per photo,
    # and reading headers (in threads, where warnings cannot be told apart) keeps quiet.
    warnings.filterwarnings("ignore", module=r"PIL\.")


@command("process")
@with_options(process_options)
def process_command(invocation: Invocation) -> None:
    """Process a folder of photos and print the Markdown image block for the post.

    Example:

    \b
        gallery process ./photos --out site/assets/img --name 2024-06-23-trade-mission-japan \\
            --title "Luxembourg Official Trade Mission to Japan 2024" > block.md

    Photos are numbered in capture order. Each gets NAME-NN.jpeg (the main image), WebP variants
    NAME-NN-0480w.webp ... and a thumbnail NAME-NN-thumb.webp, with orientation applied, colours in
    sRGB and metadata stripped. Re-runs only redo what changed. --dry-run shows the plan first.
    """
    if invocation.dry_run:
        _print_forecast(invocation)
        raise typer.Exit(0)
    try:
        result = process(invocation.source, invocation.config, prune=invocation.prune)
    except GalleryError as error:
        fail(error)
    config, say = invocation.config, invocation.say
    if not result.photos and not result.failures and not result.warnings:
        aside = f"; {set_aside_text(result.set_aside)} set aside" if result.set_aside else ""
        say.error(
            f"gallery: no photos in {invocation.source} (JPEG, HEIC/HEIF, PNG, WebP, AVIF, TIFF or GIF by content)"
            + aside
        )
        raise typer.Exit(1)
    report_run(result, say, config.output.post_file)
    if invocation.as_json:
        typer.echo(run_json(result, config, invocation.settings.json), nl=False)
    elif config.output.manifest == STDOUT:
        typer.echo(build_manifest(result.photos, config, result.title, result.name), nl=False)
    else:
        typer.echo(result.markup, nl=False)
    raise typer.Exit(0 if result.ok else 1)


def _print_forecast(invocation: Invocation) -> None:
    try:
        planned = forecast(invocation.source, invocation.config, keep_deleted=invocation.config.watch.keep_deleted)
    except GalleryError as error:
        fail(error)
    if invocation.as_json:
        typer.echo(forecast_json(planned, invocation.prune, invocation.settings.json), nl=False)
    else:
        typer.echo(forecast_text(planned, invocation.prune), nl=False)


@command("captions")
def captions_command(
    source: Annotated[
        Path, typer.Argument(metavar="PHOTOS", help="Folder of photos; captions.toml is written inside it.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the entries that would be added; write nothing.")
    ] = False,
    skip_suggested: Annotated[
        bool,
        typer.Option(
            "--skip-suggested",
            help="Render and review first; new entries for burst frames other than the pick, and for blurry "
            "photos, get skip = true.",
        ),
    ] = False,
    out: Annotated[
        str | None,
        typer.Option(
            "--out", "-o", metavar="DIR", help="Output folder whose record holds the review (default: output.dir)."
        ),
    ] = None,
    config_file: ConfigOption = None,
) -> None:
    """Write or extend SOURCE/captions.toml: one entry per photo for alt text, title and caption.

    New photos get an entry, in capture order, pre-filled with the description and title embedded
    in the photo (XMP, EXIF, IPTC) when there is one. What is already in the file is never changed.
    Fill in `alt` (what the photo shows), then run `gallery process` again: only the Markdown and
    the manifest change, no image is rendered again.
    """
    config = read_settings(config_file, output__dir=out).config
    try:
        update = update_captions(source, config, write=not dry_run, skip_suggested=skip_suggested)
    except GalleryError as error:
        fail(error)
    for problem in update.problems:
        stderr_line(f"error: {problem}")
    for note in update.notes:
        stderr_line(f"warning: {note}")
    if not update.photos:
        stderr_line(f"gallery: no photos in {source}; {update.path.name} was not written")
        raise typer.Exit(1)
    if dry_run:
        typer.echo(f"dry run: nothing was written. {len(update.added)} entries would be added to {update.path}:")
        typer.echo("".join(f"  {entry}\n" for entry in update.added), nl=False)
        raise typer.Exit(0)
    stderr_line(f"{update.path}: {len(update.added)} new entries, {update.kept} kept as written")
    if update.missing_alt:
        stderr_line(f"{len(update.missing_alt)} photos have no alt text yet: fill in `alt` in {update.path}")
    typer.echo(str(update.path))


@command("review")
def review_command(
    source: Annotated[Path, typer.Argument(metavar="PHOTOS", help="Folder of photos to choose from.")],
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", metavar="DIR", help="Output folder of the image set (default: output.dir)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option(metavar="NAME", help="File-name stem (default: the name the set was published under).")
    ] = None,
    as_json: JsonOption = False,
    config_file: ConfigOption = None,
) -> None:
    """List every photo with what curation found: bursts, blurry or badly exposed frames, a pick per burst.

    Photos are rendered as `gallery process` would (nothing is published); the scores are kept, so
    a second review of an unchanged folder is immediate. Nothing is ever left out on its own: mark
    photos `skip = true` in captions.toml (`gallery captions --skip-suggested` writes the suggestions).

    Example: gallery review ./photos --out site/assets/img
    """
    settings = read_settings(config_file, output__dir=out, output__name=name)
    config = settings.config
    try:
        reviewed = review(source, config)
    except GalleryError as error:
        fail(error)
    for failure in reviewed.failures:
        stderr_line(f"error: {failure}")
    for note in reviewed.plan.captions.notes:
        stderr_line(f"warning: {note}")
    if as_json:
        typer.echo(json.dumps(review_json(reviewed) | {"settings": settings.json}, indent=2, ensure_ascii=False))
    else:
        typer.echo(review_table(reviewed), nl=False)
    raise typer.Exit(1 if reviewed.failures else 0)


@command("preview")
def preview_command(
    target: Annotated[
        Path,
        typer.Argument(metavar="SOURCE_OR_MANIFEST", help="Folder of photos, or a manifest of `gallery process`."),
    ],
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Output folder of the image set (default: output.dir, or the manifest's folder).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Where to write the page (default: OUT/.NAME-preview.html).", dir_okay=False),
    ] = None,
    name: Annotated[
        str | None, typer.Option(metavar="NAME", help="File-name stem (default: the name the set was published under).")
    ] = None,
    title: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Post title (default: the title the set was published under).")
    ] = None,
    config_file: ConfigOption = None,
) -> None:
    """Write an HTML contact sheet to review a set before publishing, and print its path.

    For each photo: every output with its pixel size and bytes, the alt, title and caption (with
    alt-text warnings), the placeholder, and what metadata the source had against what the
    published files keep. Given a folder, it is processed first (as `gallery process`, cheap when
    cached; the post file is not touched). Open the page in a browser:

        xdg-open "$(gallery preview ./photos --out site/assets/img)"
    """
    config = read_settings(config_file, output__name=name, text__title=title).config
    try:
        page = preview(target, config, out_dir=out, output=output)
    except GalleryError as error:
        fail(error)
    typer.echo(str(page))


@command("edit")
@with_options(process_options, without=("dry_run", "as_json"))
def edit_command(
    invocation: Invocation,
    port: Annotated[
        int,
        typer.Option(
            metavar="N", min=0, max=65535, show_default=False, help="Port on 127.0.0.1 (default: a free one)."
        ),
    ] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the page's address only; do not open a browser.")
    ] = False,
) -> None:
    """Edit an event in a local web page: alt text, title and caption per photo, skip, order, publish.

    Example:

    \b
        gallery edit ./photos --out site/assets/img --name 2024-06-23-trade-mission-japan \\
            --post-file site/_posts/2024-06-23-trade-mission-japan.md

    The first line on stdout is the page's address, http://127.0.0.1:PORT/?token=TOKEN, which opens
    in the browser. Every photo is shown with its burst, review's flags and suggested picks; what
    you type is saved to PHOTOS/captions.toml within a second (comments and hand-written entries are
    kept); Publish runs `gallery process` with these options. The page listens on 127.0.0.1 only and
    needs the token; the output folder is held for the editor until Ctrl-C stops it.
    """
    from ..commands.edit import edit

    source, config, say = invocation.source, invocation.config, invocation.say
    try:
        edit(
            source, config, port=port, browser=not no_browser, prune=invocation.prune, say=say,
            settings=invocation.settings.json,
        )  # fmt: skip
    except GalleryError as error:
        fail(error)


@command("inspect")
def inspect_command(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Image files to describe.", exists=True, dir_okay=False)
    ],
    as_json: JsonOption = False,
    config_file: ConfigOption = None,
) -> None:
    """Show what metadata each file carries: camera, capture time, GPS, serials, thumbnail, ICC, XMP, IPTC.

    Example: gallery inspect photos/IMG_2682.heic site/assets/img/trip-01.jpeg
    """
    config = read_settings(config_file).config
    described = [facts.read_facts(path, config) for path in paths]
    if as_json:
        typer.echo(facts_json(described), nl=False)
    else:
        typer.echo("\n".join(audit.describe(f) for f in described), nl=False)
    raise typer.Exit(1 if any(f.error for f in described) else 0)


@command("audit")
def audit_command(
    site_dir: Annotated[
        Path, typer.Argument(metavar="SITE_DIR", help="Folder of published files, e.g. _site or site/assets/img.")
    ],
    owner: Annotated[
        list[str] | None,
        typer.Option(
            "--owner",
            metavar="NAME",
            help="Name that must appear in no metadata field (repeatable; adds to metadata.owners).",
        ),
    ] = None,
    as_json: JsonOption = False,
    config_file: ConfigOption = None,
) -> None:
    """List every privacy leak in published images (JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIF).

    Leaks: GPS, serial numbers, maker notes, embedded thumbnails, XMP or IPTC location, and the
    configured owner names. Prints one line per leaking file on stdout; exits 1 when anything leaks,
    so a site's CI can run `gallery audit _site`.
    """
    config = read_settings(config_file).config
    if not site_dir.is_dir():
        stderr_line(f"gallery: {site_dir} is not a folder")
        raise typer.Exit(2)
    owners = (*config.metadata.owners, *(owner or ()))
    checked = []
    for path, skipped in facts.published_images(site_dir):
        if skipped:
            stderr_line(f"{path}: {skipped}")
            continue
        found = audit.leaks(facts.read_facts(path, config), owners)
        checked.append((path, found))
        if found and not as_json:
            typer.echo(one_line(f"{path}: {'; '.join(found)}"))
    leaking = sum(bool(found) for _, found in checked)
    if as_json:
        typer.echo(audit_json(checked), nl=False)
    stderr_line(f"{len(checked)} images checked, {leaking} leaking")
    raise typer.Exit(1 if leaking else 0)


@command("watch")
@with_options(process_options, without=("prune",))
def watch_command(
    invocation: Invocation,
    settle: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Seconds a file must stay unchanged before it is read (default 1.5; more for slow shares).",
        ),
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
    except GalleryError as error:
        fail(error)
    if invocation.dry_run:
        if not once:
            usage_error("--dry-run needs --once: a dry run shows what one pass over the folder would do")
        _print_forecast(dataclasses.replace(invocation, config=config, prune=True, dry_run=True))
        raise typer.Exit(0)
    try:
        with stop_on_signals(stop):
            watcher = watch(invocation.source, config, once=once, stop=stop, say=invocation.say)
    except GalleryError as error:
        fail(error)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if watcher.result is not None:
        if invocation.as_json:
            typer.echo(run_json(watcher.result, config, invocation.settings.json), nl=False)
        else:
            typer.echo(watcher.result.markup, nl=False)
    raise typer.Exit(1 if once and watcher.failures else 0)
