"""The job journal on a real SQLite file: durable commits, snapshots, owners, pruning."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

import bridge.journal as journal_module
from bridge.errors import JobError, JournalError
from bridge.jobs.model import JobRequest
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import Event, Job, JobStatus
from bridge.journal import EventRecord, Journal

REPO = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1.0  # every reading is a distinct, later moment
        return self.now


def create_request(project: Path, prompt: str = "pop") -> JobRequest:
    return JobRequest(
        AudioRequest("create_music", "FUZZ-2.0", (Sound(prompt, 0.5),)), project=str(project)
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "jobs.sqlite3"


def finish(journal: Journal, job: Job, status: JobStatus) -> Job:
    """Move a queued job to `status` through the events that lead there."""
    if status == JobStatus.QUEUED:
        return job
    job = journal.record(job, Event("started", step="generate"))
    ending = {
        JobStatus.RUNNING: None,
        JobStatus.COMPLETED: Event("completed"),
        JobStatus.FAILED: Event("failed", step="generate", data={"message": "boom"}),
        JobStatus.CANCELLED: Event("cancelled", step="generate", data={"message": "by you"}),
        JobStatus.NEEDS_ATTENTION: Event("attention", step="generate", data={"message": "look"}),
    }[status]
    return job if ending is None else journal.record(job, ending)


def event_count(path: Path, job_id: str | None = None) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        if job_id is None:
            (count,) = db.execute("SELECT COUNT(*) FROM events").fetchone()
        else:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM events WHERE job_id = ?", (job_id,)
            ).fetchone()
    return int(count)


# Durability settings -------------------------------------------------------------------


def test_the_journal_is_in_wal_mode_with_full_synchronous_writes(db_path: Path) -> None:
    with Journal(db_path) as journal:
        with contextlib.closing(sqlite3.connect(db_path)) as other:
            (mode,) = other.execute("PRAGMA journal_mode").fetchone()
        (synchronous,) = journal._db.execute("PRAGMA synchronous").fetchone()
        (foreign_keys,) = journal._db.execute("PRAGMA foreign_keys").fetchone()
    assert mode == "wal"
    assert synchronous == 2  # FULL
    assert foreign_keys == 1  # needed for ON DELETE CASCADE


# Create, record, get, events -----------------------------------------------------------


def test_a_recorded_job_reads_back_equal_by_id_and_by_prefix(db_path: Path, tmp_path: Path) -> None:
    with Journal(db_path, clock=Clock()) as journal:
        job = journal.create(create_request(tmp_path))
        job = journal.record(job, Event("started", step="generate"))
        job = journal.record(job, Event("intent", step="generate", key="generate"))
        job = journal.record(
            job, Event("submitted", step="generate", key="generate", data={"taskId": "t-1"})
        )
        job = journal.record(job, Event("fact", data={"links": {"result:1": "https://x/1"}}))

        assert journal.get(job.id) == job
        assert journal.get(job.id[:4]) == job
        assert journal.get(f"  {job.id[:6].upper()} ") == job  # as a person types it
        assert job.facts.tasks == {"generate": "t-1"}
        assert journal.jobs() == [job]


def test_events_list_queued_and_every_recorded_event_in_order(
    db_path: Path, tmp_path: Path
) -> None:
    with Journal(db_path, clock=Clock(1000.0)) as journal:
        job = journal.create(create_request(tmp_path))
        job = journal.record(job, Event("started", step="generate"))
        job = journal.record(job, Event("intent", step="generate", key="generate"))
        job = journal.record(
            job, Event("submitted", step="generate", key="generate", data={"taskId": "t-1"})
        )
        job = journal.record(job, Event("done", step="generate"))
        events = journal.events(job.id)

    assert events == [
        EventRecord(1001.0, "queued", None, None, {}),
        EventRecord(1002.0, "started", "generate", None, {}),
        EventRecord(1003.0, "intent", "generate", "generate", {}),
        EventRecord(1004.0, "submitted", "generate", "generate", {"taskId": "t-1"}),
        EventRecord(1005.0, "done", "generate", None, {}),
    ]
    assert job.created_at == 1001.0
    assert job.updated_at == 1005.0
    assert job.facts.intents == {}


def test_events_of_one_job_do_not_include_another_jobs(db_path: Path, tmp_path: Path) -> None:
    with Journal(db_path) as journal:
        first = journal.create(create_request(tmp_path))
        second = journal.create(create_request(tmp_path))
        journal.record(second, Event("started", step="generate"))
        assert [event.kind for event in journal.events(first.id)] == ["queued"]
        assert [event.kind for event in journal.events(second.id)] == ["queued", "started"]


@pytest.mark.parametrize("ref", ["", "a", "abc", "  ab  "])
def test_a_too_short_id_is_refused_with_the_minimum_length(
    db_path: Path, tmp_path: Path, ref: str
) -> None:
    with Journal(db_path) as journal:
        journal.create(create_request(tmp_path))
        with pytest.raises(JobError, match="too short: give at least 4 characters"):
            journal.get(ref)


def test_an_unknown_id_is_refused_with_where_to_find_the_ids(db_path: Path, tmp_path: Path) -> None:
    with Journal(db_path) as journal:
        journal.create(create_request(tmp_path))
        with pytest.raises(JobError, match="no job zzzz: `producer-bridge jobs` lists them"):
            journal.get("zzzz")


def test_an_ambiguous_prefix_asks_for_more_characters(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Journal(db_path) as journal:
        ids = iter(["abcd000000000001", "abcd000000000002"])
        monkeypatch.setattr(
            journal_module, "secrets", SimpleNamespace(token_hex=lambda n: next(ids))
        )
        first = journal.create(create_request(tmp_path))
        second = journal.create(create_request(tmp_path))
        with pytest.raises(JobError, match="ambiguous: give more characters"):
            journal.get("abcd")
        assert journal.get("abcd000000000001") == first
        assert journal.get("abcd000000000002") == second


@pytest.mark.parametrize("wildcard", ["_", "%"])
def test_a_reference_that_no_id_starts_with_is_unknown_even_with_like_wildcards(
    db_path: Path, tmp_path: Path, wildcard: str
) -> None:
    with Journal(db_path) as journal:
        job = journal.create(create_request(tmp_path))
        typo = job.id[:2] + wildcard + job.id[3:6]  # no hex id contains "_" or "%"
        with pytest.raises(JobError, match="no job"):
            journal.get(typo)


def test_an_event_the_job_cannot_take_is_refused_and_nothing_is_written(
    db_path: Path, tmp_path: Path
) -> None:
    with Journal(db_path) as journal:
        job = finish(journal, journal.create(create_request(tmp_path)), JobStatus.COMPLETED)
        count = event_count(db_path, job.id)
        with pytest.raises(JobError, match="cannot start a step"):
            journal.record(job, Event("started", step="generate"))
        with pytest.raises(JobError, match="unknown event kind"):
            journal.record(job, Event("exploded"))
        assert event_count(db_path, job.id) == count
        assert len(journal.events(job.id)) == count
        assert journal.get(job.id) == job


# The queue -----------------------------------------------------------------------------


def test_unfinished_jobs_come_oldest_first_without_finished_or_stopped_ones(
    db_path: Path, tmp_path: Path
) -> None:
    order = [
        JobStatus.QUEUED,
        JobStatus.COMPLETED,
        JobStatus.RUNNING,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.NEEDS_ATTENTION,
        JobStatus.QUEUED,
    ]
    with Journal(db_path) as journal:
        jobs = [
            finish(journal, journal.create(create_request(tmp_path, f"p{i}")), status)
            for i, status in enumerate(order)
        ]
        # Touch the oldest last: the queue's order is creation order, not last change.
        jobs[0] = journal.record(jobs[0], Event("status", data={"status": "pending"}))
        unfinished = journal.unfinished()

    assert [job.id for job in unfinished] == [jobs[0].id, jobs[2].id, jobs[6].id]
    assert [job.status for job in unfinished] == [
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.QUEUED,
    ]
    assert unfinished == [jobs[0], jobs[2], jobs[6]]


def test_jobs_lists_newest_first_and_honours_a_limit(db_path: Path, tmp_path: Path) -> None:
    with Journal(db_path) as journal:
        made = [journal.create(create_request(tmp_path, f"p{i}")) for i in range(3)]
        assert [job.id for job in journal.jobs()] == [job.id for job in reversed(made)]
        assert [job.id for job in journal.jobs(limit=2)] == [made[2].id, made[1].id]


# Owners --------------------------------------------------------------------------------


def test_a_job_owned_by_an_open_journal_cannot_be_claimed_until_it_closes(
    db_path: Path, tmp_path: Path
) -> None:
    with Journal(db_path) as second:
        with Journal(db_path) as first:
            job = first.create(create_request(tmp_path), owner=True)
            assert first.claim(job.id)  # its own job: still its own
            assert not second.claim(job.id)
            assert second.running_elsewhere(job.id)
            assert not first.running_elsewhere(job.id)
        # The first journal closed: its lock file is released.
        assert not second.running_elsewhere(job.id)
        assert second.claim(job.id)
        assert not second.running_elsewhere(job.id)


def test_a_released_job_can_be_claimed_by_another_journal(db_path: Path, tmp_path: Path) -> None:
    with Journal(db_path) as first, Journal(db_path) as second:
        job = first.create(create_request(tmp_path), owner=True)
        assert not second.claim(job.id)
        first.release(job.id)
        assert not second.running_elsewhere(job.id)
        assert second.claim(job.id)
        assert first.running_elsewhere(job.id)
        assert not first.claim(job.id)


def test_an_unowned_job_is_claimed_and_an_unknown_one_is_refused(
    db_path: Path, tmp_path: Path
) -> None:
    with Journal(db_path) as journal:
        job = journal.create(create_request(tmp_path))
        assert not journal.running_elsewhere(job.id)
        assert journal.claim(job.id)
        with pytest.raises(JobError, match="no job ffff"):
            journal.claim("ffff000000000000")


_OWNER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bridge.jobs.request import AudioRequest, Sound
    from bridge.jobs.model import JobRequest
    from bridge.journal import Journal

    journal = Journal(Path(sys.argv[1]))
    request = JobRequest(
        AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),)), project=sys.argv[2]
    )
    job = journal.create(request, owner=True)
    print(job.id, flush=True)
    time.sleep(120)
    """
)


