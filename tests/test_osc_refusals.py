"""The refusal budget: a token bucket per remote host, loopback never limited."""

from __future__ import annotations

from bridge.daemon.refusals import RefusalBudget, cut, reason_limit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_remote_host_draws_a_burst_then_a_few_a_second_and_loopback_is_never_limited() -> None:
    clock = Clock()
    budget = RefusalBudget(burst=3, per_second=2.0, clock=clock)
    assert [budget.allow("192.0.2.9") for _ in range(5)] == [True, True, True, False, False]
    assert budget.allow("192.0.2.10")  # another host has its own bucket
    assert all(budget.allow("127.0.0.1") for _ in range(100))
    clock.now = 0.5
    assert [budget.allow("192.0.2.9") for _ in range(2)] == [True, False]


def test_a_reason_is_cut_to_a_floor_or_to_the_size_of_what_was_sent() -> None:
    assert reason_limit("/x", []) == 240
    assert reason_limit("/bridge/job", ["x" * 1000]) == 1011
    assert cut("abcdef", 4) == "abc…"
    assert cut("abc", 4) == "abc"
