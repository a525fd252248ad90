"""The emulator's twin of the reseller's Usage & Credits API (PRODUCER_API.md, section 2).

Served on the emulator's own port: `GET /api-user/credits` answers `{"credits": n}`;
`POST /api-user/points/search` with `{"dateRange": {"start": ms, "end": ms}, "page",
"limit"}` answers the credit changes in that range. Both take the key in an `X-API-Key`
header or a `?key=` query, never a Bearer token.

Picked where the pages are silent (prices are not published; record fields are not listed):
- an `audios` task costs 10 credits and a `stems` task 5, charged when the task is
  created; upload, download and status look-ups are free;
- a task that ends failed, cancelled or timeout is refunded in full when it ends;
- a record is `{"id", "type": "deduct" | "refund", "amount" (negative for a deduction),
  "before", "after", "taskId", "traceId", "endpoint", "createdAt" (ms)}`; the answer is
  `{"records": [...], "total", "page", "limit"}`, newest first;
- a task created with too few credits left is refused with HTTP 402.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

PRICES: Final = {"audios": 10, "stems": 5}
MAX_LIMIT: Final = 100


@dataclass(frozen=True)
class PointRecord:
    id: int
    type: str
    amount: int
    before: int
    after: int
    taskId: str
    traceId: str
    endpoint: str
    createdAt: int


class Wallet:
    """The balance and its history; prices by endpoint."""

    def __init__(self, credits: int, now: Callable[[], float] = time.time) -> None:
        self.balance = credits
        self.records: list[PointRecord] = []
        self._ids = itertools.count(1)
        self._now = now
        self._charged: dict[str, int] = {}

    def price(self, endpoint: str) -> int:
        return PRICES.get(endpoint, 0)

    def can_pay(self, endpoint: str) -> bool:
        return self.balance >= self.price(endpoint)

    def charge(self, endpoint: str, task_id: str, trace_id: str) -> None:
        amount = self.price(endpoint)
        if amount:
            self._charged[task_id] = amount
            self._move("deduct", -amount, task_id, trace_id, endpoint)

    def refund(self, task_id: str, trace_id: str, endpoint: str) -> None:
        amount = self._charged.pop(task_id, 0)
        if amount:
            self._move("refund", amount, task_id, trace_id, endpoint)

    def _move(self, kind: str, amount: int, task_id: str, trace_id: str, endpoint: str) -> None:
        before = self.balance
        self.balance += amount
        at = int(self._now() * 1000)
        self.records.append(
            PointRecord(
                next(self._ids), kind, amount, before, self.balance, task_id, trace_id, endpoint, at
            )
        )

    def search(self, body: Any) -> dict[str, Any]:
        """The records in the body's date range, newest first, one page of them."""
        query = body if isinstance(body, dict) else {}
        given = query.get("dateRange")
        span: dict[str, Any] = given if isinstance(given, dict) else {}
        start = _number(span.get("start"), 0)
        end = _number(span.get("end"), float("inf"))
        page = max(1, int(_number(query.get("page"), 1)))
        limit = min(MAX_LIMIT, max(1, int(_number(query.get("limit"), 20))))
        found = [r for r in reversed(self.records) if start <= r.createdAt <= end]
        chosen = found[(page - 1) * limit : page * limit]
        return {
            "records": [asdict(r) for r in chosen],
            "total": len(found),
            "page": page,
            "limit": limit,
        }


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)
