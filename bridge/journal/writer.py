"""The journal's writing thread: every write is committed there, in the order handed in.

Writes that queue up while a commit is on its way are committed together, in one
transaction (each in a savepoint of its own, so one that fails leaves the others whole),
and none of it runs on the thread that handed them in. A write's future cannot be
cancelled, so what was handed in is always written, in order.

Every transaction is committed with `synchronous=NORMAL`: in WAL mode, written to the
operating system, which keeps it when the process is killed, and on disk once the WAL is
synced. A `synced` write's future is done once the WAL holding its commit is synced to
disk (`os.fsync` of the `-wal` file, what `synchronous=FULL` does at each commit): that
is done by a second thread, so the commits behind it do not wait for the disk, and one
sync covers every commit before it. The others' futures are done at their commit. What
survives a power cut is always every write up to some point, never a later write without
an earlier one (SQLite reads a WAL back up to its last whole commit).
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], T]
Outcome = tuple[bool, Any]  # (True, what the write returned) or (False, its exception)

BATCH_MAX = 64  # writes per transaction at most


@dataclass(frozen=True)
class _Pending:
    write: Write[Any]
    future: Future[Any]
    synced: bool


class Writer:
    """One thread that owns the journal's writing connection (to the database `path`)."""

    def __init__(self, db: sqlite3.Connection, path: Path, name: str = "journal") -> None:
        self._db = db
        self._name = name
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._closed = False
        self._normal = False  # the connection is at synchronous=NORMAL, once this thread set it
        self._syncer = _Syncer(Path(f"{path}-wal"), name=f"{name} sync")

    def submit(self, write: Write[T], *, synced: bool = True) -> Future[T]:
        """Queue `write` (called with the connection, inside a transaction); `synced`:
        its future is done once its commit is synced to disk."""
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

    @property
    def syncs(self) -> int:
        """How many times the WAL was synced to disk for a `synced` write."""
        return self._syncer.syncs

    def close(self) -> None:
        """Commit (and sync) everything queued so far, then stop the threads."""
        with self._start:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._syncer.close()

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
        outcomes: list[Outcome] = []
        try:
            if not self._normal:
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._normal = True
            self._db.execute("BEGIN IMMEDIATE")
            try:
                outcomes = [self._one(pending.write) for pending in batch]
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except BaseException as exc:  # every future learns why, and the thread goes on
            if self._db.in_transaction:
                self._rollback()
            log.debug("journal transaction of %d write(s) failed: %s", len(batch), exc)
            outcomes = [(False, exc)] * len(batch)
        synced = []
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.synced and outcome[0]:
                synced.append((pending.future, outcome))
            else:
                _settle(pending.future, outcome)
        if synced:
            self._syncer.sync(synced)

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.debug("journal rollback failed: %s", exc)

    def _one(self, write: Write[Any]) -> Outcome:
        self._db.execute("SAVEPOINT one")
        try:
            value = write(self._db)
        except Exception as exc:
            self._db.execute("ROLLBACK TO one")
            self._db.execute("RELEASE one")
            return False, exc
        self._db.execute("RELEASE one")
        return True, value


class _Syncer:
    """A thread that syncs the WAL to disk, then completes the futures waiting for it;
    the futures that queue up while it syncs share the next sync."""

    def __init__(self, wal: Path, name: str) -> None:
        self._wal = wal
        self._name = name
        self._queue: queue.SimpleQueue[list[tuple[Future[Any], Outcome]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self.syncs = 0

    def sync(self, waiting: list[tuple[Future[Any], Outcome]]) -> None:
        """Complete `waiting` once everything committed so far is on disk (called from
        the writing thread, after the commit)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        self._queue.put(waiting)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        if self._fd is not None:
            os.close(self._fd)  # before the database closes: the last connection removes the WAL
            self._fd = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            waiting, stop = list(first), False
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                waiting += more
            failed = self._fsync()
            for future, outcome in waiting:
                _settle(future, outcome if failed is None else (False, failed))
            if stop:
                return

    def _fsync(self) -> sqlite3.Error | None:
        """Sync the WAL to disk; the error (as SQLite's own) if it could not be."""
        try:
            if self._fd is None:
                # Opened for writing: Windows flushes only through a handle that may write.
                self._fd = os.open(self._wal, os.O_RDWR | getattr(os, "O_BINARY", 0))
            os.fsync(self._fd)
        except OSError as exc:
            log.debug("syncing %s failed: %s", self._wal, exc)
            return sqlite3.OperationalError(f"cannot sync {self._wal} to disk: {exc}")
        self.syncs += 1
        return None


def _settle(future: Future[Any], outcome: Outcome) -> None:
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
