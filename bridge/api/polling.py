"""Waiting for a task to finish: interval backoff, a total deadline, status callbacks.

Clock and sleep are passed in, so tests run the loop on a fake clock without waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bridge.errors import PollDeadlineError
from bridge.jobs.results import TaskStatus

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
StatusCallback = Callable[[TaskStatus], None]


@dataclass(frozen=True)
class PollPlan:
    interval: float = 3.0
    max_interval: float = 15.0
    backoff: float = 1.5
    deadline: float = 900.0

    def next_interval(self, current: float) -> float:
        return min(self.max_interval, current * self.backoff)


async def poll(
    fetch: Callable[[], Awaitable[TaskStatus]],
    plan: PollPlan,
    *,
    task_id: str,
    now: Clock,
    sleep: Sleep,
    on_status: StatusCallback | None = None,
) -> TaskStatus:
    """Fetch the status until it is terminal; report each change of status once."""
    started = now()
    interval = plan.interval
    last: str | None = None
    while True:
        status = await fetch()
        if status.status != last:
            last = status.status
            log.debug("task %s is %s", task_id, status.status)
            if on_status is not None:
                on_status(status)
        if status.terminal:
            return status
        remaining = plan.deadline - (now() - started)
        if remaining <= 0:
            raise PollDeadlineError(
                f"task still {status.status} after {plan.deadline:g} s; it may still finish: "
                "look it up later with its taskId",
                task_id=task_id,
                trace_id=status.trace_id,
            )
        await sleep(min(interval, remaining))
        interval = plan.next_interval(interval)
