"""The OSC socket's own thread, over real UDP on 127.0.0.1: a direct answer goes out while
the event loop is held up, the other messages wait for the loop, and no answer overtakes
the answer to a message its sender sent before it."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.errors import InputError
from bridge.osc.transport import Address, OscEndpoint, build, parse
from tests.waiting import wait_until

TIMEOUT = 5.0


class HeldLoop:
    """An endpoint served by an event loop on a thread, which the test holds up at will."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held = threading.Event()
        self.ports: queue.Queue[int | BaseException] = queue.Queue()
        self.endpoint: OscEndpoint | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    def on_loop(self, address: str, args: list[Any], sender: Address) -> None:
        assert self.endpoint is not None
        self.endpoint.send(sender, "/loop", address)

    def direct(self, address: str, args: list[Any], sender: Address) -> bool:
        if address != "/ping":
            return False
        assert self.endpoint is not None
        self.endpoint.send(sender, "/pong")
        return True

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            self.endpoint = OscEndpoint("127.0.0.1", 0, self.on_loop, self.direct)
            await self.endpoint.open()
        except BaseException as exc:
            self.ports.put(exc)
            raise
        self.ports.put(self.endpoint.port)
        try:
            await self._stop.wait()
        finally:
            self.endpoint.close()

    def start(self) -> int:
        self._thread.start()
        port = self.ports.get(timeout=TIMEOUT)
        if isinstance(port, BaseException):
            raise port
        return port

    def hold(self) -> None:
        """Hold the loop up with work that does not yield (a stand-in for a busy moment)."""
        assert self._loop is not None

        def busy() -> None:
            self.held.set()
            self.release.wait(TIMEOUT * 2)

        self._loop.call_soon_threadsafe(busy)
        assert self.held.wait(TIMEOUT)

    def stop(self) -> None:
        self.release.set()
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT)


@pytest.fixture
def served() -> Iterator[tuple[HeldLoop, socket.socket, Address]]:
    server = HeldLoop()
    port = server.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.settimeout(TIMEOUT)
        try:
            yield server, peer, ("127.0.0.1", port)
        finally:
            server.stop()


def receive(peer: socket.socket) -> tuple[str, list[Any]]:
    (message,) = parse(peer.recv(65536))
    return message


def test_a_ping_is_answered_while_the_event_loop_is_held_up(
    served: tuple[HeldLoop, socket.socket, Address],
) -> None:
    server, peer, target = served
    server.hold()
    peer.sendto(build("/ping", []), target)
    assert receive(peer) == ("/pong", [])
    peer.sendto(build("/job", []), target)
    peer.settimeout(0.2)
    with pytest.raises(TimeoutError):
        peer.recv(65536)  # the loop's message waits for the loop
    server.release.set()
    peer.settimeout(TIMEOUT)
    assert receive(peer) == ("/loop", ["/job"])


def test_a_direct_answer_never_overtakes_the_answer_to_an_earlier_message(
    served: tuple[HeldLoop, socket.socket, Address],
) -> None:
    server, peer, target = served
    server.hold()
    peer.sendto(build("/context/set", []), target)
    peer.sendto(build("/ping", []), target)
    assert server.endpoint is not None
    sender = peer.getsockname()
    wait_until(lambda: server.endpoint is not None and server.endpoint.waiting(sender) == 2)
    server.release.set()
    assert receive(peer) == ("/loop", ["/context/set"])
    assert receive(peer) == ("/loop", ["/ping"])  # handed on, in order, behind it
    # The main loop answers before it counts the message as handled: wait for the count.
    wait_until(lambda: server.endpoint is not None and server.endpoint.waiting(sender) == 0)
    peer.sendto(build("/ping", []), target)
    assert receive(peer) == ("/pong", [])  # nothing waits any more: answered directly


def test_a_sender_is_answered_directly_while_another_senders_messages_wait(
    served: tuple[HeldLoop, socket.socket, Address],
) -> None:
    server, peer, target = served
    server.hold()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind(("127.0.0.1", 0))
        other.sendto(build("/job", []), target)
        sender = other.getsockname()
        wait_until(lambda: server.endpoint is not None and server.endpoint.waiting(sender) == 1)
        peer.sendto(build("/ping", []), target)
        assert receive(peer) == ("/pong", [])
        server.release.set()
        other.settimeout(TIMEOUT)
        assert receive(other) == ("/loop", ["/job"])


def test_a_port_that_is_taken_is_refused_naming_it() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]

        async def open_it() -> None:
            async with OscEndpoint("127.0.0.1", port, lambda *_: None):
                pass

        with pytest.raises(InputError, match=f"OSC port {port} on 127.0.0.1 is already in use"):
            asyncio.run(open_it())


ASK = build("/ask", [])


def test_a_canned_answer_goes_to_the_sender_and_its_copies_while_the_loop_is_held_up(
    served: tuple[HeldLoop, socket.socket, Address],
) -> None:
    server, peer, target = served
    assert server.endpoint is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as copy:
        copy.bind(("127.0.0.1", 0))
        copy.settimeout(TIMEOUT)
        server.endpoint.answer_at_once([ASK], build("/canned", ["x"]), [copy.getsockname()])
        server.hold()
        peer.sendto(ASK, target)
        assert receive(peer) == ("/canned", ["x"])
        assert receive(copy) == ("/canned", ["x"])
        # Only the very bytes are canned: the same address with an argument is parsed.
        peer.sendto(build("/ask", [1]), target)
        server.release.set()
        assert receive(peer) == ("/loop", ["/ask"])


def test_a_canned_answer_never_overtakes_the_answer_to_an_earlier_message(
    served: tuple[HeldLoop, socket.socket, Address],
) -> None:
    server, peer, target = served
    assert server.endpoint is not None
    server.endpoint.answer_at_once([ASK], build("/canned", []))
    server.hold()
    peer.sendto(build("/job", []), target)
    peer.sendto(ASK, target)
    sender = peer.getsockname()
    wait_until(lambda: server.endpoint is not None and server.endpoint.waiting(sender) == 2)
    server.release.set()
    assert receive(peer) == ("/loop", ["/job"])
    assert receive(peer) == ("/loop", ["/ask"])  # handed on, in order, behind it


# A socket bound to every interface wakes its reader through loopback.
@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])  # noqa: S104
def test_closing_stops_the_reading_thread_at_once(host: str) -> None:
    async def open_and_close() -> str:
        async with OscEndpoint(host, 0, lambda *_: None) as endpoint:
            return f"osc {endpoint.port}"

    name = asyncio.run(open_and_close())
    # close() woke the thread blocked in its read and waited for it: it is gone already.
    assert name not in [thread.name for thread in threading.enumerate()]
