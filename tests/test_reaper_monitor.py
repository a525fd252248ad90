"""The monitor window under the fake REAPER, reading a status.json written by the daemon's
own StatusBoard (not a hand-made copy of its format)."""

from __future__ import annotations

import json
from pathlib import Path

from bridge.daemon.board import StatusBoard
from bridge.jobs.state import Job, JobStatus
from bridge.jobs.wire import parse_request
from tests.reaper_fixtures import DEFAULTS, Studio


def job(studio: Studio, job_id: str, status: str, step: str, error: str | None = None) -> Job:
    request = parse_request(
        {
            "version": 1,
            "action": "create_music",
            "prompts": [{"text": "pop"}],
            "params": {"title": "Night drive"},
            "project": {"folder": str(studio.project)},
        },
        DEFAULTS,
    )
    return Job(job_id, request, 1.0, 2.0, status=status, step=step, error=error)


def test_the_monitor_lists_the_daemons_jobs_until_its_window_is_closed(tmp_path: Path) -> None:
    studio = Studio(tmp_path)
    board = StatusBoard(studio.drop, service="emulator", clock=lambda: 1_800_000_000.0)
    board.update(job(studio, "3fa2c1d9aaaa", JobStatus.RUNNING, "generate"), fraction=0.4)
    board.update(
        job(studio, "77bb0000cccc", JobStatus.FAILED, "upload", "the stager is unreachable")
    )
    board.flush()
    assert json.loads((studio.drop / "status.json").read_text())["schemaVersion"] == 1

    result = studio.run("Monitor", studio.scenario(gfx_chars=[0, 0, 0]))
    assert result["error"] is None
    assert result["window"] == "Producer Bridge: jobs"
    assert result["frames"] == 3  # deferred until getchar said the window was closed
    assert result["window_closed"] is True
    first = result["drawn"][0]
    assert first[0] == "Daemon running (emulator), updated 2027-01-15T08:00:00+00:00"
    assert first[1].startswith("77bb0000  create_music      failed          ")
    assert first[2] == "          the stager is unreachable"
    assert first[3].split() == [
        "3fa2c1d9",
        "create_music",
        "running",
        "40%",
        "generate",
        "Night",
        "drive",
    ]
    assert result["drawn"][2] == first  # redrawn on every frame
    assert result["drawn"][3] == []  # the frame that found the window closed draws nothing


def test_without_a_status_file_the_monitor_says_what_to_start(tmp_path: Path) -> None:
    studio = Studio(tmp_path)
    result = studio.run("Monitor", studio.scenario(gfx_chars=[0, 27, 0]))
    assert result["frames"] == 1  # Esc closes it
    assert result["drawn"][0] == [
        f"No status yet at {studio.drop / 'status.json'}.",
        "Start `producer-bridge serve`, or check the drop folder in Settings.",
    ]
