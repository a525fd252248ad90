"""OSC over UDP on the asyncio loop: one socket that receives messages and sends answers.

python-osc builds and parses the packets; the socket is ours, so that answers leave from the
port the sender wrote to, a bad packet is answered rather than dropped, and binding a port
that is taken fails at once with a message that names it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
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
    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    def datagram_received(self, data: bytes, addr: Any) -> None:
        sender: Address = (addr[0], addr[1])
        try:
            messages = parse(data)
        except ParseError as exc:
            log.warning("OSC packet from %s:%s is not valid OSC: %s", *sender, exc)
            messages = [("", [f"not a valid OSC packet: {exc}"])]
        for address, args in messages:
            try:
                self._handler(address, args, sender)
            except Exception:
                # An edge handler must never take the daemon down.
                log.exception("OSC %s from %s:%s: handler failed", address, *sender)

    def error_received(self, exc: Exception) -> None:
        # ICMP "port unreachable" after answering a sender that has gone: harmless.
        log.debug("OSC socket: %s", exc)


class OscEndpoint:
    """A bound UDP socket speaking OSC. `async with OscEndpoint(host, port, handler)`."""

    def __init__(self, host: str, port: int, handler: Handler) -> None:
        self.host = host
        self.port = port
        self._handler = handler
        self._transport: asyncio.DatagramTransport | None = None

    async def open(self) -> OscEndpoint:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self._handler), local_addr=(self.host, self.port)
            )
        except OSError as exc:
            raise InputError(_bind_message(self.host, self.port, exc)) from exc
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self

    def send(self, target: Address, address: str, *args: Any) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        try:
            self._transport.sendto(build(address, args), target)
        except (OSError, BuildError) as exc:
            log.warning("OSC %s to %s:%s not sent: %s", address, *target, exc)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def __aenter__(self) -> OscEndpoint:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def _bind_message(host: str, port: int, exc: OSError) -> str:
    if address_in_use(exc):
        return (
            f"OSC port {port} on {host} is already in use, most likely by another "
            f"producer-bridge serve; stop it, or set osc.port to a free port"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen for OSC on {host}:{port}: no such address on this machine"
    return f"cannot listen for OSC on {host}:{port}: {exc.strerror or exc}"
