"""Every error a run raises, under one base class, so every command handles all of them the same way.

Per-photo failures are not exceptions to the caller: they come back as `Problem`s in the result.
These are the failures that stop a whole run or command; each message is written for a person.
"""

from __future__ import annotations


class GalleryError(Exception):
    """A run or command cannot go on; the message says what and why, for a person."""


class ConfigError(GalleryError, ValueError):
    """A setting is missing, misspelt or out of range; the message says which and why."""


class PhotoError(GalleryError):
    """A photo (or the folder of photos) cannot be used."""


class OutputError(GalleryError):
    """A folder or file the run needs cannot be read or written (disk full, permission denied)."""


class LockedError(OutputError):
    """Another run is writing to the same output folder."""


class PostError(GalleryError, ValueError):
    """The post's gallery markers are not one start followed by one end: where the block goes is unclear."""
