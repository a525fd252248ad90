"""When to try a request again, how long to wait first, and the one loop that does it.

No I/O of its own: the attempt, the sleep, the clock and the random source are passed in.

Two kinds of failure are counted apart. A request the service refused with 429 was not
acted on, so it is free to repeat: it is tried again, with backoff and honouring
Retry-After, for as long as the policy's `patience` (the job's polling deadline), however
many attempts that takes. Any other failure that may pass counts against `max_attempts`.
Each wait is told to whoever watches the job (`reporting_waits`).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from bridge.api.polling import Clock, Sleep

log = logging.getLogger(__name__)

T = TypeVar("T")

# The longest Retry-After the bridge honours; a larger value is capped so one
# confused proxy cannot park a job for hours.
MAX_RETRY_AFTER = 300.0

# Told of each wait before a repeat: seconds to wait, and why, in words.
WaitReport = Callable[[float, str], None]
_waits: ContextVar[WaitReport | None] = ContextVar("bridge_retry_waits", default=None)


@contextmanager
def reporting_waits(report: WaitReport) -> Iterator[None]:
    """Within this block (and the tasks it starts), every retry wait is told to `report`."""
    token = _waits.set(report)
    try:
        yield
    finally:
        _waits.reset(token)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring the server's Retry-After."""

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    patience: float = 900.0  # seconds a request refused with 429 keeps being tried

    def delay(
        self, attempt: int, random: Callable[[], float], retry_after: float | None = None
    ) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        jittered = ceiling * random()
        if retry_after is not None:
            return max(min(retry_after, MAX_RETRY_AFTER), jittered)
        return jittered

    def gives_up_after(self, attempt: int) -> bool:
        return attempt >= self.max_attempts


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Retryable(Exception):
    """An attempt failed in a way that another attempt may fix; `error` says how."""

    def __init__(
        self, error: Exception, retry_after: float | None = None, *, rate_limited: bool = False
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.rate_limited = rate_limited  # the service said "not now": free to repeat


def raise_error(again: Retryable, attempts: int) -> Exception:
    """What `with_retries` raises by default once attempts run out: the last error itself."""
    return again.error


class _Tally:
    """Failures so far, the two kinds apart, and whether the policy lets one more try."""

    def __init__(self, policy: RetryPolicy, now: Clock) -> None:
        self.policy = policy
        self.now = now
        self.started = now()
        self.failures = 0
        self.limited = 0

    @property
    def attempts(self) -> int:
        return self.failures + self.limited

    def wait_after(self, again: Retryable, random: Callable[[], float]) -> float | None:
        """Seconds to wait before the next attempt, or None when it is time to give up."""
        if again.rate_limited:
            self.limited += 1
            delay = self.policy.delay(self.limited, random, again.retry_after)
            spent = self.now() - self.started
            return None if spent + delay > self.policy.patience else delay
        self.failures += 1
        if self.policy.gives_up_after(self.failures):
            return None
        return self.policy.delay(self.failures, random, again.retry_after)


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Sleep,
    random: Callable[[], float],
    now: Clock = time.monotonic,
    gave_up: Callable[[Retryable, int], Exception] = raise_error,
) -> T:
    """Await `attempt()` until it returns, raises something other than Retryable, or
    `policy` gives up; then raise `gave_up(the last Retryable, attempts made)`."""
    tally = _Tally(policy, now)
    while True:
        try:
            return await attempt()
        except Retryable as again:
            delay = tally.wait_after(again, random)
            if delay is None:
                raise gave_up(again, tally.attempts) from again.__cause__
            _tell(what, again, tally, delay)
            await sleep(delay)


def _tell(what: str, again: Retryable, tally: _Tally, delay: float) -> None:
    if again.rate_limited:
        log.info("%s: %s; waiting %.1f s (attempt %d)", what, again.error, delay, tally.attempts)
        why = "the service asked to wait (429)"
    else:
        log.warning(
            "%s: %s; attempt %d of %d, again in %.1f s",
            what,
            again.error,
            tally.failures,
            tally.policy.max_attempts,
            delay,
        )
        why = str(again.error)
    report = _waits.get()
    if report is not None:
        report(delay, f"{what}: {why}")
