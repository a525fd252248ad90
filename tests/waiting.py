"""The one way tests wait for something that nothing announces: poll a condition.

A file appearing, a journal row, a count in another thread: `wait_until` asks the
condition again every `interval` seconds and returns its first true value, or fails the
test after `within` seconds, naming what it waited for. Async tests await
`wait_until_async`, which sleeps on their loop instead of blocking it. Where something
does announce itself (a message on a socket, an event), wait on that instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until", "wait_until_async"]

T = TypeVar("T")

WITHIN = 10.0
INTERVAL = 0.01


class _Deadline:
    def __init__(self, within: float, what: str | Callable[[], str]) -> None:
        self._within = within
        self._at = time.monotonic() + within
        self._what = what

    def check(self) -> None:
        if time.monotonic() >= self._at:
            what = self._what if isinstance(self._what, str) else self._what()
            raise AssertionError(f"waited {self._within:g} s for {what}")


def wait_until(
    condition: Callable[[], T],
    *,
    within: float = WITHIN,
    interval: float = INTERVAL,
    what: str | Callable[[], str] = "a condition that never held",
) -> T:
    """The first true value of `condition()`, asked every `interval` seconds."""
    deadline = _Deadline(within, what)
    while not (value := condition()):
        deadline.check()
        time.sleep(interval)
    return value


async def wait_until_async(
    condition: Callable[[], T],
    *,
    within: float = WITHIN,
    interval: float = INTERVAL,
    what: str | Callable[[], str] = "a condition that never held",
) -> T:
    """`wait_until` for async tests: the loop runs on while the condition is false."""
    deadline = _Deadline(within, what)
    while not (value := condition()):
        deadline.check()
        await asyncio.sleep(interval)
    return value
