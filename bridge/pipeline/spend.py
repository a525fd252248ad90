"""The spend guard and the ledger's totals, read from the journal.

A paid job is one that asks the service to generate (every action) or to split stems: a
stems-only job, which generates nothing, counts too, since its stems task is paid. Jobs
count from the moment they are journaled, so a burst of triggers meets the limit before
any of them has run; jobs that ended without creating any paid task do not count.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from bridge.errors import BudgetError
from bridge.jobs.state import BILLED, Job, JobStatus
from bridge.journal import Journal

HOUR = 3600.0


@dataclass(frozen=True)
class Budget:
    """`[budget]`: 0 turns a limit off."""

    max_credits_per_day: float = 0.0
    max_paid_jobs_per_hour: int = 0


def paid(job: Job) -> bool:
    """Whether the job may have paid: not one that ended before any paid task was sent."""
    sent = [*job.facts.tasks, *job.facts.failed_tasks, *job.facts.intents]
    any_paid = any(key.split(":", 1)[0] in BILLED for key in sent)
    ended = job.status in (JobStatus.FAILED, JobStatus.CANCELLED)
    return any_paid or not ended


def spent(jobs: list[Job]) -> float:
    return round(sum(job.facts.spent() or 0.0 for job in jobs), 6)


def day_start(now: float) -> float:
    local = dt.datetime.fromtimestamp(now).astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_start(now: float) -> float:
    local = dt.datetime.fromtimestamp(now).astimezone()
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def check_budget(journal: Journal, budget: Budget, *, now: Callable[[], float] = time.time) -> None:
    """Raise BudgetError when a new paid job would go over the budget, saying why."""
    found = budget_reasons(journal, budget, now=now)
    if found:
        raise BudgetError("; ".join(found))


def budget_reasons(
    journal: Journal, budget: Budget, *, now: Callable[[], float] = time.time
) -> list[str]:
    """Why a new paid job would go over the budget (empty when it would not)."""
    at = now()
    found = []
    if budget.max_paid_jobs_per_hour:
        count = sum(paid(job) for job in journal.created_since(at - HOUR))
        if count >= budget.max_paid_jobs_per_hour:
            found.append(
                f"budget: {count} paid jobs in the last hour reach "
                f"budget.max_paid_jobs_per_hour = {budget.max_paid_jobs_per_hour}; wait, "
                "or raise budget.max_paid_jobs_per_hour"
            )
    if budget.max_credits_per_day:
        today = spent(journal.created_since(day_start(at)))
        if today >= budget.max_credits_per_day:
            found.append(
                f"budget: {today:g} credits spent today reach budget.max_credits_per_day = "
                f"{budget.max_credits_per_day:g}; wait until tomorrow, or raise "
                "budget.max_credits_per_day"
            )
    return found