def test_a_job_whose_owner_was_killed_can_be_claimed(db_path: Path, tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _OWNER_SCRIPT, str(db_path), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    ) as owner:
        try:
            assert owner.stdout is not None
            job_id = owner.stdout.readline().strip()
            assert len(job_id) == 16, "the owner process did not create its job"
            with Journal(db_path) as journal:
                assert journal.get(job_id).status == JobStatus.QUEUED
                assert journal.running_elsewhere(job_id)
                assert not journal.claim(job_id)

                owner.send_signal(signal.SIGKILL)
                assert owner.wait(timeout=30) == -signal.SIGKILL

                assert not journal.running_elsewhere(job_id)
                assert journal.claim(job_id)
                assert journal.get(job_id).id == job_id
        finally:
            if owner.poll() is None:
                owner.kill()
                owner.wait(timeout=30)


# Cancelling ----------------------------------------------------------------------------


def test_a_cancel_requested_in_one_journal_is_seen_by_another(
    db_path: Path, tmp_path: Path
) -> None:
    with Journal(db_path) as runner, Journal(db_path) as command:
        jobs = [runner.create(create_request(tmp_path), owner=True) for _ in range(3)]
        ids = [job.id for job in jobs]
        assert runner.cancel_requested(ids) == set()
        command.request_cancel(ids[0])
        command.request_cancel(ids[2])
        assert runner.cancel_requested(ids) == {ids[0], ids[2]}
        assert runner.cancel_requested([ids[1]]) == set()
        assert runner.cancel_requested([]) == set()
        assert command.running_elsewhere(ids[0])  # the runner still holds it

        runner.release(ids[0])  # a released job forgets its cancel request
        assert runner.cancel_requested(ids) == {ids[2]}


