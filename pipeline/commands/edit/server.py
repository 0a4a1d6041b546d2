"""`gallery edit`'s life: listen on loopback, hold the output folder, render, serve until Ctrl-C.

The order matters. The port is taken first (a port in use is a usage error, said before any work);
then the output folder's run lock, held until the editor stops, so neither a `gallery process` nor
a second editor writes the set meanwhile (the editor's own runs say so with `lock_held`); then the
first render, which review needs; only then is the address given out (`on_ready`).
"""

from __future__ import annotations

import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from ...config.sections import STDOUT, Config
from ...errors import ConfigError, OutputError, PhotoError
from ...image.ingest import folder_of
from ...messages import Say, no_photos
from ...run import Target, holding
from ..signals import on_stop
from .api import make_app
from .session import Editor

HOST = "127.0.0.1"  # loopback only: the page and its API are for the person at this machine


def edit(
    source: Path,
    config: Config,
    *,
    port: int = 0,
    browser: bool = True,
    prune: bool = False,
    say: Say | None = None,
    settings: str | None = None,
    on_ready: Callable[[str], None] = print,
) -> None:
    """Serve the editor for `source` on 127.0.0.1:`port` (0: a free port) until Ctrl-C or SIGTERM.

    `on_ready` receives the page's address, with a fresh token, the moment the page can be asked
    for (the CLI prints it as the first line on stdout); the browser opens it unless `browser` is
    false. Raises GalleryError subclasses for what stops it from starting: a folder without photos,
    a port in use, an output folder another run holds or that cannot be used.
    """
    say = say or Say()
    if config.output.manifest == STDOUT:
        raise ConfigError("--manifest - prints the manifest on stdout, which the editor keeps for its address")
    folder_of(source)
    target = Target.of(config)
    with _listening(port) as listener, holding(target, config):
        editor = Editor(source, config, prune=prune, say=say, settings=settings)
        count = editor.start()
        if not count:
            raise PhotoError(no_photos(source))
        token = secrets.token_urlsafe(32)
        port = listener.getsockname()[1]
        server = _server(make_app(editor, token, port))
        with _stopping_on_signals(server):  # from the moment the address is out
            url = f"http://{HOST}:{port}/?token={token}"
            on_ready(url)
            say.info(
                f"editing {count} photos of {source}: texts go to {editor.captions}, publishing to "
                f"{target.folder} (held for this editor until it stops). Ctrl-C stops."
            )
            if browser:  # in a thread: a text-mode browser would hold the terminal until it exits
                threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
            server.run(sockets=[listener])
        if not server.started:  # uvicorn said why on stderr
            raise OutputError("the editor's server did not start")
    say.info("gallery edit: stopped")


@contextmanager
def _listening(port: int) -> Iterator[socket.socket]:
    """A socket bound to loopback only, listening before anything else happens."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart on the same --port at once
    try:
        listener.bind((HOST, port))
        listener.listen(64)
    except OSError as error:
        listener.close()
        hint = "choose another --port, or leave it out for a free one" if port else "is the loopback interface up?"
        raise ConfigError(f"cannot listen on {HOST}:{port}: {error.strerror or error}; {hint}") from None
    with listener:
        yield listener


def _server(app: object) -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            proxy_headers=False,
            server_header=False,
        )
    )


@contextmanager
def _stopping_on_signals(server: uvicorn.Server) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the server gracefully (a publish in hand finishes), and the editor
    returns: exit 0.

    While it runs, uvicorn handles both signals itself; afterwards it raises the signal again for
    the handler it found, this one, which then only asks an already stopped server to stop. Before
    it runs (the address is printed, the browser opens), this handler makes it stop at once.
    """

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True

    with on_stop(stop):
        yield
