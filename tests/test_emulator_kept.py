"""The built-in emulator outlives its process as the service does: a job cut short on the
default set-up (no API key) resumes after a restart, its paid task polled, never sent again."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bridge.cli.main import main
from bridge.emulator.keeping import KEEP_SECONDS, Keeper
from bridge.jobs.state import JobStatus
from tests.test_chaos import killed_at, the_job


def bridge(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bridge", "--config", str(config), *args]


def kept_tasks(data: Path) -> list[dict[str, object]]:
    folder = data / "emulator" / "tasks"
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


@pytest.mark.parametrize(
    ("event", "step", "kind", "then"),
    [
        ("submitted", "generate", "create_music", "pending"),
        ("submitted", "download", "download", "pending"),
        # The link is known and its file not fetched: the file is made again from kept audio.
        ("fact", "download", "download", "completed"),
    ],
    ids=["while-generating", "while-preparing-the-download", "before-fetching-the-file"],
)
def test_a_job_cut_short_on_the_built_in_emulator_resumes_after_a_restart(
    jobs_config: Path, tmp_path: Path, event: str, step: str, kind: str, then: str
) -> None:
    config = tmp_path / "slow-emulator.toml"
    # Long enough a task that the kill lands while the service is still working on it.
    config.write_text(jobs_config.read_text() + "\n[emulator]\ntask_seconds = 1.0\n")
    data = tmp_path / "data"
    journal = data / "journal.sqlite3"
    project = tmp_path / "song"
    run = bridge(config, "run", "create_music", "--prompt", "warm pop", "--project", str(project))
    assert killed_at(run, (event, step, 1)), "run ended before the kill"
    _, status, _ = the_job(journal)
    assert status == JobStatus.RUNNING  # cut short while the task was being worked on
    (cut_short,) = [task for task in kept_tasks(data) if task["kind"] == kind]
    assert cut_short["status"] == then

    assert main(["--config", str(config), "jobs", "resume"]) == 0
    _, status, error = the_job(journal)
    assert status == JobStatus.COMPLETED, error
    tasks = kept_tasks(data)
    assert [task["kind"] for task in tasks].count("create_music") == 1  # paid once
    (finished,) = [task for task in tasks if task["kind"] == kind]
    assert (finished["id"], finished["status"]) == (cut_short["id"], "completed")
    assert list(project.glob("ProducerBridge/*/manifest.json"))


def test_what_it_keeps_is_forgotten_after_a_week(tmp_path: Path) -> None:
    keeper = Keeper(tmp_path / "emulator")
    keeper.keep_audio("old-take", np.zeros((8, 2), dtype=np.float32))
    keeper.keep_audio("new-take", np.ones((8, 2), dtype=np.float32))
    old = tmp_path / "emulator" / "audio" / "old-take.npy"
    week_ago = time.time() - KEEP_SECONDS - 60
    os.utime(old, (week_ago, week_ago))
    assert keeper.forget_older_than(KEEP_SECONDS, time.time()) == 1
    assert keeper.audio("old-take") is None
    kept = keeper.audio("new-take")
    assert kept is not None
    assert kept.tolist() == [[1.0, 1.0]] * 8
