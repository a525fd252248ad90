"""Atomic file primitives: a hidden temporary name, fsync, then publish without replacing.

A reader (the DAW, a file browser, another job) must never see a half-written file,
and a result must never replace a file the user already has. So every file is written
under a hidden temporary name beside its destination, flushed to disk, and then put in
place by a hard link, which fails instead of replacing anything. An OSError met on the
way becomes one ProjectError that says what to do (`translate_os_error`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from bridge.errors import ProjectError

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"
# Removed as leftovers too: downloads were once written under `.part` names.
LEFTOVER_SUFFIXES = (TEMP_SUFFIX, ".part")

_READ_ONLY = (errno.EROFS,)
_NOT_WRITABLE = (errno.EACCES, errno.EPERM)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries to disk, so a published name survives a power cut."""
    if os.name == "nt":
        # Windows cannot open a folder as a file, and NTFS journals its folder entries
        # itself: nothing to do there.
        return
    # Some filesystems cannot open or fsync a folder: best effort.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def temp_path(dest: Path) -> Path:
    """A hidden, unique temporary name in the same folder as `dest` (same filesystem):
    the one scheme for every file the bridge writes."""
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def publish(temp: Path, dest: Path) -> None:
    """Put a finished, fsynced `temp` file at `dest`, never replacing an existing file.

    Raises FileExistsError when `dest` exists; callers translate it into their own error.
    """
    try:
        os.link(temp, dest)
    except FileExistsError:
        raise
    except OSError:
        # Filesystems without hard links: rename, having checked just before. The window
        # between the check and the rename is the best such a filesystem allows.
        if dest.exists():
            raise FileExistsError(f"{dest} already exists") from None
        os.rename(temp, dest)
    else:
        temp.unlink()
    fsync_dir(dest.parent)


def write_atomic(dest: Path, write: Callable[[Path], None]) -> None:
    """Fill a temporary file with `write(temp)`, flush it, and publish it at `dest`.

    Raises FileExistsError if `dest` exists, before writing anything or at publishing.
    The temporary file is removed whatever happens.
    """
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")
    temp = temp_path(dest)
    try:
        write(temp)
        _fsync_file(temp)
        publish(temp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    """Write `data` to `dest` atomically; raises FileExistsError if `dest` exists."""
    write_atomic(dest, lambda temp: _write_new(temp, data))


def replace_bytes_atomic(dest: Path, data: bytes) -> None:
    """Write `data` over `dest` so that a reader sees the old or the new file, never a part.

    For files the bridge owns and rewrites (a status view), never for a user's or a result."""
    temp = temp_path(dest)
    try:
        _write_new(temp, data)
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)


def remove_temporaries(folder: Path) -> list[Path]:
    """Remove hidden temporary files left anywhere under `folder` by an interrupted write."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.rglob(".*")):
        if path.suffix in LEFTOVER_SUFFIXES and path.is_file() and not path.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
                log.info("removed leftover temporary file %s", path)
    return removed


def translate_os_error(exc: OSError, folder: Path) -> ProjectError:
    """One ProjectError, saying what to do, for an OSError met while writing in `folder`."""
    if isinstance(exc, FileExistsError):
        name = exc.filename or folder
        return ProjectError(f"{name} already exists; results never overwrite a file")
    if exc.errno in _NO_SPACE:
        return ProjectError(
            f"no space left on the device holding {folder}: free some space, then retry the job"
        )
    if exc.errno in _READ_ONLY:
        return ProjectError(
            f"{folder} is read-only: choose a project folder on a writable disk "
            "(or remount it writable), then retry the job"
        )
    if exc.errno in _NOT_WRITABLE:
        return ProjectError(
            f"{folder} is not writable: give your user write permission on it "
            "(or choose another project folder), then retry the job"
        )
    if exc.errno == errno.ENOENT:
        return ProjectError(f"{folder} does not exist: create it, then retry the job")
    return ProjectError(f"cannot write in {folder}: {exc}; fix the cause, then retry the job")


def _write_new(path: Path, data: bytes) -> None:
    # "xb": the temporary name is fresh; finding something there means a clash, not reuse.
    with path.open("xb") as out:
        out.write(data)


def _fsync_file(path: Path) -> None:
    # Opened for writing: Windows flushes only through a handle that may write.
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
