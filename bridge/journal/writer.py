"""The journal's writing thread: every write is committed there, in the order handed in.

Writes that queue up while a commit is on its way to the disk are committed together, in
one transaction, and none of it runs on the thread that handed them in. The events they
append are written in two statements (`tables.write_appended`); any other write in a
savepoint of its own. When the appends' statements fail, the transaction is rolled back
and run again with each write in a savepoint of its own, so one that fails leaves the
others whole. A write's future is done
once its transaction is committed; it cannot be cancelled, so what was handed in is always
written, in order.

A transaction holding a `synced` write is committed with `synchronous=FULL`: synced to
disk before its futures are done, so it survives a power cut. The others are committed
with `synchronous=NORMAL` (in WAL mode: written to the operating system, which keeps them
when the process is killed, and synced with the next FULL commit or checkpoint), so what
survives a power cut is always everything up to some write, never a later write without
an earlier one.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from bridge.journal.crash import AfterCommit, kill_point
from bridge.journal.tables import Appended, write_appended

log = logging.getLogger(__name__)

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], T]

BATCH_MAX = 64  # writes per transaction at most


@dataclass(frozen=True)
class _Pending:
    write: Write[Any]
    future: Future[Any]
    synced: bool


class Writer:
    """One thread that owns the journal's writing connection."""

    def __init__(
        self,
        db: sqlite3.Connection,
        name: str = "journal",
        after_commit: AfterCommit | None = None,
    ) -> None:
        self._db = db
        # Checked after every commit; by default the fault injection of `crash.py`, if set.
        self._after_commit = kill_point() if after_commit is None else after_commit
        self._name = name
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._closed = False
        self._level = ""  # the connection's synchronous setting, once this thread set it

    def submit(self, write: Write[T], *, synced: bool = True) -> Future[T]:
        """Queue `write` (called with the connection, inside a transaction); `synced`:
        committed with synchronous=FULL."""
        future: Future[T] = Future()
        future.set_running_or_notify_cancel()  # from now on it cannot be cancelled
        with self._start:
            if self._closed:
                raise RuntimeError("the journal is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(_Pending(write, future, synced))
        return future

    def close(self) -> None:
        """Commit everything queued so far, then stop the thread."""
        with self._start:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = [first], False
            while len(batch) < BATCH_MAX:
                try:
                    pending = self._queue.get_nowait()
                except queue.Empty:
                    break
                if pending is None:
                    stop = True
                    break
                batch.append(pending)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Pending]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        level = "FULL" if any(pending.synced for pending in batch) else "NORMAL"
        try:
            if level != self._level:
                self._db.execute(f"PRAGMA synchronous={level}")
                self._level = level
            self._db.execute("BEGIN IMMEDIATE")
            try:
                outcomes = self._merged(batch)
            except Exception as exc:  # appends written together failed: one at a time
                log.debug("journal writes merged failed (%s); each in a savepoint", exc)
                self._db.execute("ROLLBACK")
                self._db.execute("BEGIN IMMEDIATE")
                outcomes = self._each(batch)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            if self._after_commit is not None:
                self._after_commit(self._db)
        except BaseException as exc:  # every future learns why, and the thread goes on
            if self._db.in_transaction:
                self._rollback()
            log.debug("journal transaction of %d write(s) failed: %s", len(batch), exc)
            outcomes = [(False, exc)] * len(batch)
        for pending, (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)

    def _merged(self, batch: list[_Pending]) -> list[tuple[bool, Any]]:
        """The batch with its appends written together (`write_appended`); any other
        write in a savepoint of its own, after the appends handed in before it."""
        outcomes: list[tuple[bool, Any]] = []
        appended: list[Appended] = []
        for pending in batch:
            if isinstance(pending.write, Appended):
                appended.append(pending.write)
                outcomes.append((True, None))
                continue
            write_appended(self._db, appended)
            appended = []
            outcomes.append(self._one(pending.write))
        write_appended(self._db, appended)
        return outcomes

    def _each(self, batch: list[_Pending]) -> list[tuple[bool, Any]]:
        return [self._one(pending.write) for pending in batch]

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.debug("journal rollback failed: %s", exc)

    def _one(self, write: Write[Any]) -> tuple[bool, Any]:
        self._db.execute("SAVEPOINT one")
        try:
            value = write(self._db)
        except Exception as exc:
            self._db.execute("ROLLBACK TO one")
            self._db.execute("RELEASE one")
            return False, exc
        self._db.execute("RELEASE one")
        return True, value
