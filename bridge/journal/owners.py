"""Which processes that claimed jobs are still alive: each holds a lock on a file of its own
(flock on Linux and macOS, a byte-range lock on Windows, both through `filelock`), which the
operating system releases when the process dies, even when it is killed."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from filelock import FileLock, Timeout


class Owners:
    """Liveness of the processes that claim jobs, through lock files in one folder."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.token = f"{os.getpid()}-{secrets.token_hex(4)}"
        # Not thread-local: the journal may be closed from another thread than opened it.
        self._lock: FileLock | None = FileLock(
            self._path(self.token), mode=0o600, thread_local=False
        )
        self._lock.acquire()

    def _path(self, token: str) -> Path:
        return self._folder / f"{token}.lock"

    def alive(self, token: str) -> bool:
        if token == self.token:
            return self._lock is not None
        path = self._path(token)
        if not path.exists():
            return False
        # A separate lock object opens the file anew, so an owner in this very process
        # (another Journal) holds it against us just as another process would.
        probe = FileLock(path, thread_local=False)
        try:
            probe.acquire(blocking=False)
        except Timeout:
            return True
        probe.release()
        _remove(path)
        return False

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
            _remove(self._path(self.token))


def _remove(path: Path) -> None:
    # Another process may be probing the same file at this moment (Windows refuses to
    # delete an open file): a lock file left behind is removed by the next probe.
    with contextlib.suppress(OSError):
        path.unlink()
