"""The journal's writing thread, on a real SQLite file: writes that queue up share one
commit, in order; a paid create's events are synced to disk; a caller that stops waiting
does not stop its write; an event a job notes is known at once and committed in its turn."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.errors import JournalError
from bridge.jobs.model import JobRequest
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import Event, EventKind, Job
from bridge.journal import Journal, tables
from bridge.pipeline.recording import Recorder
from tests.waiting import wait_until

FULL, NORMAL = 2, 1


def create_request(project: Path) -> JobRequest:
    return JobRequest(
        AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),)), project=str(project)
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "jobs.sqlite3"


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another connection holds the database's write lock for as long as the block lasts."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


def statements(journal: Journal) -> list[str]:
    """Every statement the journal's writing connection runs from now on."""
    seen: list[str] = []
    journal._db.set_trace_callback(seen.append)
    return seen


def kinds(journal: Journal, job: Job) -> list[str]:
    return [record.kind for record in journal.events(job.id)]


def test_writes_that_queue_up_behind_a_commit_share_the_next_one_in_order(
    db_path: Path, tmp_path: Path
) -> None:
    with Journal(db_path) as journal:
        job = journal.create(create_request(tmp_path))
        seen = statements(journal)
        with write_lock_held(db_path):
            pending = []
            for index in range(10):
                job, written = journal.append(
                    job, Event(EventKind.STATUS, data={"status": str(index)})
                )
                pending.append(written)
            assert not any(written.done() for written in pending)
        for written in pending:
            journal.wait(written)
        statuses = [record.data["status"] for record in journal.events(job.id)[1:]]
        assert statuses == [str(index) for index in range(10)]
        assert journal.get(job.id) == job
        assert 1 <= seen.count("COMMIT") <= 2  # not one per event


def test_events_of_several_jobs_handed_in_together_are_written_in_a_few_statements(
    db_path: Path, tmp_path: Path
) -> None:
    with Journal(db_path) as journal:
        jobs = [journal.create(create_request(tmp_path)) for _ in range(3)]
        seen = statements(journal)
        pending = []
        with write_lock_held(db_path):
            for index in range(12):
                which = index % 3
                jobs[which], written = journal.append(
                    jobs[which], Event(EventKind.STATUS, data={"status": str(index)})
                )
                pending.append(written)
        for written in pending:
            journal.wait(written)
        for which, job in enumerate(jobs):
            statuses = [record.data["status"] for record in journal.events(job.id)[1:]]
            assert statuses == [str(index) for index in range(which, 12, 3)]
            assert journal.get(job.id) == job  # each job's last snapshot
        inserts = [sql for sql in seen if sql.startswith("INSERT INTO events")]
        assert 1 <= len(inserts) <= 2  # the first commit may hold only the first event
        updates = [sql for sql in seen if sql.startswith("UPDATE jobs")]
        assert len(updates) <= 2 * len(inserts)
        assert any("FROM (VALUES" in sql for sql in updates)  # three jobs' in one statement


def test_snapshots_are_written_one_job_at_a_time_where_sqlite_cannot_update_from(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "_UPDATE_FROM", False)  # as with SQLite before 3.33
    with Journal(db_path) as journal:
        jobs = [journal.create(create_request(tmp_path)) for _ in range(3)]
        seen = statements(journal)
        with write_lock_held(db_path):
            # The first may be committed alone; the others queue up behind it together.
            appended = [journal.append(job, Event(EventKind.STARTED, "generate")) for job in jobs]
        for job, written in appended:
            journal.wait(written)
            assert journal.get(job.id) == job
            assert kinds(journal, job) == ["queued", "started"]
        assert [sql for sql in seen if sql.startswith("UPDATE jobs")] != []
        assert not any("FROM (VALUES" in sql for sql in seen)


def unknown_job(job: Job) -> tuple[Job, Event]:
    """A job the journal does not hold: its event breaks the foreign key."""
    ghost = Job.from_json({**job.to_json(), "id": "0" * 16})
    return ghost, Event(EventKind.STATUS, data={"status": "lost"})


