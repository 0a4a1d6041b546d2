"""`gallery edit`: a local web page to write an event's texts, choose and order its photos, and publish.

The page is a client of a small JSON API (docs/edit.md) that scripts can use too. Modules:
`server` (the editor's life: loopback socket, run lock, signals), `api` (HTTP: the guard, routes),
`session` (what the editor does, without HTTP), `captions_file` (round-trip edits of captions.toml),
`previews` (the pictures the page shows), and `static/` (the page: HTML, CSS, plain JavaScript).
"""

from .server import edit

__all__ = ["edit"]
