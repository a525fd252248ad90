"""OSC over UDP: one socket that receives messages and sends answers, on a thread of its own.

python-osc builds and parses the packets; the socket is ours, so that answers leave from the
port the sender wrote to, a bad packet is answered rather than dropped, and binding a port
that is taken fails at once with a message that names it.

The socket is read by an event loop on its own thread ("osc <port>"), so that an answer
that needs nothing from the jobs (`direct`: a ping, a status, the context) is sent from
there at once, whatever the main loop is busy with. Every other message is handed to the
main loop in the order it arrived, and so is a direct one while a message its sender sent
before it still waits there, so the answers to one sender never overtake each other.
Sending is a plain `sendto` on the socket, safe from any thread.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from pythonosc.osc_message_builder import BuildError, OscMessageBuilder
from pythonosc.osc_packet import OscPacket, ParseError

from bridge.errors import InputError
from bridge.net import address_in_use

log = logging.getLogger(__name__)

Address = tuple[str, int]
# (OSC address, arguments, sender); an address of "" means the packet could not be parsed.
Handler = Callable[[str, list[Any], Address], None]
# The same, on the socket's thread: True if it answered the message (else the loop does).
Direct = Callable[[str, list[Any], Address], bool]


def build(address: str, args: Sequence[Any]) -> bytes:
    """One OSC message; python-osc's BuildError for an argument OSC cannot carry."""
    builder = OscMessageBuilder(address=address)
    for arg in args:
        builder.add_arg(_osc_value(arg))
    return bytes(builder.build().dgram)


def parse(data: bytes) -> list[tuple[str, list[Any]]]:
    """Every message in a packet (bundles flattened, in order). ParseError if malformed."""
    if not data.startswith((b"/", b"#bundle\x00")):
        raise ParseError("it does not start with an address or #bundle")
    try:
        packet = OscPacket(data)
    except ParseError:
        raise
    except Exception as exc:  # python-osc lets UnicodeDecodeError and others through
        raise ParseError(f"{type(exc).__name__}: {exc}") from exc
    return [(item.message.address, list(item.message.params)) for item in packet.messages]


def _osc_value(value: Any) -> Any:
    # python-osc refuses None; an OSC peer understands an empty string best.
    if value is None:
        return ""
    if isinstance(value, str) and "\x00" in value:
        # An OSC string ends at its first NUL: one inside (echoed from a bad request, say)
        # would make the message unreadable, so it is shown instead.
        return value.replace("\x00", "\\0")
    return value


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: OscEndpoint) -> None:
        self._endpoint = endpoint

    def datagram_received(self, data: bytes, addr: Any) -> None:
        sender: Address = (addr[0], addr[1])
        try:
            messages = parse(data)
        except ParseError as exc:
            log.warning("OSC packet from %s:%s is not valid OSC: %s", *sender, exc)
            messages = [("", [f"not a valid OSC packet: {exc}"])]
        for address, args in messages:
            self._endpoint.received(address, args, sender)

    def error_received(self, exc: Exception) -> None:
        # ICMP "port unreachable" after answering a sender that has gone: harmless.
        log.debug("OSC socket: %s", exc)


class OscEndpoint:
    """A bound UDP socket speaking OSC. `async with OscEndpoint(host, port, handler)`:
    `handler` runs on the loop that opened it, `direct` on the socket's own thread."""

    def __init__(
        self, host: str, port: int, handler: Handler, direct: Direct | None = None
    ) -> None:
        self.host = host
        self.port = port
        self._handler = handler
        self._direct = direct
        self._sock: socket.socket | None = None
        self._main: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Per sender, the messages handed to the main loop and not yet handled there.
        self._waiting: dict[Address, int] = {}
        self._waiting_lock = threading.Lock()

    async def open(self) -> OscEndpoint:
        self._main = asyncio.get_running_loop()
        self._sock = _bind(self.host, self.port)
        self.port = self._sock.getsockname()[1]
        ready: asyncio.Future[None] = self._main.create_future()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name=f"osc {self.port}", daemon=True
        )
        self._thread.start()
        try:
            await ready
        except BaseException:
            self.close()
            raise
        return self

    def _serve(self, ready: asyncio.Future[None]) -> None:
        assert self._main is not None
        loop = self._loop = asyncio.new_event_loop()
        try:
            transport, _ = loop.run_until_complete(
                loop.create_datagram_endpoint(lambda: _Protocol(self), sock=self._sock)
            )
        except BaseException as exc:
            self._main.call_soon_threadsafe(_settle, ready, exc)
            loop.close()
            return
        self._main.call_soon_threadsafe(_settle, ready, None)
        try:
            loop.run_forever()
        finally:
            transport.close()  # closes the socket once the loop has run its last callbacks
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def received(self, address: str, args: list[Any], sender: Address) -> None:
        """One message, on the socket's thread: answered here or handed on, in order."""
        idle = sender not in self._waiting  # nothing it sent before waits on the main loop
        try:
            if self._direct is not None and idle and self._direct(address, args, sender):
                return
        except Exception:
            log.exception("OSC %s from %s:%s: direct handler failed", address, *sender)
        main = self._main
        if main is None or main.is_closed():
            return
        self._count(sender, 1)
        try:
            main.call_soon_threadsafe(self._deliver, address, args, sender)
        except RuntimeError:  # the main loop closed meanwhile
            self._count(sender, -1)

    def _deliver(self, address: str, args: list[Any], sender: Address) -> None:
        try:
            self._handler(address, args, sender)
        except Exception:
            # An edge handler must never take the daemon down.
            log.exception("OSC %s from %s:%s: handler failed", address, *sender)
        finally:
            self._count(sender, -1)

    def waiting(self, sender: Address) -> int:
        """Messages from `sender` handed to the main loop and not yet handled there."""
        return self._waiting.get(sender, 0)

    def _count(self, sender: Address, change: int) -> None:
        with self._waiting_lock:
            count = self._waiting.get(sender, 0) + change
            if count:
                self._waiting[sender] = count
            else:
                self._waiting.pop(sender, None)

    def send(self, target: Address, address: str, *args: Any) -> None:
        """Send one message from any thread."""
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendto(build(address, args), target)
        except (OSError, BuildError) as exc:
            log.warning("OSC %s to %s:%s not sent: %s", address, *target, exc)

    def close(self) -> None:
        loop, thread, sock = self._loop, self._thread, self._sock
        self._sock = self._loop = self._thread = None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join()
        if sock is not None:
            sock.close()

    async def __aenter__(self) -> OscEndpoint:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def _settle(ready: asyncio.Future[None], exc: BaseException | None) -> None:
    if ready.done():
        return
    if exc is None:
        ready.set_result(None)
    else:
        ready.set_exception(exc)


def _bind(host: str, port: int) -> socket.socket:
    """A UDP socket bound to `host`:`port` (the first address of the host that binds);
    InputError naming the port when none does."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise InputError(_bind_message(host, port, exc)) from exc
    error: OSError = OSError(errno.EADDRNOTAVAIL, "no address to listen on")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.bind(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sock.setblocking(False)
        return sock
    raise InputError(_bind_message(host, port, error)) from error


def _bind_message(host: str, port: int, exc: OSError) -> str:
    if address_in_use(exc):
        return (
            f"OSC port {port} on {host} is already in use, most likely by another "
            f"producer-bridge serve; stop it, or set osc.port to a free port"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen for OSC on {host}:{port}: no such address on this machine"
    return f"cannot listen for OSC on {host}:{port}: {exc.strerror or exc}"
