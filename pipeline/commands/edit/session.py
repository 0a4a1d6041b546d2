"""What the editor does for one event folder, without HTTP: list the photos with what review found
and what captions.toml says, change captions.toml, show pictures, publish.

The caller holds the output folder's run lock for the session's whole life, so the record and the
published set change only through this session: its publishing runs say `lock_held=True`. Review's
renders go to gallery's private folder, under that folder's own lock.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...config.sections import Config
from ...errors import ConfigError, GalleryError, OutputError, PhotoError
from ...files import write_atomically
from ...image.previews import SIZES, render_preview
from ...messages import Say, report_run, run_json
from ...names import display_name
from ...run import process
from ...text import captions_file
from ...text.captions_file import CAPTIONS_FILE, FIELDS, SKIP_KEY
from ...text.clean import MAX_TEXT
from ...text.lint import ALT_LIMIT, lint_alt
from ..review import Review, as_json, review

PREVIEWS_KEPT = {"thumbnail": 1024, "large": 16}  # renders kept in memory per size (~40 KB, ~400 KB each)


class NotFound(GalleryError):
    """The request names no photo of the folder."""


class BadRequest(GalleryError):
    """A change the editor cannot make: not JSON of the documented shape."""


class Busy(GalleryError):
    """A publish is running already."""


class Editor:
    """One folder's editing session. Safe to call from several threads at once."""

    def __init__(
        self,
        source: Path,
        config: Config,
        *,
        prune: bool = False,
        say: Say | None = None,
        settings: str | None = None,
    ) -> None:
        self.source, self.config, self.prune, self.say = source, config, prune, say or Say()
        self.settings = settings  # the settings file read, as `process --json` names it
        self.captions = source / CAPTIONS_FILE
        self.failures: tuple[str, ...] = ()  # photos the first render could not read
        # The plan's photos by source name (all that can ever be shown), each with the real path
        # it had when the plan read the folder.
        self._photos: dict[str, tuple[Path, str]] = {}
        self._writing = threading.Lock()  # one read-change-write of captions.toml at a time
        self._publishing = threading.Lock()
        self._rendered = (0, 0)  # photos rendered, photos to render, by the publish in hand or the last
        self._decoding = threading.BoundedSemaphore(config.jobs)  # full-size decodes held in memory at once
        self._previews: dict[str, Callable[[Path, int, int], bytes]] = {
            view: functools.lru_cache(maxsize=PREVIEWS_KEPT[view])(functools.partial(self._render, edge=edge))
            for view, edge in SIZES.items()
        }

    def start(self) -> int:
        """Render what review needs (nothing is published), as `gallery review` does; the number of photos."""
        reviewed = self._reviewed(render=True)
        self.failures = tuple(map(str, reviewed.failures))
        for failure in reviewed.failures:
            self.say.error(failure)
        return len(reviewed.photos)

    # reading ----------------------------------------------------------------------------------

    def listing(self) -> dict[str, Any]:
        """Every photo in the editor's order, with review's findings, what captions.toml says, the
        texts the next publish gives it, and the alt-text lint's findings."""
        reviewed = self._reviewed()
        captions, plan = reviewed.plan.captions, reviewed.plan
        effective = {display_name(photo.photo.path): photo.text for photo in plan.photos}
        hints: dict[str | None, list[str]] = {}
        for name, message in lint_alt([(name, text.alt) for name, text in effective.items()]):
            hints.setdefault(name, []).append(_finding(message))
        photos = []
        for photo in as_json(reviewed)["photos"]:
            name = photo["source"]
            written = captions.texts.get(name)
            text = effective.get(name)
            photos.append(
                photo
                | {field: getattr(written, field) if written else "" for field in FIELDS}
                | {
                    SKIP_KEY: name in captions.skip,
                    "effective": {field: getattr(text, field) for field in FIELDS} if text else None,
                    "hints": hints.get(name, []),
                }
            )
        return {
            "set": {
                "name": plan.name,
                "title": plan.title,
                "source": str(self.source),
                "out": self.config.output.dir,
                "post_file": self.config.output.post_file or None,
                "alt_limit": ALT_LIMIT,
            },
            "photos": _in_editor_order(photos, captions.order),
            "hints": hints.get(None, []),
            "failures": list(self.failures),
        }

    def preview(self, name: str, view: str) -> bytes:
        """A render of photo `name` for the page (`view` is a key of SIZES). Only a photo of the plan
        is ever opened, and only where the plan found it: a name is looked up, never joined to a path."""
        path, real = self._photos.get(name, (None, None))
        if path is None or view not in SIZES or os.path.realpath(path) != real:  # a link put there since
            raise NotFound(f"no photo {name!r} in {self.source}")
        try:
            stat = os.stat(path)
        except OSError:  # deleted or unreadable since
            raise NotFound(f"no photo {name!r} in {self.source}") from None
        return self._previews[view](path, stat.st_mtime_ns, stat.st_size)

    def _render(self, path: Path, mtime_ns: int, size: int, *, edge: int) -> bytes:
        """mtime and size are in the cache key only: a photo replaced in place is rendered again."""
        with self._decoding:
            try:
                return render_preview(path, self.config, edge)
            except PhotoError:
                raise
            except Exception as error:  # damaged data makes decoders raise almost anything
                raise PhotoError(f"cannot decode image data: {error or type(error).__name__}") from None

    # changing captions.toml -------------------------------------------------------------------

    def update(self, name: str, changes: Mapping[str, object]) -> dict[str, Any]:
        """Set alt, title, caption and/or skip of photo `name` in captions.toml; the new listing."""
        self._known(name)
        checked = _checked_fields(changes)
        self._rewrite(lambda text: captions_file.with_fields(text, name, checked))
        return self.listing()

    def reorder(self, names: object) -> dict[str, Any]:
        """Set captions.toml's `order` to `names` (each a photo of the folder, once); the new listing."""
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise BadRequest('the order must be a JSON list of file names, ["a.jpg", ...]')
        if len(set(names)) != len(names):
            raise BadRequest("the order names a photo twice")
        for name in names:
            self._known(name)
        self._rewrite(lambda text: captions_file.with_order(text, names))
        return self.listing()

    def _rewrite(self, change: Callable[[str | None], str]) -> None:
        """Read the file afresh, change it, write it atomically: an edit made meanwhile elsewhere
        (another tab, a text editor) is kept."""
        with self._writing:
            try:
                text: str | None = self.captions.read_bytes().decode("utf-8")
            except FileNotFoundError:
                text = None
            except UnicodeDecodeError:
                raise ConfigError(f"{self.captions} is not UTF-8 text; save it as UTF-8") from None
            except OSError as error:
                raise OutputError(f"{self.captions} cannot be read: {error.strerror or error}") from None
            try:
                write_atomically(self.captions, change(text).encode("utf-8"))
            except OSError as error:
                raise OutputError(f"{self.captions} cannot be written: {error.strerror or error}") from None

    # publishing -------------------------------------------------------------------------------

    def publish(self) -> str:
        """`gallery process` with the session's settings: its `--json` output."""
        if not self._publishing.acquire(blocking=False):
            raise Busy("a publish is running already; wait for it")
        try:
            self._rendered = (0, 0)
            result = process(
                self.source, self.config, prune=self.prune, lock_held=True, on_rendered=self._count_rendered
            )
            report_run(result, self.say, self.config.output.post_file)
            # --force means "redo what is there now", not "redo everything at every publish".
            self.config = self.config.with_overrides(run__force=False)
            return run_json(result, self.config, self.settings)
        finally:
            self._publishing.release()

    def _count_rendered(self, done: int, total: int) -> None:
        self._rendered = (done, total)

    def progress(self) -> dict[str, Any]:
        """How far a publish has come: photos rendered of those to render (0 of 0 when all were there)."""
        done, total = self._rendered
        return {"running": self._publishing.locked(), "rendered": done, "total": total}

    # the plan ---------------------------------------------------------------------------------

    def _reviewed(self, render: bool = False) -> Review:
        """Review (from the record alone unless `render`), and the photos it lists as the ones to show."""
        reviewed = review(self.source, self.config, render=render)
        photos: dict[str, tuple[Path, str]] = {}
        for photo in reviewed.photos:
            photos.setdefault(display_name(photo.source), (photo.source, os.path.realpath(photo.source)))
        self._photos = photos
        return reviewed

    def _known(self, name: str) -> None:
        if name not in self._photos:
            self._reviewed()  # a photo added to the folder since the page was loaded
        if name not in self._photos:
            raise NotFound(f"no photo {name!r} in {self.source}")


