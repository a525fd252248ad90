"""Fault injection: a process that kills itself the moment its journal has committed an
event, as `kill -9` would, to test what a restart makes of every point of a job.

`PRODUCER_BRIDGE_KILL_AFTER=KIND:STEP:N` (e.g. `done:upload:1`, `intent:generate:1`): once
a commit leaves N events of that kind and step in the journal, the writing thread sends the
process SIGKILL before anything else learns of the commit, so no later step of the job
begins. Unset, nothing is checked.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Callable, Mapping
from typing import NoReturn

from bridge.errors import JournalError

ENV_KILL_AFTER = "PRODUCER_BRIDGE_KILL_AFTER"

AfterCommit = Callable[[sqlite3.Connection], None]


def kill_point(environ: Mapping[str, str] = os.environ) -> AfterCommit | None:
    """What to check after each commit, when ENV_KILL_AFTER is set."""
    spec = environ.get(ENV_KILL_AFTER, "")
    if not spec:
        return None
    kind, step, count = _parse(spec)

    def after_commit(db: sqlite3.Connection) -> None:
        query = "SELECT COUNT(*) FROM events WHERE kind = ? AND step = ?"
        (found,) = db.execute(query, (kind, step)).fetchone()
        if found >= count:
            _die()

    return after_commit


def _parse(spec: str) -> tuple[str, str, int]:
    kind, _, rest = spec.partition(":")
    step, _, count = rest.partition(":")
    if not (kind and step and count.isdigit() and int(count) > 0):
        raise JournalError(
            f"{ENV_KILL_AFTER} must be KIND:STEP:N, e.g. done:upload:1, not {spec!r}"
        )
    return kind, step, int(count)


def _die() -> NoReturn:
    kill = getattr(signal, "SIGKILL", None)  # not on Windows
    if kill is not None:
        os.kill(os.getpid(), kill)
    os._exit(137)
