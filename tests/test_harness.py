"""The tests' own waiting: a message is answered to one wait only, and a polled condition
either gives its value or fails naming what it waited for."""

from __future__ import annotations

import socket

import pytest

from bridge.osc.transport import build
from tests.daemon_harness import OscListener
from tests.waiting import wait_until


def send(listener: OscListener, address: str, *args: object) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(build(address, list(args)), ("127.0.0.1", listener.port))


def test_each_message_satisfies_one_wait_only(listener: OscListener) -> None:
    send(listener, "/bridge/ok", "/bridge/context/clip", "set")
    send(listener, "/bridge/ok", "/bridge/context/prompt", "set")
    assert listener.wait_for("/bridge/ok") == ["/bridge/context/clip", "set"]
    assert listener.wait_for("/bridge/ok") == ["/bridge/context/prompt", "set"]
    with pytest.raises(AssertionError, match=r"no /bridge/ok within 0\.2 s"):
        listener.wait_for("/bridge/ok", timeout=0.2)
    assert len(listener.of("/bridge/ok")) == 2  # everything heard is still on record


def test_a_wait_returns_the_first_true_value_or_fails_naming_what_it_waited_for() -> None:
    answers = iter([None, [], ["a problem"]])
    assert wait_until(lambda: next(answers), interval=0) == ["a problem"]
    with pytest.raises(AssertionError, match=r"waited 0\.05 s for the sky to fall"):
        wait_until(lambda: False, within=0.05, what="the sky to fall")
