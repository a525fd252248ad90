"""Talking to a running daemon over its own OSC port (what `submit` does)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Final

from rich.console import Console

from bridge.daemon.addresses import Osc
from bridge.errors import BridgeError, Issue, RequestError
from bridge.osc.transport import build, parse
from bridge.resources import Closeable

PING_TIMEOUT = 0.5


# The largest UDP datagram over IPv4: the request travels to the daemon in one OSC message.
MAX_DATAGRAM: Final = 65507


def too_big(size: int) -> str:
    return (
        f"is {size} bytes as an OSC message, and one goes to the daemon in a single UDP "
        f"datagram of at most {MAX_DATAGRAM} bytes: drop the request file into the drop "
        "folder's requests/ instead (it takes up to 1 MB), or shorten the lyrics"
    )


class NoDaemon(BridgeError):
    """No daemon answered on the OSC port."""


class DaemonClient(Closeable):
    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))

    def close(self) -> None:
        self._sock.close()

    def send(self, address: str, *args: Any) -> None:
        self._sock.sendto(build(address, args), self._target)

    def receive(self, timeout: float) -> tuple[str, list[Any]] | None:
        """The next message, or None after `timeout` seconds."""
        self._sock.settimeout(max(timeout, 0.001))
        try:
            data = self._sock.recv(65536)
        except (TimeoutError, ConnectionRefusedError):
            return None
        messages = parse(data)
        return messages[0] if messages else None

    def ping(self) -> None:
        self.send(Osc.PING)
        if self._wait_for({Osc.PONG}, PING_TIMEOUT) is None:
            raise NoDaemon(
                f"no producer-bridge daemon answers on {self._target[0]}:{self._target[1]}"
            )

    def submit(self, request: dict[str, Any]) -> str:
        self.ping()  # NoDaemon first: without a daemon, submit runs the job itself, any size
        packet = build(Osc.JOB, [json.dumps(request)])
        if len(packet) > MAX_DATAGRAM:
            raise RequestError([Issue("request", too_big(len(packet)))])
        self._sock.sendto(packet, self._target)
        answer = self._wait_for({Osc.ACCEPTED, Osc.REJECTED}, 10.0)
        if answer is None:
            raise BridgeError("the daemon did not answer the request within 10 s")
        address, args = answer
        if address == Osc.REJECTED:
            raise RequestError([Issue("request", f"the daemon refused it: {args[-1]}")])
        return str(args[0])

    def follow(self, job_id: str, timeout: float, err: Console) -> tuple[str, str]:
        """("done", manifest path) or (status, message), printing progress as it comes."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message is None or not message[1] or message[1][0] != job_id:
                continue
            address, args = message
            if address == Osc.PROGRESS:
                err.print(f"[{job_id[:8]}] {args[1]} {args[2]:.0%}", markup=False, highlight=False)
            elif address == Osc.WAITING:
                line = f"[{job_id[:8]}] {args[1]} waits {args[2]:.1f} s: {args[3]}"
                err.print(line, markup=False, highlight=False)
            elif address == Osc.DONE:
                return "done", str(args[1])
            elif address == Osc.FAILED:
                return str(args[1]), str(args[2])
        return "still running", f"no answer within {timeout:g} s; see producer-bridge jobs"

    def _wait_for(self, addresses: set[str], timeout: float) -> tuple[str, list[Any]] | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message is not None and message[0] in addresses:
                return message
        return None