# Pruning -------------------------------------------------------------------------------


def test_prune_deletes_only_old_unowned_jobs_in_the_given_statuses_with_their_events(
    db_path: Path, tmp_path: Path
) -> None:
    clock = Clock(100.0)
    with Journal(db_path, clock=clock) as journal:
        old_completed = finish(
            journal, journal.create(create_request(tmp_path)), JobStatus.COMPLETED
        )
        old_failed = finish(journal, journal.create(create_request(tmp_path)), JobStatus.FAILED)
        old_queued = journal.create(create_request(tmp_path))
        old_attention = finish(
            journal, journal.create(create_request(tmp_path)), JobStatus.NEEDS_ATTENTION
        )
        old_owned = finish(
            journal, journal.create(create_request(tmp_path), owner=True), JobStatus.COMPLETED
        )
        clock.now = 500.0
        new_completed = finish(
            journal, journal.create(create_request(tmp_path)), JobStatus.COMPLETED
        )
        assert event_count(db_path, old_completed.id) == 3

        pruned = journal.prune(before=400.0, statuses=(JobStatus.COMPLETED, JobStatus.FAILED))

        assert sorted(job.id for job in pruned) == sorted([old_completed.id, old_failed.id])
        assert {job.id: job for job in pruned} == {
            old_completed.id: old_completed,
            old_failed.id: old_failed,
        }
        remaining = {job.id for job in journal.jobs()}
        assert remaining == {old_queued.id, old_attention.id, old_owned.id, new_completed.id}
        for gone in (old_completed, old_failed):
            assert journal.events(gone.id) == []
            assert event_count(db_path, gone.id) == 0
            with pytest.raises(JobError, match="no job"):
                journal.get(gone.id)
        assert event_count(db_path, new_completed.id) == 3
        assert journal.prune(before=400.0, statuses=(JobStatus.COMPLETED, JobStatus.FAILED)) == []


