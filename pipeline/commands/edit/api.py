"""The editor over HTTP: the page, its JSON API and the photos' renders, behind one guard.

Every request must come to this server by its own name (Host), from its own page or from no page
at all (Origin), and carry the session's token (`Authorization: Bearer TOKEN` or `?token=TOKEN`);
anything else gets 403 before a route is looked at. That keeps out other users of the machine
(they cannot read the token), web pages in the person's browser (they can neither read the token
nor send a foreign Origin past the check) and DNS rebinding (a foreign Host). Pictures are asked
for by photo name and looked up in the plan; no path from a request ever reaches the file system.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...errors import GalleryError, PhotoError
from .session import BadRequest, Editor, NotFound

MAX_BODY = 1 << 20  # bytes: the order of 10,000 photos fits many times over
TOKEN_MARK = "__TOKEN__"  # in index.html, where the page's own links carry the token
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
]
STATIC = {
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}


class Guard:
    """ASGI middleware: 403 unless Host, Origin and token are this session's."""

    def __init__(self, app: ASGIApp, token: str, port: int) -> None:
        self.app, self.token = app, token
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # the server runs without websockets and lifespan events
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        refusal = self._refusal(headers, scope.get("query_string", b"").decode("latin-1"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        if refusal:
            await PlainTextResponse(f"403 forbidden: {refusal}\n", status_code=403)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, headers: dict[str, str], query: str) -> str:
        """Why a request is refused, or "" when it may pass."""
        if headers.get("host", "") not in self.hosts:
            return "this server answers only to 127.0.0.1 (or localhost) on its own port"
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return "requests from other sites are refused"
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        offered = credentials.strip() if scheme.lower() == "bearer" else ""
        offered = offered or next(iter(parse_qs(query).get("token", [])), "")
        if not secrets.compare_digest(offered.encode(), self.token.encode()):
            return "the token is missing or wrong: open the address `gallery edit` printed"
        return ""


def make_app(editor: Editor, token: str, port: int) -> ASGIApp:
    """The page, the API (docs/edit.md) and the pictures, behind the guard."""
    static = files(__package__) / "static"
    page = (static / "index.html").read_text(encoding="utf-8").replace(TOKEN_MARK, token)
    assets = {path: ((static / name).read_bytes(), kind) for path, (name, kind) in STATIC.items()}

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    async def asset(request: Request) -> Response:
        body, kind = assets[request.url.path]
        return Response(body, media_type=kind)

    async def photos(request: Request) -> Response:
        return await answer(editor.listing)

    async def update(request: Request) -> Response:
        return await answer(editor.update, request.path_params["source"], await _json_body(request))

    async def order(request: Request) -> Response:
        return await answer(editor.reorder, await _json_body(request))

    async def publish(request: Request) -> Response:
        return await answer(editor.publish)

    async def progress(request: Request) -> Response:
        return JSONResponse(editor.progress())

    def picture(view: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await answer(editor.preview, request.path_params["source"], view)

        return endpoint

    async def answer(call: Callable[..., Any], *arguments: Any) -> Response:
        """`call` run in a worker thread: its result (JSON, or a JPEG's bytes), or why it failed as
        `{"error": message}` with the status that says who can fix it."""
        try:
            result = await run_in_threadpool(call, *arguments)
        except GalleryError as error:
            return JSONResponse({"error": str(error)}, status_code=_status(error))
        except Exception as error:  # a bug: one line, as the command line says it, and the server goes on
            message = f"unexpected error: {type(error).__name__}: {error}. This is a bug in gallery: please report it."
            editor.say.error(f"gallery edit: {message}")
            return JSONResponse({"error": message}, status_code=500)
        if isinstance(result, bytes):
            return Response(result, media_type="image/jpeg")
        if isinstance(result, str):  # already JSON: what `gallery process --json` prints
            return Response(result, media_type="application/json")
        return JSONResponse(result)

    routes = [
        Route("/", index, methods=["GET"]),
        *(Route(path, asset, methods=["GET"]) for path in STATIC),
        Route("/api/photos", photos, methods=["GET"]),
        Route("/api/photos/{source}", update, methods=["PATCH"]),
        Route("/api/photos/{source}/thumbnail", picture("thumbnail"), methods=["GET"]),
        Route("/api/photos/{source}/large", picture("large"), methods=["GET"]),
        Route("/api/order", order, methods=["PUT"]),
        Route("/api/publish", publish, methods=["POST"]),
        Route("/api/publish", progress, methods=["GET"]),
    ]
    return Guard(Starlette(routes=routes, exception_handlers={BadRequest: _refused}), token, port)


def _status(error: GalleryError) -> int:
    """400: the request is wrong; 404: no such photo; 413: too large; 422: the photo cannot be shown;
    409: something in the folder stops it (a malformed captions.toml, a publish already running)."""
    for kind, status in ((TooLarge, 413), (BadRequest, 400), (NotFound, 404), (PhotoError, 422)):
        if isinstance(error, kind):
            return status
    return 409


async def _refused(request: Request, error: Exception) -> Response:
    return JSONResponse({"error": str(error)}, status_code=_status(error))  # type: ignore[arg-type]


class TooLarge(BadRequest):
    """A request body over MAX_BODY."""


async def _json_body(request: Request) -> Any:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge(f"the request is over {MAX_BODY} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the request body is not JSON") from None
