"""The spend guard: a burst of triggers over OSC cannot run more paid jobs than the budget
lets, and every other one is refused, saying "budget", the spend so far and the setting;
`/bridge/capabilities` answers with what is known, as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from bridge.config import BUILTIN_MODELS
from bridge.emulator.server import EmulatorServer
from bridge.jobs.state import Event, EventKind
from bridge.jobs.wire import Defaults, parse_request
from bridge.journal import Journal
from bridge.pipeline.spend import Budget, budget_reasons
from tests.conftest import emulator_settings
from tests.daemon_harness import OscListener, daemon_config, running_daemon
from tests.test_serve_inputs import reply_to
from tests.waiting import wait_until

TRIGGERS = 50


def test_a_burst_of_50_triggers_runs_exactly_the_paid_jobs_the_budget_allows(
    jobs_config: Path, tmp_path: Path, port: int, listener: OscListener
) -> None:
    config = daemon_config(
        jobs_config,
        tmp_path,
        port,
        osc=reply_to(port, listener),
        budget="max_paid_jobs_per_hour = 5",
    )
    with (
        EmulatorServer(emulator_settings()) as server,
        running_daemon(config, server.url, port),
    ):
        listener.send(port, "/bridge/context/prompt", "a held pad")
        listener.wait_for("/bridge/ok")
        for _ in range(TRIGGERS):
            listener.send(port, "/bridge/trigger", "create")
        accepted = [listener.wait_for("/bridge/job/accepted") for _ in range(5)]
        refused = [listener.wait_for("/bridge/rejected") for _ in range(TRIGGERS - 5)]
        for job_id, _ in accepted:
            listener.wait_for("/bridge/job/done", lambda a, j=job_id: a[0] == j)
        wait_until(lambda: server.created("create_music") == 5, what="5 generations")
        generations = server.created("create_music")
    assert generations == 5
    for address, reason in refused:
        assert address == "/bridge/trigger"
        assert reason.startswith("budget: 5 paid jobs in the last hour")
        assert "budget.max_paid_jobs_per_hour = 5" in reason


def test_the_daily_limit_counts_the_ledger_and_the_hourly_one_skips_unpaid_failures(
    tmp_path: Path,
) -> None:
    data = {"version": 1, "action": "create_music", "prompts": [{"text": "x"}]}
    request = parse_request(data, Defaults("FUZZ-2.0", BUILTIN_MODELS, str(tmp_path)))
    with Journal(tmp_path / "journal.sqlite3") as journal:
        assert budget_reasons(journal, Budget(max_credits_per_day=10)) == []
        paid = journal.create(request)
        journal.record(paid, Event(EventKind.FACT, data={"credits": {"task-1": 10.0}}))
        refused = journal.create(request)  # refused by the service before any paid task
        journal.record(refused, Event(EventKind.FAILED, data={"message": "refused"}))
        assert budget_reasons(journal, Budget(max_credits_per_day=10)) == [
            "budget: 10 credits spent today reach budget.max_credits_per_day = 10; wait "
            "until tomorrow, or raise budget.max_credits_per_day"
        ]
        assert budget_reasons(journal, Budget(max_credits_per_day=10.5)) == []
        assert budget_reasons(journal, Budget(max_paid_jobs_per_hour=2)) == []
        assert len(budget_reasons(journal, Budget(max_paid_jobs_per_hour=1))) == 1
        assert budget_reasons(journal, Budget()) == []


def test_capabilities_over_osc_answer_as_json(
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
) -> None:
    config = daemon_config(jobs_config, tmp_path, port, osc=reply_to(port, listener))
    with running_daemon(config, emulator.url, port):
        listener.send(port, "/bridge/capabilities")
        (answer,) = listener.wait_for("/bridge/capabilities/state")
    summary = json.loads(answer)
    assert (summary["provider"], summary["url"]) == ("mountsea", emulator.url)
    assert summary["models"]["Lyria 3 Pro"]["contract"] == "mountsea-lyria"
    assert list(summary["models"]["Lyria 3 Pro"]["actions"]) == ["create_music"]
    assert summary["models"]["FUZZ-2.0"]["actions"]["cover_music"] == {
        "state": "unknown",
        "date": None,
        "message": None,
    }
