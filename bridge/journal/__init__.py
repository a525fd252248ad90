"""The job journal: SQLite in WAL mode; events are committed in the order handed in.

Each event is stored together with the job snapshot it produced, in one
transaction, so a crash leaves either both or neither. Writes are committed on the
journal's own thread (`journal.writer`), several at a time when they queue up; reads
have a connection of their own and see what is committed. Jobs are claimed by the
process that runs them; an owner is alive while it holds a lock on its own lock
file (`journal.owners`), which the operating system releases when the process dies, even
when it is killed.

A job hands its events in and goes on (`append`); it waits for a commit only where what
it does next could not be redone from an earlier point: a billed create's intent
(`SYNCED`: synced to disk), after every event before it and before the request is sent,
so that it is never sent twice without a person; its answer (synced), before a stop lets
the job go (the task is polled meanwhile: a poll changes nothing); the results folder's
name, before the folder is made; the write step's events, before notify tells the
listeners; the job's ending, before it counts as finished and its work folder is removed.

Commits keep the order events were handed in, so a crash loses at most the events after
the last commit (a kill keeps every commit; a power cut, those up to the last sync). The
job then resumes from an earlier checkpoint and does again only what costs nothing (polls
a known task, sends an unbilled create again, fetches a file again, keeps a file it finds
in the project): it never sends a billed create twice and never loses a result.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError

from bridge.errors import JobError, JournalError
from bridge.errors.describe import describe_errors
from bridge.jobs.model import JobRequest
from bridge.jobs.state import (
    UNFINISHED,
    Event,
    EventKind,
    Job,
    Step,
    apply,
    is_billed,
    new_job,
)
from bridge.journal.owners import Owners
from bridge.journal.tables import INSERT_EVENT, Appended, connect, open_writing
from bridge.journal.writer import Write, Writer
from bridge.resources import Closeable

log = logging.getLogger(__name__)

T = TypeVar("T")

# Committed with synchronous=FULL when their create may be billed: the record of a paid
# create, sent or answered, must survive anything, so that it is never sent twice.
SYNCED: Final = frozenset({EventKind.INTENT, EventKind.SUBMITTED})


@dataclass(frozen=True)
class SetAside:
    """A job row this bridge cannot read: kept as it is, for a person, and skipped."""

    id: str
    status: str
    reason: str

    @property
    def short_id(self) -> str:
        return self.id[:8]


@dataclass(frozen=True)
class EventRecord:
    at: float
    kind: EventKind
    step: Step | None
    key: str | None
    data: dict[str, Any]


class _EventRow(BaseModel):
    """A row of the events table; `data` is the event's data as JSON text."""

    model_config = ConfigDict(frozen=True, strict=True)

    at: float
    kind: Annotated[EventKind, Field(strict=False)]
    step: Annotated[Step, Field(strict=False)] | None
    key: str | None
    data: Json[dict[str, Any]]


