"""`python -m pipeline` runs the `gallery` command."""

from .cli.app import main

main()
