"""How the daemon refuses over OSC without becoming an amplifier.

A UDP sender's address can be forged: with `--allow-remote`, a small packet that draws a
long refusal would let anyone aim the daemon's answers at a third machine. So a refusal
says only what the sender needs (it is cut to a bound that grows only with what was sent),
and refusals to each remote host are rate-limited by a token bucket. Loopback senders are
this machine's own programs, which no other machine can forge, and are never limited.
Answers that are not refusals are never limited.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Final

from bridge.net import is_loopback

log = logging.getLogger(__name__)

ADDRESS_MAX: Final = 64  # characters of the refused address echoed back
REASON_FLOOR: Final = 240  # characters a reason may always have
BURST: Final = 16  # refusals a remote host may draw at once
PER_SECOND: Final = 4.0  # and then, on average
_HOSTS_MAX: Final = 1024  # buckets kept; the oldest is forgotten first


def cut(text: str, limit: int) -> str:
    """`text`, or its first characters and an ellipsis, in at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reason_limit(address: str, values: Sequence[Any]) -> int:
    """How long a refusal's reason may be: a floor, or as long as the message itself."""
    sent = len(address) + sum(len(v) if isinstance(v, str | bytes) else 8 for v in values)
    return max(REASON_FLOOR, sent)


class RefusalBudget:
    """A token bucket per remote host: `allow(host)` spends one refusal if one is left."""

    def __init__(
        self,
        burst: int = BURST,
        per_second: float = PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = burst
        self._rate = per_second
        self._clock = clock
        # host -> (tokens left, when counted, whether the last refusal was held back)
        self._buckets: OrderedDict[str, tuple[float, float, bool]] = OrderedDict()

    def allow(self, host: str) -> bool:
        if is_loopback(host):
            return True
        now = self._clock()
        tokens, then, held = self._buckets.pop(host, (float(self._burst), now, False))
        tokens = min(float(self._burst), tokens + (now - then) * self._rate)
        allowed = tokens >= 1.0
        if not allowed and not held:
            log.warning("OSC refusals to %s are rate-limited: some are not sent", host)
        self._buckets[host] = (tokens - 1.0 if allowed else tokens, now, not allowed)
        while len(self._buckets) > _HOSTS_MAX:
            self._buckets.popitem(last=False)
        return allowed
