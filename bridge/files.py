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
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final

from bridge.errors import ProjectError
from bridge.resources import Closeable

log = logging.getLogger(__name__)

# What a new file is written from: its bytes, or its blocks in turn.
Data = bytes | Iterable[bytes | memoryview]

TEMP_SUFFIX = ".tmp"
# Removed as leftovers too: downloads were once written under `.part` names.
LEFTOVER_SUFFIXES = (TEMP_SUFFIX, ".part")

_READ_ONLY = (errno.EROFS,)
_NOT_WRITABLE = (errno.EACCES, errno.EPERM)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)

# Where the OS lacks them (Windows) the folder walk checks each component itself.
NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)
_BINARY: Final = getattr(os, "O_BINARY", 0)
_AT: Final = {os.open, os.link, os.mkdir, os.unlink} <= os.supports_dir_fd
# How often a lock another process holds is tried again (filelock polls; its default is
# 0.05 s). Threads of this process queue on an in-process lock first and never poll.
LOCK_POLL_SECONDS: Final = 0.002
_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()
# Folders only passed through are opened for lookups alone (Linux): a folder one may enter
# but not list still leads to the project, as it does for a path.
_PASS: Final = getattr(os, "O_PATH", os.O_RDONLY)


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


def link_refused(path: Path) -> ProjectError:
    """The refusal of a write that would go through the symbolic link at (or above) `path`."""
    return ProjectError(
        f"{path} is a symbolic link (or passes through one): the bridge writes in a project "
        "only to real files and folders, so that nothing lands outside it; remove the link "
        "(or put the real folder in its place), then retry the job"
    )


class Folder(Closeable):
    """A folder opened for writing, reached without following any symbolic link.

    Open it with `Folder.open` on an absolute, resolved path (`os.path.realpath`), so that
    any link met on the way was planted and is refused. Every file is then opened relative
    to the open folder: what was checked is what is written. A context manager.
    """

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def open(cls, path: Path, *, create: bool = False) -> Folder:
        """The folder `path`, its missing folders made when `create`; ProjectError if any
        component is a link, OSError if the folder cannot be opened."""
        names = path.relative_to(path.anchor).parts
        folder = cls(Path(path.anchor), _open_dir(path.anchor, None, _PASS) if _AT else None)
        for number, name in enumerate(names, start=1):
            try:
                inner = folder.sub(name, create=create, passing=number < len(names))
            finally:
                folder.close()
            folder = inner
        return folder

    def sub(self, name: str, *, create: bool = False, passing: bool = False) -> Folder:
        """The folder `name` in this one, opened the same way; this one stays open.
        `passing`: only to go through (it then needs no read permission, where the OS
        allows), not to write in."""
        path = self.path / name
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(self._at(name), 0o777, dir_fd=self._fd)
        self._refuse_link(name)
        if self._fd is None:
            if not path.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
            return Folder(path, None)
        try:
            return Folder(path, _open_dir(name, self._fd, _PASS if passing else os.O_RDONLY))
        except OSError as exc:
            # A link put there since the check above: ELOOP, or ENOTDIR through O_PATH.
            if exc.errno == errno.ELOOP or self.is_link(name):
                raise link_refused(path) from exc
            raise

    def open_file(self, name: str, flags: int, mode: int = 0o644) -> int:
        """A descriptor for the file `name` in this folder, never opened through a link."""
        self._refuse_link(name)
        try:
            return os.open(self._at(name), flags | NOFOLLOW | _BINARY, mode, dir_fd=self._fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP or (
                isinstance(exc, FileExistsError) and self.is_link(name)
            ):
                raise link_refused(self.path / name) from exc
            raise

    def exists(self, name: str) -> bool:
        """Whether `name` is in this folder; ProjectError if it is a link."""
        self._refuse_link(name)
        try:
            os.stat(self._at(name), dir_fd=self._fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def is_link(self, name: str) -> bool:
        try:
            st = os.stat(self._at(name), dir_fd=self._fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return stat.S_ISLNK(st.st_mode)

    def write_new(self, name: str, data: Data) -> None:
        """`data` (bytes, or blocks written in turn) as the new file `name`: a temporary
        file, fsynced, then hard-linked to `name`. FileExistsError if `name` exists; the
        temporary file is always removed."""
        temp = temp_path(self.path / name).name
        fd = self.open_file(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._publish(temp, name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._at(temp), dir_fd=self._fd)
        self.sync()

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        """An exclusive lock, held while inside, on the file `name` (made if missing).

        Through `filelock` on every system, which opens the lock file without following a
        link at its name; a link there is refused first with the bridge's own message.
        Threads of this process wait their turn on a lock of the process first, woken as
        soon as it is free; only another process's hold is polled for."""
        from filelock import FileLock  # only the writers that lock pay for it

        self._refuse_link(name)
        path = self.path / name
        with (
            _thread_lock(path),
            FileLock(path, thread_local=False, poll_interval=LOCK_POLL_SECONDS),
        ):
            yield

    def sync(self) -> None:
        """Flush this folder's entries to disk (best effort, as `fsync_dir`)."""
        if self._fd is None:
            fsync_dir(self.path)
            return
        with contextlib.suppress(OSError):
            os.fsync(self._fd)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _at(self, name: str) -> str:
        # With a folder descriptor, names are relative to it; without one, whole paths.
        return name if self._fd is not None else str(self.path / name)

    def _refuse_link(self, name: str) -> None:
        if self.is_link(name):
            raise link_refused(self.path / name)

    def _publish(self, temp: str, name: str) -> None:
        fd = self._fd
        try:
            os.link(self._at(temp), self._at(name), src_dir_fd=fd, dst_dir_fd=fd)
        except FileExistsError:
            self._refuse_link(name)
            raise
        except OSError:
            # Filesystems without hard links: rename, having checked just before.
            if self.exists(name):
                raise FileExistsError(
                    errno.EEXIST, "already exists", str(self.path / name)
                ) from None
            os.rename(self._at(temp), self._at(name), src_dir_fd=fd, dst_dir_fd=fd)


def write_new_in(dest: Path, data: Data) -> None:
    """Write the new file `dest` (an absolute, resolved path) through a `Folder`:
    FileExistsError if it exists, ProjectError if a link is met on the way."""
    with Folder.open(dest.parent) as folder:
        folder.write_new(dest.name, data)


def _open_dir(name: str, dir_fd: int | None, access: int) -> int:
    return os.open(name, access | _DIRECTORY | NOFOLLOW, dir_fd=dir_fd)


def _write_all(fd: int, data: Data) -> None:
    for chunk in (data,) if isinstance(data, bytes) else data:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


def remove_leftovers(folder: Path, pattern: str) -> list[Path]:
    """Remove the temporary files named like `pattern` (a glob, not recursive) that writes
    cut short by a stop left in `folder`: only regular files, never a link's target."""
    removed: list[Path] = []
    for path in sorted(folder.glob(pattern)):
        if path.suffix == TEMP_SUFFIX and path.is_file() and not path.is_symlink():
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
    fd = os.open(path, os.O_RDWR | NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _thread_lock(path: Path) -> threading.Lock:
    """The lock this process's threads share for the lock file at `path`."""
    key = os.path.normcase(os.path.abspath(path))
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())
