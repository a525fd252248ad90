"""Credits: the ledger (each job's cost, read from the credit history) matches the emulator's
balance, refunds of failed tasks included; a usage API that refuses the key or is down is a
warning and the job completes; `producer-bridge credits` adds up the ledger."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.cli.main import main
from bridge.config import BUILTIN_MODELS
from bridge.emulator.server import EmulatorServer
from bridge.jobs.state import JobStatus
from bridge.jobs.wire import Defaults, parse_request
from tests.conftest import pipeline_runner

FUZZ = "FUZZ-2.0 Pro"


def create(project: Path, title: str) -> Any:
    data = {"version": 1, "action": "create_music", "prompts": [{"text": title}]}
    return parse_request(data, Defaults(FUZZ, BUILTIN_MODELS, str(project)))


def history(server: EmulatorServer) -> list[dict[str, Any]]:
    body = {"dateRange": {"start": 0, "end": 2**53}, "page": 1, "limit": 100}
    answer = httpx.post(
        f"{server.url}/api-user/points/search", json=body, headers={"X-API-Key": server.token}
    )
    answer.raise_for_status()
    records: list[dict[str, Any]] = answer.json()["records"]
    return records


async def test_the_ledger_matches_the_balance_history_over_20_jobs_with_refunds(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator(rate_task_failed=0.3, seed=4)
    start = server.stats()["credits"]
    async with pipeline_runner(server, tmp_path, max_running=4) as runner:
        jobs = [runner.submit(create(tmp_path / "song", f"take {n}")) for n in range(20)]
        finished = await runner.run_until_idle()
    ended = [finished[job.id] for job in jobs]
    statuses = {job.status for job in ended}
    assert statuses == {JobStatus.COMPLETED, JobStatus.FAILED}, statuses
    records = history(server)
    refunds = [r for r in records if r["type"] == "refund"]
    assert refunds, "some generation failed and was refunded"
    ledger = sum(job.facts.spent() or 0.0 for job in ended)
    assert ledger == start - server.stats()["credits"]
    for job in ended:
        for task_id, cost in job.facts.credits.items():
            moved = sum(r["amount"] for r in records if r["taskId"] == task_id)
            assert cost == -moved
    refunded = {r["taskId"] for r in refunds}
    assert all(job.facts.credits.get(t, 0) == 0 for job in ended for t in refunded)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("usage", ["refuses the key", "is down"])
async def test_a_usage_api_that_fails_is_a_warning_and_the_job_completes(
    make_emulator: Callable[..., EmulatorServer],
    tmp_path: Path,
    usage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = make_emulator()
    where = (
        (server.url, "a-wrong-key")
        if usage == "refuses the key"
        else (f"http://127.0.0.1:{closed_port()}", server.token)
    )
    project = tmp_path / "song"
    with caplog.at_level(logging.WARNING, logger="bridge.pipeline.ledger"):
        async with pipeline_runner(server, tmp_path, usage=where) as runner:
            job = runner.submit(create(project, "x"))
            finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    assert finished.facts.manifest is not None
    assert json.loads((project / finished.facts.manifest).read_text())["credits"] is None
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "is unknown" in warning.getMessage()
    expected = "refused the key" if usage == "refuses the key" else "did not answer"
    assert expected in warning.getMessage()


def test_the_credits_command_shows_the_balance_and_what_the_ledger_spent_today(
    make_emulator: Callable[..., EmulatorServer],
    tmp_path: Path,
    jobs_config: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator()

    async def three_jobs() -> list[str]:
        async with pipeline_runner(server, tmp_path) as runner:
            jobs = [runner.submit(create(tmp_path / "song", f"take {n}")) for n in range(3)]
            await runner.run_until_idle()
        return [job.id for job in jobs]

    first, *_ = asyncio.run(three_jobs())
    assert main(["--config", str(jobs_config), "jobs", "show", first]) == 0
    shown = capsys.readouterr().out
    assert "credits   10\n" in shown
    assert "provider  mountsea (mountsea-fuzz)" in shown
    assert main(["--config", str(jobs_config), "credits", "--usage-url", server.url]) == 0
    out = capsys.readouterr().out
    assert f"balance    9970 credits ({server.url})" in out
    assert "today      30 credits spent" in out
    assert "this month 30 credits spent" in out
