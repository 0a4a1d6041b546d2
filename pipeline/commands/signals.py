"""Ctrl-C and SIGTERM for the commands that run until stopped (watch, edit): one way to take them
over for a while and give them back."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

STOPPING = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def on_stop(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """`handler` answers Ctrl-C and SIGTERM while the block runs; the previous handlers come back after."""
    previous = {number: signal.signal(number, handler) for number in STOPPING}
    try:
        yield
    finally:
        for number, handler_before in previous.items():
            signal.signal(number, handler_before)