# Durability across instances -----------------------------------------------------------


def test_reopening_the_file_gives_the_same_jobs_and_history(db_path: Path, tmp_path: Path) -> None:
    with Journal(db_path) as journal:
        done = finish(journal, journal.create(create_request(tmp_path, "a")), JobStatus.COMPLETED)
        running = finish(journal, journal.create(create_request(tmp_path, "b")), JobStatus.RUNNING)
        running = journal.record(
            running, Event("fact", data={"tasks": {"generate": "t-1"}, "folder": "out"})
        )
        jobs = journal.jobs()
        history = {job.id: journal.events(job.id) for job in jobs}

    with Journal(db_path) as reopened:
        assert reopened.jobs() == jobs == [running, done]
        assert reopened.get(running.id).facts.tasks == {"generate": "t-1"}
        assert {job.id: reopened.events(job.id) for job in jobs} == history
        assert [job.id for job in reopened.unfinished()] == [running.id]


# Rows this bridge cannot read ----------------------------------------------------------


def rewrite(path: Path, sql: str, *args: object) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(sql, args)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("json_set(job, '$.status', 'exploded')", "status"),
        ("json_set(job, '$.facts.tasks.generate', 7)", "facts.tasks.generate"),
        ("json_remove(job, '$.request.project')", "request.project"),
        ("json_set(job, '$.request.clip', 'take.wav')", "request.clip"),
    ],
)
def test_a_job_row_it_cannot_read_is_a_journal_error_naming_the_field(
    db_path: Path, tmp_path: Path, change: str, field: str
) -> None:
    with Journal(db_path) as journal:
        job = journal.create(create_request(tmp_path))
    rewrite(db_path, f"UPDATE jobs SET job = {change}")  # noqa: S608
    with Journal(db_path) as journal, pytest.raises(JournalError) as caught:
        journal.get(job.id)
    assert f"{field}: " in caught.value.message


def test_a_job_row_that_is_not_json_is_a_journal_error(db_path: Path, tmp_path: Path) -> None:
    with Journal(db_path) as journal:
        job = journal.create(create_request(tmp_path))
    rewrite(db_path, "UPDATE jobs SET job = '{\"id\": '")
    with Journal(db_path) as journal, pytest.raises(JournalError, match="not JSON"):
        journal.get(job.id)


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [("kind", "exploded", "kind"), ("step", "dance", "step"), ("data", "[1, 2]", "data")],
)
def test_an_event_row_it_cannot_read_is_a_journal_error_naming_the_field(
    db_path: Path, tmp_path: Path, column: str, value: str, field: str
) -> None:
    with Journal(db_path) as journal:
        job = journal.create(create_request(tmp_path))
    rewrite(db_path, f"UPDATE events SET {column} = ?", value)  # noqa: S608
    with Journal(db_path) as journal, pytest.raises(JournalError) as caught:
        journal.events(job.id)
    assert f"{field}: " in caught.value.message
