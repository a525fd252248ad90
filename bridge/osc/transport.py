"""OSC over UDP: one socket that receives messages and sends answers, on a thread of its own.

python-osc builds and parses the packets; the socket is ours, so that answers leave from the
port the sender wrote to, a bad packet is answered rather than dropped, and binding a port
that is taken fails at once with a message that names it.

The socket is read by a thread of its own ("osc <port>") blocked in `recvfrom`, as a bare
python-osc server reads it, so that an answer that needs nothing from the jobs (`direct`:
a ping, a status, the context) is sent from there at once, whatever the main loop is busy
with. A datagram the daemon answers always the same way (a ping: `answer_at_once`) is
answered from bytes built once, without being parsed. Every other message is handed to the
main loop in the order it arrived, and so is a direct or canned one while a message its
sender sent before it still waits there, so the answers to one sender never overtake each
other. Sending is a plain `sendto` on the socket, safe from any thread.

Why no event loop on that thread: the thread needs Python's GIL, which the main thread
holds while it parses a poll's answer. An event loop took the GIL after its select and again
after its read, and a ping then went through python-osc, the daemon's handlers and
python-osc again: each moment holding the GIL was one more at which a ping could wait for
the main thread (bench/README.md, "OSC p99 with 50 jobs").
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pythonosc.osc_message_builder import BuildError, OscMessageBuilder
from pythonosc.osc_packet import OscPacket, ParseError

from bridge.errors import InputError
from bridge.net import address_in_use

log = logging.getLogger(__name__)

MAX_DATAGRAM = 65536  # a UDP payload is at most 65,507 bytes over IPv4, 65,527 over IPv6
WAKE_TIMEOUT = 5.0  # seconds close() waits for the reading thread
# The socket blocks for its reader; a send, from any thread, must not (not on Windows).
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)

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
        self._thread: threading.Thread | None = None
        self._closing = False
        # Datagrams answered without parsing them: what was asked -> (answer, copies to).
        self._canned: dict[bytes, tuple[bytes, tuple[Address, ...]]] = {}
        # Per sender, the messages handed to the main loop and not yet handled there.
        self._waiting: dict[Address, int] = {}
        self._waiting_lock = threading.Lock()

    async def open(self) -> OscEndpoint:
        self._main = asyncio.get_running_loop()
        sock = self._sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name=f"osc {self.port}", daemon=True
        )
        self._thread.start()
        return self

    def _serve(self, sock: socket.socket) -> None:
        # A plain blocking read, as a bare python-osc server does: the thread sleeps in
        # the kernel and needs the GIL once per datagram, where an event loop took it after
        # its select and again after its read.
        buffer = bytearray(MAX_DATAGRAM)
        view = memoryview(buffer)
        while True:
            try:
                size, addr = sock.recvfrom_into(buffer)
            except ConnectionResetError as exc:
                # Windows reports an ICMP "port unreachable" (an answer to a sender that
                # has gone) on the next read: harmless.
                log.debug("OSC socket: %s", exc)
                continue
            except OSError as exc:
                if not self._closing:
                    log.error("OSC port %s: reading stopped: %s", self.port, exc)
                return
            if self._closing or addr is None:  # woken by close()
                return
            data, sender = bytes(view[:size]), (addr[0], addr[1])
            canned = self._canned.get(data)
            try:
                if canned is None or sender in self._waiting:
                    self._datagram(data, sender)
                    continue
                for target in {sender, *canned[1]}:
                    self._sendto(canned[0], target)
            except Exception:  # the thread must go on reading whatever one datagram did
                log.exception("OSC packet from %s:%s: not handled", *sender)

    def answer_at_once(
        self, asked: Iterable[bytes], answer: bytes, copies: Iterable[Address] = ()
    ) -> None:
        """Answer a datagram equal to one of `asked` with `answer` (to its sender and to
        `copies`) as soon as it is read, unparsed, unless its sender has a message waiting
        on the main loop (it then goes the usual way, in order)."""
        for packet in asked:
            self._canned[packet] = (answer, tuple(copies))

    def _datagram(self, data: bytes, sender: Address) -> None:
        try:
            messages = parse(data)
        except ParseError as exc:
            log.warning("OSC packet from %s:%s is not valid OSC: %s", *sender, exc)
            messages = [("", [f"not a valid OSC packet: {exc}"])]
        for address, args in messages:
            self.received(address, args, sender)

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
        try:
            data = build(address, args)
        except BuildError as exc:
            log.warning("OSC %s to %s:%s not sent: %s", address, *target, exc)
            return
        self._sendto(data, target)

    def _sendto(self, data: bytes, target: Address) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendto(data, _DONTWAIT, target)
        except OSError as exc:
            address = data[: data.find(b"\0")].decode(errors="replace")
            log.warning("OSC %s to %s:%s not sent: %s", address, *target, exc)

    def close(self) -> None:
        thread, sock = self._thread, self._sock
        self._sock = self._thread = None
        self._closing = True
        if thread is not None and sock is not None:
            _wake(sock)
            thread.join(WAKE_TIMEOUT)
            if thread.is_alive():
                log.warning("OSC port %s: its reading thread did not stop", self.port)
        if sock is not None:
            sock.close()

    async def __aenter__(self) -> OscEndpoint:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def _wake(sock: socket.socket) -> None:
    """Wake the thread blocked reading `sock`: Linux wakes it when the socket is shut down
    (refusing to, as it is not connected, all the same); elsewhere an empty datagram sent
    to itself does."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError, ValueError):
        address = list(sock.getsockname())
        if ipaddress.ip_address(address[0]).is_unspecified:  # a wildcard socket's own address
            address[0] = "::1" if sock.family == socket.AF_INET6 else "127.0.0.1"
        sock.sendto(b"", tuple(address))


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
