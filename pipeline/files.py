"""The one way gallery writes a file: complete or not at all, never through a link it did not make.

Every file gallery writes (images, manifest, post, state record, captions.toml, preview page, the
run's pid) goes through `write_atomically`, or, for bytes that exist already under another name,
`link_or_copy`: the bytes go to a hidden temp file beside the target, created exclusively (or
linked there), then renamed over the target. A reader or a crash never sees half a file; the
dot prefix keeps an abandoned temp file out of static-site builds and out of photo discovery. The
rename replaces whatever holds the target's name, a planted symbolic link included, and never
writes through it. The journal, the one file appended to, is opened with O_NOFOLLOW (`append_line`),
and the lock file is cleared of a planted link before the lock library opens it
(`clear_planted_link`). The post alone may be written through a link, and only one that stays
inside the site (publish/post.py).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

TEMP_SUFFIX = ".tmp"
# Opening never follows a link in the last component, and never waits on a FIFO planted there.
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def temp_path(path: Path) -> Path:
    """`.name.PID.tmp` beside the target: hidden, and never shared by two processes."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def make_folder(folder: Path, private: bool = False) -> None:
    """Create `folder` and its parents (`private`: for its owner alone). A file where a folder must
    be is named as such, where mkdir would only say "File exists"."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        in_way = (path for path in (*reversed(folder.parents), folder) if path.exists() and not path.is_dir())
        blocking = next(in_way, folder)
        raise NotADirectoryError(errno.ENOTDIR, f"{blocking} is a file, not a folder", str(blocking)) from None
    if private:
        folder.chmod(0o700)


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
    except OSError as error:
        if error.errno not in _NO_HARD_LINK:
            raise
        write_atomically(target, source.read_bytes())
        return
    os.replace(temp, target)


# Why a hard link can fail where a copy works: another file system, or one without hard links (FAT,
# some network shares), or too many links to one file already.
_NO_HARD_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES}


def write_text_if_changed(path: Path, text: str) -> bool:
    """Write UTF-8 text atomically unless the file already holds exactly it; return whether it was written.

    Leaving an unchanged file alone keeps its mtime, so a site builder watching it is not woken.
    Only a regular file counts as holding the text: a link planted at `path` is always replaced,
    even when what it points to holds the same bytes.
    """
    data = text.encode("utf-8")
    if read_regular_file(path) == data:
        return False
    write_atomically(path, data)
    return True


def read_regular_file(path: Path) -> bytes | None:
    """The bytes of the regular file at `path`; None when there is none, or a link or a FIFO is there."""
    try:
        descriptor = os.open(path, os.O_RDONLY | _NO_FOLLOW)
    except OSError:
        return None
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        return handle.read()


def append_line(path: Path, line: str, sync: bool = False) -> None:
    """Append one line of UTF-8 text to a file, creating it; a link or other non-file planted at
    `path` is removed first, never written through. With `sync`, the line is on disk on return."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NO_FOLLOW
    try:
        descriptor = os.open(path, flags, 0o644)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.EMLINK, errno.ENXIO, errno.EISDIR):
            raise
        clear_planted_link(path)
        descriptor = os.open(path, flags | os.O_EXCL, 0o644)
    with open(descriptor, "ab") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        handle.write(line.encode("utf-8"))
        if sync:
            handle.flush()
            os.fsync(descriptor)


def clear_planted_link(path: Path) -> None:
    """Remove a symbolic link, FIFO, socket or device at `path` before gallery opens it for writing.

    A regular file is left alone (it may be another run's lock). A folder is left too: opening it
    then fails with the system's reason.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        path.unlink(missing_ok=True)


def remove_stale_temp_files(folder: Path) -> None:
    """Temp files left by a killed run; only safe while holding the folder's run lock."""
    for temp in folder.glob(f".*{TEMP_SUFFIX}"):
        temp.unlink(missing_ok=True)