class Journal(Closeable):
    """Every job and everything that happened to it. A context manager."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The writing connection belongs to the writer's thread once it has started.
            self._db = open_writing(path)
            self._reader = connect(path)  # any thread, one at a time (`_lock`)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"cannot open the job journal {path}: {exc}") from exc
        self.owners = Owners(path.parent / "owners")
        self._writer = Writer(self._db, name=f"journal {path.name}")
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        """Commit every write handed in so far, then close."""
        if not self._closed:
            self._closed = True
            self._writer.close()
            self.owners.close()
            self._reader.close()
            self._db.close()

    def _submit(self, write: Write[T], *, synced: bool = True) -> Future[T]:
        if self._closed:
            raise JournalError(f"cannot write the job journal {self.path}: it is closed")
        return self._writer.submit(write, synced=synced)

    def _write(self, write: Write[T]) -> T:
        """Commit `write` on the journal's thread and wait for it."""
        return self.wait(self._submit(write))

    def wait(self, future: Future[T]) -> T:
        """What a write handed to the journal's thread returned, once it is committed."""
        try:
            return future.result()
        except sqlite3.Error as exc:
            raise JournalError(f"cannot write the job journal {self.path}: {exc}") from exc

    async def committed(self, future: Future[T]) -> T:
        """`wait`, without holding up the event loop. Cancelling the caller does not
        cancel the write: it is committed all the same, in its turn."""
        try:
            return await asyncio.shield(asyncio.wrap_future(future))
        except sqlite3.Error as exc:
            raise JournalError(f"cannot write the job journal {self.path}: {exc}") from exc

    # Writing --------------------------------------------------------------------

    def create(self, request: JobRequest, *, owner: bool = False) -> Job:
        """Journal a new queued job (claimed by this process when `owner`)."""
        at = self._clock()
        job = new_job(secrets.token_hex(8), request, at)
        owned = self.owners.token if owner else None

        def write(db: sqlite3.Connection) -> None:
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()
            db.execute(
                "INSERT INTO jobs (id, seq, created_at, updated_at, status, step, action, "
                "project, owner, job) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    seq,
                    at,
                    at,
                    job.status,
                    None,
                    request.action,
                    request.project,
                    owned,
                    job.to_text(),
                ),
            )
            db.execute(INSERT_EVENT, Appended(at, Event(EventKind.QUEUED), job).event_row())

        self._write(write)
        return job

    def record(self, job: Job, event: Event) -> Job:
        """Apply `event` and commit it with the new snapshot; return the new job."""
        new, written = self.append(job, event)
        self.wait(written)
        return new

    def append(self, job: Job, event: Event) -> tuple[Job, Future[None]]:
        """The job after `event` (JobError if it cannot take it), now; the event and the
        new snapshot are committed on the journal's thread after every write handed in
        before them, and the future is done once they are (`wait`, `committed`): synced to
        disk for the events of a paid create (`SYNCED`), and for the others written where
        a killed process keeps them (`journal.writer`)."""
        at = self._clock()
        try:
            new = apply(job, event, at)
        except ValueError as exc:
            raise JobError(str(exc)) from exc

        synced = event.kind in SYNCED and is_billed(event.key)
        return new, self._submit(Appended(at, event, new), synced=synced)

    def claim(self, job_id: str) -> bool:
        """Make this process the job's runner, unless a live process already is."""

        def write(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobError(f"no job {job_id}")
            (owner,) = row
            if owner and owner != self.owners.token and self.owners.alive(owner):
                return False
            db.execute("UPDATE jobs SET owner = ? WHERE id = ?", (self.owners.token, job_id))
            return True

        return self._write(write)

    def release(self, job_id: str) -> None:
        self.wait(self.releasing(job_id))

    def releasing(self, job_id: str) -> Future[None]:
        """`release`, handed to the journal's thread: done once committed."""

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE jobs SET owner = NULL, cancel_requested = 0 WHERE id = ? AND owner = ?",
                (job_id, self.owners.token),
            )

        return self._submit(write, synced=False)  # lost in a power cut: claimable again

    def running_elsewhere(self, job_id: str) -> bool:
        row = self._read("SELECT owner FROM jobs WHERE id = ?", (job_id,))
        owner = row[0][0] if row else None
        return owner is not None and owner != self.owners.token and self.owners.alive(owner)

    def request_cancel(self, job_id: str) -> None:
        sql = "UPDATE jobs SET cancel_requested = 1 WHERE id = ?"
        self._write(lambda db: db.execute(sql, (job_id,)))

    def cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        if not job_ids:
            return set()
        marks = ",".join("?" * len(job_ids))
        rows = self._read(
            f"SELECT id FROM jobs WHERE cancel_requested = 1 AND id IN ({marks})",  # noqa: S608
            tuple(job_ids),
        )
        return {row[0] for row in rows}

    def prunable(self, before: float, statuses: Sequence[str]) -> list[Job]:
        """The jobs `prune` would delete now, oldest first; nothing is deleted."""
        where, args = _prunable(before, statuses)
        return self._readable(f"WHERE {where} ORDER BY seq", args)

    def prune(
        self, before: float, statuses: Sequence[str], only: Collection[str] | None = None
    ) -> list[Job]:
        """Delete jobs in `statuses` last changed before `before` (of `only`, when given:
        the ones a person agreed to); return them. A job that changed meanwhile stays."""
        where, args = _prunable(before, statuses)
        chosen = [job for job in self.prunable(before, statuses) if only is None or job.id in only]
        delete = f"DELETE FROM jobs WHERE id = ? AND {where}"  # noqa: S608
        return self._write(
            lambda db: [job for job in chosen if db.execute(delete, (job.id, *args)).rowcount]
        )

    # Reading --------------------------------------------------------------------

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._reader.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"cannot read the job journal {self.path}: {exc}") from exc

    def get(self, ref: str) -> Job:
        """A job by its id or an unambiguous start of it (at least 4 characters)."""
        ref = ref.strip().lower()
        if len(ref) < 4:
            raise JobError(f"job id {ref!r} is too short: give at least 4 characters")
        rows = self._read(
            "SELECT job FROM jobs WHERE substr(id, 1, length(?)) = ? LIMIT 2", (ref, ref)
        )
        if not rows:
            raise JobError(f"no job {ref}: `producer-bridge jobs` lists them")
        if len(rows) > 1:
            raise JobError(f"job id {ref} is ambiguous: give more characters")
        return _job(rows[0][0])

    def events(self, job_id: str) -> list[EventRecord]:
        rows = self._read(
            "SELECT at, kind, step, key, data FROM events WHERE job_id = ? ORDER BY seq",
            (job_id,),
        )
        return [_event(*row) for row in rows]

    def by_source(self, source: str) -> Job | None:
        """The job a source (a dropped file) became, if any."""
        # json_valid first: one row that is not JSON must not stop every other lookup.
        rows = self._read(
            "SELECT job FROM jobs WHERE CASE WHEN json_valid(job) "
            "THEN json_extract(job, '$.request.source') END = ? LIMIT 1",
            (source,),
        )
        return _job(rows[0][0]) if rows else None

    def jobs(self, limit: int | None = None) -> list[Job]:
        """Newest first; rows this bridge cannot read are set aside (`set_aside`)."""
        return self._readable("ORDER BY seq DESC LIMIT ?", (limit or -1,))

    def created_since(self, at: float) -> list[Job]:
        """The jobs created at `at` or later, oldest first (the ledger, the spend guard)."""
        return self._readable("WHERE created_at >= ? ORDER BY seq", (at,))

    def unfinished(self) -> list[Job]:
        """Queued and running jobs, oldest first (the queue's order); rows this bridge
        cannot read are set aside, so that one of them never stops the queue."""
        marks = ",".join("?" * len(UNFINISHED))
        return self._readable(
            f"WHERE status IN ({marks}) AND set_aside IS NULL ORDER BY seq", UNFINISHED
        )

    def set_aside(self) -> list[SetAside]:
        """The rows this bridge could not read, oldest first; their data is kept as it was."""
        rows = self._read(
            "SELECT id, status, set_aside FROM jobs WHERE set_aside IS NOT NULL ORDER BY seq"
        )
        return [SetAside(*row) for row in rows]

    def _readable(self, where: str, args: tuple[Any, ...]) -> list[Job]:
        """The jobs of the rows selected by `where` that can be read; the others are
        reported and marked, and nothing else about them changes."""
        rows = self._read(f"SELECT id, job, set_aside FROM jobs {where}", args)  # noqa: S608
        jobs = []
        for job_id, text, aside in rows:
            try:
                jobs.append(_job(text))
            except JournalError as exc:
                if aside is None:
                    self._put_aside(job_id, exc.message)
        return jobs

    def _put_aside(self, job_id: str, reason: str) -> None:
        log.error(
            "job %s cannot be read by this version of producer-bridge, so it is set aside "
            "(its row is kept in %s): %s",
            job_id,
            self.path,
            reason,
        )
        sql = "UPDATE jobs SET set_aside = ? WHERE id = ?"
        try:
            self._write(lambda db: db.execute(sql, (reason, job_id)))
        except JournalError as exc:
            log.error("job %s could not be marked as set aside: %s", job_id, exc.message)


def _prunable(before: float, statuses: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
    marks = ",".join("?" * len(statuses))
    where = f"updated_at < ? AND status IN ({marks}) AND owner IS NULL AND set_aside IS NULL"
    return where, (before, *statuses)


def _job(text: str) -> Job:
    """A job snapshot from its row; JournalError (naming the field) if it cannot be read."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise JournalError(f"a journaled job is not JSON: {exc}") from exc
    return Job.from_json(data)


def _event(at: float, kind: str, step: str | None, key: str | None, data: str) -> EventRecord:
    try:
        row = _EventRow.model_validate(
            {"at": at, "kind": kind, "step": step, "key": key, "data": data}
        )
    except ValidationError as exc:
        issues = "; ".join(str(issue) for issue in describe_errors(exc, _EventRow, {}))
        raise JournalError(f"a journaled event cannot be read: {issues}") from exc
    return EventRecord(row.at, row.kind, row.step, row.key, row.data)
