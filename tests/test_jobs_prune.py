"""`producer-bridge jobs prune`: ages with a unit, a question before anything is removed,
and jobs that `jobs retry` could still finish kept unless asked."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.jobs import JobRequest
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import Event, Job
from bridge.journal import Journal

DAY = 86400.0


def jobs(config: Path, *args: str) -> int:
    return main(["--config", str(config), "jobs", *args])


def journal_of(tmp_path: Path, clock: float | None = None) -> Journal:
    path = tmp_path / "data" / "journal.sqlite3"
    return Journal(path) if clock is None else Journal(path, clock=lambda: clock)


def left(tmp_path: Path) -> set[str]:
    with journal_of(tmp_path) as journal:
        return {job.id for job in journal.jobs()}


def old_jobs(tmp_path: Path) -> dict[str, Job]:
    """One job of each ending, last changed 40 days ago."""
    audio = AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),))
    request = JobRequest(audio, project=str(tmp_path / "song"))
    with journal_of(tmp_path, clock=time.time() - 40 * DAY) as journal:
        return {
            kind: journal.record(journal.create(request), Event(kind, data={"message": "why"}))
            for kind in ("completed", "failed", "cancelled", "attention")
        }


@pytest.mark.parametrize("age", ["30", "2.5"])
def test_an_age_without_a_unit_is_a_usage_error_that_names_the_fix(
    jobs_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], age: str
) -> None:
    made = old_jobs(tmp_path)
    with pytest.raises(SystemExit) as caught:
        jobs(jobs_config, "prune", "--older-than", age, "--yes")
    assert caught.value.code == 2
    assert f"{age} needs a unit: {age}d for days, {age}h for hours" in capsys.readouterr().err
    assert left(tmp_path) == {job.id for job in made.values()}


@pytest.mark.parametrize(("age", "kept"), [("45d", 4), ("30d", 3), ("12h", 3), ("90s", 3)])
def test_each_unit_is_understood(jobs_config: Path, tmp_path: Path, age: str, kept: int) -> None:
    old_jobs(tmp_path)
    assert jobs(jobs_config, "prune", "--older-than", age, "--yes") == 0
    assert len(left(tmp_path)) == kept


def test_jobs_retry_could_still_finish_stay_and_what_is_removed_is_listed(
    jobs_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = old_jobs(tmp_path)
    assert jobs(jobs_config, "prune", "--older-than", "30d", "--yes") == 0
    out = capsys.readouterr().out
    assert f"removed {made['completed'].short_id} create_music completed 40d" in out
    # --yes: nothing to confirm, so nothing is listed twice
    assert not [line for line in out.splitlines() if line.startswith("to remove")]
    assert "pruned 1 job(s)" in out
    assert "kept 3 failed/cancelled/needs_attention job(s)" in out
    assert "add --include-retryable" in out
    assert left(tmp_path) == {made[kind].id for kind in ("failed", "cancelled", "attention")}


def test_include_retryable_removes_them_too(
    jobs_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = old_jobs(tmp_path)
    assert jobs(jobs_config, "prune", "--older-than", "30d", "--include-retryable", "--yes") == 0
    out = capsys.readouterr().out
    for job in made.values():
        assert f"removed {job.short_id} create_music {job.status}" in out
    assert "pruned 4 job(s)" in out
    assert "kept" not in out
    assert left(tmp_path) == set()


def test_without_a_terminal_or_yes_it_refuses_and_removes_nothing(
    jobs_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = old_jobs(tmp_path)
    assert not sys.stdin.isatty()
    assert jobs(jobs_config, "prune", "--older-than", "30d") == 2
    assert "without a terminal to ask on, add --yes" in capsys.readouterr().err
    assert left(tmp_path) == {job.id for job in made.values()}


def prune_on_a_terminal(config: Path, answer: str) -> tuple[int, str]:
    """`jobs prune` in a child whose input is a real terminal that types `answer`."""
    leader, follower = pty.openpty()
    try:
        os.write(leader, f"{answer}\n".encode())
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bridge",
                "--config",
                str(config),
                "jobs",
                "prune",
                "--older-than",
                "30d",
            ],
            stdin=follower,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(leader)
        os.close(follower)
    return done.returncode, done.stdout


@pytest.mark.parametrize(("answer", "code", "removed"), [("y", 0, True), ("n", 1, False)])
def test_on_a_terminal_it_asks_first(
    jobs_config: Path, tmp_path: Path, answer: str, code: int, removed: bool
) -> None:
    made = old_jobs(tmp_path)
    returncode, out = prune_on_a_terminal(jobs_config, answer)
    assert returncode == code, out
    assert f"to remove {made['completed'].short_id} create_music completed" in out
    assert "remove 1 job(s)? [y/N]" in out
    assert (made["completed"].id not in left(tmp_path)) is removed
    assert ("pruned 1 job(s)" in out) is removed
    assert ("nothing removed" in out) is not removed
