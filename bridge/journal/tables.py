"""The journal's tables and its connections to them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
