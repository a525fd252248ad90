"""status.json: what DAW scripts read to show the daemon's jobs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from bridge.daemon.board import StatusBoard
from bridge.jobs import Job, JobRequest, new_job
from bridge.jobs.request import AudioRequest


def job(number: int, status: str = "queued") -> Job:
    request = JobRequest(AudioRequest("create_music", "FUZZ-2.0 Pro", title=f"song {number}"), "/p")
    return dataclasses.replace(new_job(f"{number:08x}" * 4, request, 0.0), status=status)


def test_the_board_lists_newest_first_with_progress(tmp_path: Path) -> None:
    board = StatusBoard(tmp_path, service="http://127.0.0.1:1", clock=lambda: 0.0)
    board.update(job(1))
    board.update(job(2))
    board.progress(f"{1:08x}" * 4, "generate", 0.4)
    board.flush()
    document = json.loads((tmp_path / "status.json").read_text())
    assert [entry["title"] for entry in document["jobs"]] == ["song 2", "song 1"]
    assert document["jobs"][1]["fraction"] == 0.4
    assert document["jobs"][1]["status"] == "running"
    assert document["daemon"]["service"] == "http://127.0.0.1:1"
    assert document["updatedAt"] == "1970-01-01T00:00:00+00:00"


def test_finished_jobs_beyond_the_limit_are_dropped_but_unfinished_ones_stay(
    tmp_path: Path,
) -> None:
    board = StatusBoard(tmp_path, keep=2)
    board.update(job(0, "running"))
    for number in range(1, 6):
        board.update(job(number, "completed"))
    titles = [entry["title"] for entry in board.document()["jobs"]]
    assert titles == ["song 5", "song 4", "song 0"]
    assert board.document()["jobs"][0]["fraction"] == 1.0


def test_nothing_is_rewritten_when_nothing_changed_and_no_temporary_is_left(
    tmp_path: Path,
) -> None:
    board = StatusBoard(tmp_path)
    board.update(job(1))
    board.flush()
    (tmp_path / "status.json").write_text("{}")  # someone else's edit is not undone...
    board.flush()
    assert (tmp_path / "status.json").read_text() == "{}"  # ...until something changes
    board.update(job(2))
    board.flush()
    assert len(json.loads((tmp_path / "status.json").read_text())["jobs"]) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]