def data_beyond_json(job: Job) -> tuple[Job, Event]:
    return job, Event(EventKind.STATUS, data={"status": object()})


@pytest.mark.parametrize(
    ("bad", "error"), [(unknown_job, JournalError), (data_beyond_json, TypeError)]
)
def test_a_write_that_fails_leaves_the_others_of_its_commit_whole(
    db_path: Path,
    tmp_path: Path,
    bad: Callable[[Job], tuple[Job, Event]],
    error: type[Exception],
) -> None:
    with Journal(db_path) as journal:
        job = journal.create(create_request(tmp_path))
        with write_lock_held(db_path):  # the three queue up and are written together
            job, a = journal.append(job, Event(EventKind.STATUS, data={"status": "pending"}))
            _, b = journal.append(*bad(job))
            job, c = journal.append(job, Event(EventKind.STATUS, data={"status": "running"}))
        journal.wait(a)
        with pytest.raises(error):
            journal.wait(b)
        journal.wait(c)
        statuses = [record.data["status"] for record in journal.events(job.id)[1:]]
        assert statuses == ["pending", "running"]
        assert journal.get(job.id) == job
        assert journal.events("0" * 16) == []


def test_a_paid_creates_events_are_synced_to_disk_and_the_others_are_not(
    db_path: Path, tmp_path: Path
) -> None:
    with Journal(db_path) as journal:

        def level_after(job: Job, event: Event) -> tuple[Job, int]:
            job = journal.record(job, event)
            (level,) = journal._db.execute("PRAGMA synchronous").fetchone()
            return job, level

        job = journal.record(journal.create(create_request(tmp_path)), Event("started", "generate"))
        job, intent = level_after(job, Event(EventKind.INTENT, "generate", "generate"))
        job, status = level_after(
            job, Event(EventKind.STATUS, "generate", "generate", {"status": "pending"})
        )
        job, submitted = level_after(
            job, Event(EventKind.SUBMITTED, "generate", "generate", {"taskId": "t-1"})
        )
        job, unbilled = level_after(job, Event(EventKind.INTENT, "generate", "result:1"))
        assert (intent, status, submitted, unbilled) == (FULL, NORMAL, FULL, NORMAL)


def test_a_caller_that_stops_waiting_does_not_stop_its_write(db_path: Path, tmp_path: Path) -> None:
    with Journal(db_path) as journal:
        job = journal.create(create_request(tmp_path))

        async def waiter() -> None:
            _, written = journal.append(job, Event(EventKind.STARTED, step="generate"))
            await journal.committed(written)

        async def cancelled_while_waiting() -> None:
            task = asyncio.create_task(waiter())
            await asyncio.sleep(0)  # the event is handed in; its commit waits for the lock
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        with write_lock_held(db_path):
            asyncio.run(cancelled_while_waiting())
        wait_until(lambda: kinds(journal, job) == ["queued", "started"], within=30.0)
        assert journal.get(job.id).step == "generate"


def test_closing_commits_what_was_handed_in(db_path: Path, tmp_path: Path) -> None:
    journal = Journal(db_path)
    job = journal.create(create_request(tmp_path))
    with write_lock_held(db_path):
        job, written = journal.append(job, Event(EventKind.STARTED, step="generate"))
    journal.close()
    assert written.done()
    with pytest.raises(JournalError, match="closed"):
        journal.record(job, Event(EventKind.FACT, data={}))
    with Journal(db_path) as again:
        assert again.get(job.id) == job


def test_a_noted_event_is_known_at_once_and_committed_before_the_next_commit(
    db_path: Path, tmp_path: Path
) -> None:
    with Journal(db_path) as journal:
        job = journal.record(journal.create(create_request(tmp_path)), Event("started", "notify"))
        recorder = Recorder(job, journal)
        with write_lock_held(db_path):
            recorder.note(EventKind.DONE)
            assert recorder.job.done == ("notify",)  # known before anything is committed
            assert journal.get(job.id).done == ()
        finished = asyncio.run(recorder.record(EventKind.COMPLETED))
        assert kinds(journal, job) == ["queued", "started", "done", "completed"]
        assert journal.get(job.id) == finished == recorder.job
