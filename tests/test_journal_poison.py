"""A journal row this bridge cannot read (a later version wrote it, or a crash or a person
left it broken) is reported and set aside, and everything else goes on: the queue, the
listing, the drop folder's lookups, `producer-bridge jobs` and `serve`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from bridge.emulator.server import EmulatorServer
from bridge.jobs.model import JobRequest
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import FINISHED, JobStatus
from bridge.journal import Journal
from tests.daemon_harness import OscListener, daemon_config, running_daemon
from tests.waiting import wait_until

BROKEN = "bad0" * 4  # the id of the row nobody can read


def create_request(project: Path, seed: int | None = None) -> JobRequest:
    return JobRequest(
        AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),), seed=seed),
        project=str(project),
    )


def add_row(db: Path, job_id: str, text: str, *, status: str = "queued", seq: int = 100) -> None:
    """A row as a crash, a person or a later version might leave it."""
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO jobs (id, seq, created_at, updated_at, status, step, action, project, "
            "job) VALUES (?, ?, 1.0, 1.0, ?, NULL, 'create_music', '/p', ?)",
            (job_id, seq, status, text),
        )
    connection.close()


def later_version(row: dict[str, Any]) -> str:
    """A good row changed as a later version might write it: a status and a seed it reads."""
    changed = json.loads(json.dumps(row))
    changed["id"] = BROKEN
    changed["status"] = "paused"
    changed["request"]["request"]["seed"] = "0x1f"
    return json.dumps(changed)


def test_an_unreadable_row_is_set_aside_and_the_rest_goes_on(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    with Journal(db) as journal:
        good = journal.create(create_request(tmp_path, seed=10**400))
        row = json.loads(journal._db.execute("SELECT job FROM jobs").fetchone()[0])
    add_row(db, BROKEN, later_version(row), seq=50)
    add_row(db, "dead" * 4, "{not json", status="running", seq=60)
    with Journal(db) as journal:
        assert [job.id for job in journal.unfinished()] == [good.id]
        assert journal.unfinished()[0].request.audio.seed == 10**400
        assert [job.id for job in journal.jobs()] == [good.id]
        assert journal.by_source("/drop/x.json") is None
        aside = {row.id: row for row in journal.set_aside()}
        assert set(aside) == {BROKEN, "dead" * 4}
        assert "status" in aside[BROKEN].reason
        assert "seed" in aside[BROKEN].reason
        assert "not JSON" in aside["dead" * 4].reason
    with sqlite3.connect(db) as connection:
        kept = dict(connection.execute("SELECT id, job FROM jobs").fetchall())
    connection.close()
    assert kept["dead" * 4] == "{not json"  # kept for a person, as it was
    assert json.loads(kept[BROKEN])["status"] == "paused"


def test_prune_leaves_an_unreadable_row_alone(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    with Journal(db) as journal:
        journal.create(create_request(tmp_path))
    add_row(db, BROKEN, "[]", status="completed")
    with Journal(db) as journal:
        assert journal.prune(before=10.0**12, statuses=("completed",)) == []
        assert [row.id for row in journal.set_aside()] == [BROKEN]


def jobs_command(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "--config", str(config), "jobs", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_jobs_lists_an_unreadable_row_as_a_line(jobs_config: Path, tmp_path: Path) -> None:
    db = tmp_path / "data" / "journal.sqlite3"
    with Journal(db) as journal:
        good = journal.create(create_request(tmp_path / "project"))
    add_row(db, BROKEN, "{not json")
    listed = jobs_command(jobs_config)
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    assert good.short_id in listed.stdout
    (line,) = [line for line in listed.stdout.splitlines() if BROKEN[:8] in line]
    assert "cannot be read" in line
    assert "set aside" in line


def test_serve_starts_and_runs_the_rest_beside_an_unreadable_row(
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
) -> None:
    config = daemon_config(
        jobs_config, tmp_path, port, osc=f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
    )
    db = tmp_path / "data" / "journal.sqlite3"
    with Journal(db) as journal:
        good = journal.create(create_request(tmp_path / "project", seed=2**64 - 1))
    add_row(db, BROKEN, "{not json", seq=0)

    def status() -> JobStatus:
        with Journal(db) as journal:
            return journal.get(good.id).status

    with running_daemon(config, emulator.url, port) as served:
        wait_until(lambda: status() in FINISHED, within=30, what="the good job")
        served.stop()
        assert status() == JobStatus.COMPLETED, served.err
    assert BROKEN in served.err
    assert "set aside" in served.err


def test_a_journal_from_before_rows_were_set_aside_gains_the_column(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    with Journal(db) as journal:
        job = journal.create(create_request(tmp_path))
    with sqlite3.connect(db) as connection:
        connection.execute("ALTER TABLE jobs DROP COLUMN set_aside")
    connection.close()
    add_row(db, BROKEN, "{not json")
    with Journal(db) as journal:
        assert [found.id for found in journal.unfinished()] == [job.id]
        assert [row.id for row in journal.set_aside()] == [BROKEN]
