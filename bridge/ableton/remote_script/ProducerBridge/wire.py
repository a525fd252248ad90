"""JSON over UDP on loopback, without blocking: the script's half of the protocol described
in producer-bridge's bridge/ableton/protocol.py (version 1)."""

import contextlib
import json
import socket
from collections.abc import Callable
from typing import Any

VERSION = 1
HOST = "127.0.0.1"
PORT = 11041
MAX_DATAGRAM = 65507
# Datagrams read per display tick at most, so a flood cannot hold Live's thread.
PER_TICK = 16

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class Endpoint:
    def __init__(self, handle: Handler, port: int | None = None) -> None:
        self._handle = handle
        self._daemon: Any = None  # who asked last: where news from Live goes
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._socket.setblocking(False)
            self._socket.bind((HOST, PORT if port is None else port))
        except OSError:
            self._socket.close()
            raise

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def poll(self) -> int:
        """Answer what has arrived; returns how many datagrams were read."""
        for count in range(PER_TICK):
            try:
                data, sender = self._socket.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return count
            except OSError:
                return count  # e.g. Windows reports an earlier send's ICMP error here
            self._answer(data, sender)
        return PER_TICK

    def _answer(self, data: bytes, sender: Any) -> None:
        try:
            message = json.loads(data.decode("utf-8"))
        except ValueError:
            return  # not ours
        if not isinstance(message, dict) or message.get("v") != VERSION:
            return
        self._daemon = sender
        try:
            reply = {"ok": True, **self._handle(message)}
        except Exception as exc:  # Live's thread must never see one
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        reply.update(v=VERSION, id=message.get("id"))
        out = json.dumps(reply).encode("utf-8")
        if len(out) > MAX_DATAGRAM:
            error = f"the answer is {len(out)} bytes, more than one datagram holds"
            too_long = {"v": VERSION, "id": message.get("id"), "ok": False, "error": error}
            out = json.dumps(too_long).encode("utf-8")
        # The daemon may have gone away; it asks again when it is back.
        with contextlib.suppress(OSError):
            self._socket.sendto(out, sender)

    def tell(self, message: dict[str, Any]) -> bool:
        """Send news to the daemon that asked last; False when none has asked yet."""
        if self._daemon is None:
            return False
        data = json.dumps({"v": VERSION, **message}).encode("utf-8")
        with contextlib.suppress(OSError):
            self._socket.sendto(data, self._daemon)
        return True

    def close(self) -> None:
        self._socket.close()
