"""`python -m pipeline` runs the `gallery` command."""

from .cli import main

main()
