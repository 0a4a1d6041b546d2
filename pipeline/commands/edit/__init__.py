"""`gallery edit`: a local web page to write an event's texts, choose and order its photos, and publish.

The page is a client of a small JSON API (docs/edit.md) that scripts can use too. Modules:
`server` (the editor's life: loopback socket, run lock, signals), `api` (HTTP: the guard, routes),
`session` (what the editor does, without HTTP), and `static/` (the page: HTML, CSS, plain
JavaScript). Round-trip edits of captions.toml live with that file (text/captions_file.py), the
pictures the page shows with the other renders (image/previews.py).
"""

from .server import edit

__all__ = ["edit"]
