"""The journal's tables, its connections to them, and the rows an event adds."""

from __future__ import annotations

import functools
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.jobs.state import Event, Job

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL,
    step TEXT,
    action TEXT NOT NULL,
    project TEXT NOT NULL,
    owner TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    job TEXT NOT NULL,
    set_aside TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    step TEXT,
    key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id, seq);
"""


def open_writing(path: Path) -> sqlite3.Connection:
    """The writing connection: WAL, every commit synced to disk, the tables made."""
    db = connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(_SCHEMA)
    _add_set_aside(db)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return db


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)


def _add_set_aside(db: sqlite3.Connection) -> None:
    """Journals from before rows were set aside have no column for it."""
    if _has_set_aside(db):
        return
    try:
        db.execute("ALTER TABLE jobs ADD COLUMN set_aside TEXT")
    except sqlite3.OperationalError:
        if not _has_set_aside(db):  # else another process added it at the same moment
            raise


def _has_set_aside(db: sqlite3.Connection) -> bool:
    return any(row[1] == "set_aside" for row in db.execute("PRAGMA table_info(jobs)"))


INSERT_EVENT = "INSERT INTO events (job_id, at, kind, step, key, data) VALUES (?, ?, ?, ?, ?, ?)"
_UPDATE_JOB = "UPDATE jobs SET updated_at = ?, status = ?, step = ?, job = ? WHERE id = ?"
# Several jobs' snapshots in one statement (SQLite 3.33 and later; one each before).
_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33, 0)


@dataclass(frozen=True)
class Appended:
    """An event and the job snapshot it produced, as one write of the journal's thread.

    Called, it writes its two rows. Appends that queue up together are written by
    `write_appended` in two statements whatever their number, with each job's latest
    snapshot only: fewer statements hold the writing thread less often waiting for the GIL."""

    at: float
    event: Event
    job: Job  # the job after the event

    def __call__(self, db: sqlite3.Connection) -> None:
        db.execute(INSERT_EVENT, self.event_row())
        db.execute(_UPDATE_JOB, self.snapshot_row())

    def event_row(self) -> tuple[Any, ...]:
        event = self.event
        data = json.dumps(event.data)
        return (self.job.id, self.at, event.kind, event.step, event.key, data)

    def snapshot_row(self) -> tuple[Any, ...]:
        job = self.job
        return (self.at, job.status, job.step, job.to_text(), job.id)


def write_appended(db: sqlite3.Connection, appended: list[Appended]) -> None:
    """Every event of `appended` in order, and each job's last snapshot among them."""
    if not appended:
        return
    events = [value for one in appended for value in one.event_row()]
    db.execute(_insert_events(len(appended)), events)
    latest = {one.job.id: one for one in appended}
    if len(latest) == 1 or not _UPDATE_FROM:
        db.executemany(_UPDATE_JOB, [one.snapshot_row() for one in latest.values()])
        return
    rows = [value for one in latest.values() for value in one.snapshot_row()]
    db.execute(_update_jobs(len(latest)), rows)


@functools.cache
def _insert_events(count: int) -> str:
    return INSERT_EVENT.replace("(?, ?, ?, ?, ?, ?)", ", ".join(["(?, ?, ?, ?, ?, ?)"] * count))


_UPDATE_JOBS = (
    "UPDATE jobs SET updated_at = v.column1, status = v.column2, step = v.column3, "
    "job = v.column4 FROM (VALUES ROWS) AS v WHERE jobs.id = v.column5"
)


@functools.cache
def _update_jobs(count: int) -> str:
    return _UPDATE_JOBS.replace("ROWS", ", ".join(["(?, ?, ?, ?, ?)"] * count))
