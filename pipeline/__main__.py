"""`python -m pipeline` runs the `gallery` command."""

from .cli import app

app(prog_name="gallery")