def _finding(message: str) -> str:
    """The lint's finding without its advice to edit captions.toml, which is what the page does:
    "no alt text; write one in captions.toml (...)" -> "no alt text"."""
    return message.rsplit("; ", 1)[0]


def _checked_fields(changes: Mapping[str, object]) -> dict[str, str | bool]:
    if not isinstance(changes, Mapping) or not changes:
        raise BadRequest(f"send a JSON object with any of {', '.join(captions_file.EDITABLE)}")
    unknown = sorted(set(changes) - set(captions_file.EDITABLE))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; known: {', '.join(captions_file.EDITABLE)}")
    checked: dict[str, str | bool] = {}
    for key, value in changes.items():
        if key == SKIP_KEY:
            if not isinstance(value, bool):
                raise BadRequest("skip must be true or false")
        elif not isinstance(value, str):
            raise BadRequest(f"{key} must be text")
        elif len(value) > MAX_TEXT:
            raise BadRequest(f"{key} is {len(value)} characters; at most {MAX_TEXT} are kept")
        checked[key] = value
    return checked


def _in_editor_order(photos: Sequence[dict[str, Any]], order: Sequence[str]) -> list[dict[str, Any]]:
    """The photos `order` names first, as it names them, skipped ones included, then the rest in
    review's order (the plan's, skipped photos last). Without the skipped photos this is exactly
    the order `gallery process` publishes."""
    by_name = {photo["source"]: photo for photo in photos}
    first = [name for name in dict.fromkeys(order) if name in by_name]
    placed = set(first)
    return [by_name[name] for name in first] + [photo for photo in photos if photo["source"] not in placed]
