"""`gallery` on the command line: each command makes one library call and prints its result
through report.py; the options are options.py's, declared once.

stdout carries only what a command produces (the post's image block, so `gallery process photos >
block.md` works; or JSON with --json); progress, warnings and the summary go to stderr. Exit codes:
0 all good, 1 some photo failed, 2 bad usage or configuration, 3 an unexpected error (a bug: the
one line printed says what to report), 130 interrupted.
"""

from __future__ import annotations

import sys
import threading
import warnings
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from ..commands.audit import audit, inspect
from ..commands.captions import update_captions
from ..commands.preview import preview
from ..commands.review import review
from ..commands.watch import stop_on_signals, watch
from ..config.sections import STDOUT
from ..dry_run import forecast
from ..messages import stderr_line
from ..run import process
from . import report
from .options import RUN, Request, call, command, usage_error

DISTRIBUTION = "event-gallery"
UNEXPECTED = 3

app = typer.Typer(
    help="Turn a folder of event photos into a web-ready image set and the Markdown for your post.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


@command(app, "process", *RUN, "prune", "dry_run", "json")
def process_command(request: Request) -> None:
    """Process a folder of photos and print the Markdown image block for the post.

    Example:

    \b
        gallery process ./photos --out site/assets/img --name 2024-06-23-trade-mission-japan \\
            --title "Luxembourg Official Trade Mission to Japan 2024" > block.md

    Photos are numbered in capture order. Each gets NAME-NN.jpeg (the main image), WebP variants
    NAME-NN-0480w.webp ... and a thumbnail NAME-NN-thumb.webp, with orientation applied, colours in
    sRGB and metadata stripped. Re-runs only redo what changed. --dry-run shows the plan first.
    """
    if request["dry_run"]:
        planned = call(forecast, request.source, request.config)
        raise typer.Exit(report.dry_run(planned, request["prune"], request["json"], request.settings))
    result = call(process, request.source, request.config, prune=request["prune"])
    raise typer.Exit(report.processed(result, request.source, request.config, request.say, request["json"],
                                      request.settings))  # fmt: skip


@command(app, "watch", *RUN, "settle", "poll", "keep_deleted", "once", "dry_run", "json")
def watch_command(request: Request) -> None:
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
    if request.config.output.manifest == STDOUT:
        usage_error("--manifest - prints a manifest once; watch keeps one up to date: name a file, or leave it out")
    if request["dry_run"]:
        if not request["once"]:
            usage_error("--dry-run needs --once: a dry run shows what one pass over the folder would do")
        planned = call(forecast, request.source, request.config, keep_deleted=request.config.watch.keep_deleted)
        raise typer.Exit(report.dry_run(planned, True, request["json"], request.settings))
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            watcher = call(watch, request.source, request.config, once=request["once"], stop=stop, say=request.say)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise typer.Exit(report.watched(watcher.result, watcher.failures, request.config, request["once"], request["json"],
                                    request.settings))  # fmt: skip


@command(app, "review", "photos", "out", "name", "wait", "json", "config")
def review_command(request: Request) -> None:
    """List every photo with what curation found: bursts, blurry or badly exposed frames, a pick per burst.

    Photos are rendered as `gallery process` would, into gallery's private folder (nothing is
    published); the scores are kept, so a second review of an unchanged folder is immediate.
    Nothing is ever left out on its own: mark photos `skip = true` in captions.toml (`gallery
    captions --skip-suggested` writes the suggestions).

    Example: gallery review ./photos --out site/assets/img
    """
    reviewed = call(review, request.source, request.config)
    raise typer.Exit(report.reviewed(reviewed, request.source, request["json"], request.settings))


@command(app, "captions", "photos", "out", "dry_run", "skip_suggested", "wait", "config")
def captions_command(request: Request) -> None:
    """Write or extend PHOTOS/captions.toml: one entry per photo for alt text, title and caption.

    Example:

    \b
        gallery captions ./photos            # then fill in alt = "..." for each photo
        gallery process ./photos --out site/assets/img

    New photos get an entry, in capture order, pre-filled with the description and title embedded
    in the photo (XMP, EXIF, IPTC) when there is one. What is already in the file is never changed.
    Fill in `alt` (what the photo shows), then run `gallery process` again: only the Markdown and
    the manifest change, no image is rendered again.
    """
    update = call(update_captions, request.source, request.config, write=not request["dry_run"],
                  skip_suggested=request["skip_suggested"])  # fmt: skip
    raise typer.Exit(report.captions_written(update, request.source, request["dry_run"]))


@command(app, "preview", "target", "out", "page", "name", "title", "wait", "config")
def preview_command(request: Request) -> None:
    """Write an HTML contact sheet to review a set before publishing, and print its path.

    For each photo: every output with its pixel size and bytes, the alt, title and caption (with
    alt-text warnings), the placeholder, and what metadata the source had against what the
    published files keep. Given a folder, it is processed first (as `gallery process`, cheap when
    cached) into gallery's private folder, where the page is written too. Open it in a browser:

        xdg-open "$(gallery preview ./photos --out site/assets/img)"
    """
    shown = call(preview, request["target"], request.config, out_dir=request["out"], output=request["page"])
    raise typer.Exit(report.previewed(shown, request["target"]))


@command(app, "edit", *RUN, "prune", "port", "no_browser")
def edit_command(request: Request) -> None:
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
    from ..commands.edit import edit  # the web server's libraries load for this command only

    call(edit, request.source, request.config, port=request["port"], browser=not request["no_browser"],
         prune=request["prune"], say=request.say, settings=request.settings, on_ready=report.edit_address)  # fmt: skip


@command(app, "inspect", "paths", "json", "config")
def inspect_command(request: Request) -> None:
    """Show what metadata each file carries: camera, capture time, GPS, serials, thumbnail, ICC, XMP, IPTC.

    Example: gallery inspect photos/IMG_2682.heic site/assets/img/trip-01.jpeg
    """
    raise typer.Exit(report.inspected(call(inspect, request["paths"], request.config), request["json"]))


@command(app, "audit", "site_dir", "owner", "json", "config")
def audit_command(request: Request) -> None:
    """List every privacy leak in published images (JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIF).

    Leaks: GPS, serial numbers, maker notes, embedded thumbnails, XMP or IPTC location, and the
    configured owner names. Prints one line per leaking file on stdout; exits 1 when anything leaks,
    so a site's CI can run `gallery audit _site`.
    """
    found = call(audit, request["site_dir"], request.config, request["owner"] or ())
    raise typer.Exit(report.audited(found, request["json"]))
