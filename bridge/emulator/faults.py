"""Fault injection for the emulator: seeded dice, so a run can be repeated."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Literal

from bridge.config import FaultSettings

HttpFault = Literal["429", "5xx", "drop"]
TaskEnd = Literal["failed", "timeout"]


class FaultDice:
    """Decides, request by request, whether to misbehave and how."""

    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._rng = random.Random(settings.seed)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def _roll(self, rate: float, name: str) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            hit = self._rng.random() < rate
            if hit:
                self.counts[name] += 1
        return hit

    def applies_to(self, endpoint: str) -> bool:
        return not self.settings.endpoints or endpoint in self.settings.endpoints

    def http_fault(self, endpoint: str) -> HttpFault | None:
        """A fault that replaces the answer to this request, if any."""
        if not self.applies_to(endpoint):
            return None
        if self._roll(self.settings.rate_drop, "drop"):
            return "drop"
        if self._roll(self.settings.rate_429, "429"):
            return "429"
        if self._roll(self.settings.rate_5xx, "5xx"):
            return "5xx"
        return None

    def server_error_code(self) -> int:
        with self._lock:
            return self._rng.choice((500, 502, 503))

    def truncate(self) -> bool:
        return self.applies_to("files") and self._roll(self.settings.rate_truncate, "truncate")

    def task_end(self) -> TaskEnd | None:
        """How a task ends against the odds, if it does."""
        if self._roll(self.settings.rate_task_failed, "task_failed"):
            return "failed"
        if self._roll(self.settings.rate_task_timeout, "task_timeout"):
            return "timeout"
        return None
