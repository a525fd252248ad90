"""When to try a request again, how long to wait first, and the one loop that does it.

No I/O and no clock of its own: the attempt, the sleep and the random source are passed in.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from bridge.api.polling import Sleep

log = logging.getLogger(__name__)

T = TypeVar("T")

# The longest Retry-After the bridge honours; a larger value is capped so one
# confused proxy cannot park a job for hours.
MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring the server's Retry-After."""

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 30.0

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

    def __init__(self, error: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def raise_error(again: Retryable, attempts: int) -> Exception:
    """What `with_retries` raises by default once attempts run out: the last error itself."""
    return again.error


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Sleep,
    random: Callable[[], float],
    gave_up: Callable[[Retryable, int], Exception] = raise_error,
) -> T:
    """Await `attempt()` until it returns, raises something other than Retryable, or
    `policy` gives up; then raise `gave_up(the last Retryable, attempts made)`."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return await attempt()
        except Retryable as again:
            if policy.gives_up_after(attempts):
                raise gave_up(again, attempts) from again.__cause__
            delay = policy.delay(attempts, random, again.retry_after)
            log.warning(
                "%s: %s; attempt %d of %d, again in %.1f s",
                what,
                again.error,
                attempts,
                policy.max_attempts,
                delay,
            )
            await sleep(delay)
