"""What the watcher learns of a path without trusting it: a stat's signature, a bounded read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bridge.errors import Issue, RequestError
from bridge.jobs.wire import MAX_JSON_BYTES
from bridge.watch.drop import Signature


def signature(path: Path) -> Signature | None:
    """The size and mtime of a regular file; None if it is gone or not a regular file."""
    try:
        return from_stat(path.stat())
    except (OSError, ValueError):
        return None


def from_stat(st: os.stat_result) -> Signature:
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"not a regular file (mode {st.st_mode:o})")
    return Signature(st.st_size, st.st_mtime_ns)


def read(path: Path) -> bytes:
    """At most one byte more than a request may hold, so an oversized file is told apart."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise RequestError([Issue("", f"cannot read {path.name}: {exc.strerror or exc}")]) from exc
