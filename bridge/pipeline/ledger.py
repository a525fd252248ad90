"""What a billed task cost, read from the provider's credit history (the bridge's ledger).

The history is asked once a billed task has ended, over a window around its life; the
changes that name the task (a deduction, and a refund when it failed) are its cost. A
history that names no task, or a usage API that is down or refuses the key, leaves the
cost unknown (None) and the job goes on: credits are never a reason to fail a job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from bridge.api.usage import UsageClient
from bridge.errors import BridgeError
from bridge.jobs.state import BILLED

log = logging.getLogger(__name__)

# Seconds the history window reaches before the task was sent and after it ended: the
# provider's clock and this machine's need not agree.
SLACK: Final = 300.0


async def task_cost(
    usage: UsageClient,
    task_id: str,
    sent_at: float,
    *,
    now: Callable[[], float] = time.time,
) -> float | None:
    """Credits the task cost (deductions minus refunds), or None when it cannot be told."""
    start, end = int((sent_at - SLACK) * 1000), int((now() + SLACK) * 1000)
    try:
        changes = await usage.changes(start, end)
    except BridgeError as exc:
        log.warning("the cost of task %s is unknown: %s", task_id, exc)
        return None
    amounts = [c.amount for c in changes if c.task_id == task_id and c.amount is not None]
    if not amounts:
        log.info("the credit history names no change for task %s", task_id)
        return None
    return round(-sum(amounts), 6)


async def new_cost(
    usage: UsageClient | None,
    key: str,
    task_id: str | None,
    known: dict[str, float],
    sent_at: float,
) -> dict[str, float] | None:
    """The ledger's entry for a task that ended, {task id: cost}; None for a task that is
    not billed, already counted, or whose cost cannot be told."""
    if usage is None or task_id is None or task_id in known or key.split(":")[0] not in BILLED:
        return None
    cost = await task_cost(usage, task_id, sent_at)
    return None if cost is None else {task_id: cost}
