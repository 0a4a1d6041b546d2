"""The one way gallery writes a file: complete or not at all, never through a planted link.

Every file gallery writes (images, manifest, post, state record, captions.toml, preview page) goes
through `write_atomically`: the bytes go to a hidden temp file beside the target, created
exclusively, then renamed over the target. A reader or a crash never sees half a file; the dot
prefix keeps an abandoned temp file out of static-site builds and out of photo discovery.
"""

from __future__ import annotations

import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temp_path(path: Path) -> Path:
    """`.name.PID.tmp` beside the target: hidden, and never shared by two processes."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def write_atomically(path: Path, data: bytes | memoryview) -> None:
    """Write `data` to `path` through an exclusive temp file and a rename.

    The temp file is created with O_EXCL, so a file or symbolic link planted under its name is
    never written through: it is removed and the write tried once more, exclusively again.
    """
    temp = temp_path(path)
    try:
        try:
            handle = temp.open("xb")
        except FileExistsError:
            temp.unlink()  # a leftover of a killed run, or a planted link: remove it, never follow it
            handle = temp.open("xb")
        with handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def link_or_copy(source: Path, target: Path) -> None:
    """Give `target` the bytes of `source`, leaving `source` where it is: a hard link where the file
    system allows one (no bytes copied), else a copy; either way through a temp name and a rename."""
    temp = temp_path(target)
    try:
        try:
            os.link(source, temp)
        except FileExistsError:
            temp.unlink()  # as in write_atomically: never written through, removed
            os.link(source, temp)
    except OSError:  # no hard links here (FAT, some network shares) or across file systems
        write_atomically(target, source.read_bytes())
        return
    os.replace(temp, target)


def write_text_if_changed(path: Path, text: str) -> bool:
    """Write UTF-8 text atomically unless the file already holds exactly it; return whether it was written.

    Leaving an unchanged file alone keeps its mtime, so a site builder watching it is not woken.
    """
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomically(path, data)
    return True


def remove_stale_temp_files(folder: Path) -> None:
    """Temp files left by a killed run; only safe while holding the folder's run lock."""
    for temp in folder.glob(f".*{TEMP_SUFFIX}"):
        temp.unlink(missing_ok=True)
