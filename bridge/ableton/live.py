"""Asks Ableton Live, through the AbletonOSC remote script, for its loop region, tempo and
selected clip: an asyncio UDP client.

Addresses and reply shapes as read in ideoforms/AbletonOSC: README.md at eb1dccd0,
abletonosc/song.py at 0429b6e5, view.py at 93e1f79e, clip.py at c53cdbf8, clip_slot.py at
9f9af07b, osc_server.py at 316c1d84, manager.py at c7bf4f4b. What matters here:

- AbletonOSC listens on UDP 11000 and sends every reply to UDP 11001 *on the sender's host*,
  whatever port the query came from: so we must listen on exactly that port.
- A getter's reply has the query's address. Song getters reply ``(value,)``; clip and clip
  slot getters echo the ids first, ``(track, clip, value)``; ``/live/view/get/selected_clip``
  replies ``(track, scene)`` (a clip slot's index is its scene's).
- There is no "nothing selected" answer: Live always has a selected track and scene. When a
  handler fails (a return or master track is selected, a getter on an empty slot) AbletonOSC
  sends ``/live/error`` with a text instead of a reply, uncorrelated to the query.
- ``/live/test`` replies ``("ok",)``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pythonosc.osc_message_builder import BuildError
from pythonosc.osc_packet import ParseError

from bridge.ableton.timing import LiveSelection, loop_selection
from bridge.errors import AbletonError
from bridge.net import address_in_use, is_loopback
from bridge.osc.transport import build, parse
from bridge.resources import AsyncOpenable

if TYPE_CHECKING:
    from bridge.config import AbletonSettings

log = logging.getLogger(__name__)

DEFAULT_PORT = 11000
DEFAULT_LISTEN_PORT = 11001

TEST = "/live/test"
TEMPO = "/live/song/get/tempo"
LOOP_START = "/live/song/get/loop_start"
LOOP_LENGTH = "/live/song/get/loop_length"
SELECTED_CLIP = "/live/view/get/selected_clip"
HAS_CLIP = "/live/clip_slot/get/has_clip"
IS_AUDIO_CLIP = "/live/clip/get/is_audio_clip"
FILE_PATH = "/live/clip/get/file_path"
ERROR = "/live/error"

_LIVE_HINT = (
    "check that Live is running with the AbletonOSC control surface selected "
    "(Preferences → Link, Tempo & MIDI → Control Surface: AbletonOSC)"
)

# How many leading arguments a getter's reply echoes from its query (AbletonOSC has done
# this since 2022-12-17): the ids that tell two concurrent queries of one address apart.
_ECHOED_IDS = {"/live/clip/get/": 2, "/live/clip_slot/get/": 2, "/live/track/get/": 1}

Reply = tuple[Any, ...]
_Key = tuple[str, tuple[int, ...]]


def echoed_ids(address: str) -> int:
    for prefix, count in _ECHOED_IDS.items():
        if address.startswith(prefix):
            return count
    return 0


def _is_index(value: object) -> bool:
    # TouchOSC-style clients send ids as floats; AbletonOSC casts them with int().
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and float(value).is_integer()


def _key(address: str, args: Sequence[Any]) -> _Key | None:
    count = echoed_ids(address)
    ids = args[:count]
    if len(ids) < count or not all(_is_index(value) for value in ids):
        return None
    return address, tuple(int(value) for value in ids)


def encode(address: str, args: Sequence[Any]) -> bytes:
    try:
        return build(address, args)
    except BuildError as exc:
        raise AbletonError(f"cannot build an OSC message {address} {args!r}: {exc}") from exc


def decode(data: bytes) -> list[tuple[str, Reply]]:
    """The messages in one datagram; empty for anything that is not OSC."""
    try:
        return [(address, tuple(args)) for address, args in parse(data)]
    except ParseError:
        return []  # a stray datagram must never break the endpoint


@dataclass(frozen=True)
class _Refusal:
    """AbletonOSC answered with ``/live/error`` instead of a reply."""

    message: str


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, deliver: Callable[[bytes, Any], None], closed: asyncio.Future[None]) -> None:
        self._deliver = deliver
        self._closed = closed

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._deliver(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP "port unreachable" when Live is not listening: the timeout reports it better.
        log.debug("UDP error from the AbletonOSC socket: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)


class AbletonLink(AsyncOpenable):
    """``async with AbletonLink() as link: await link.selection()``.

    One UDP socket, bound to ``listen_port`` (where AbletonOSC sends its replies), also
    sends the queries to ``host:port``. Concurrent queries are told apart by address and,
    for clip getters, by the echoed track and clip ids.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        listen_port: int = DEFAULT_LISTEN_PORT,
        timeout: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.listen_port = listen_port
        self.timeout = timeout
        self._transport: asyncio.DatagramTransport | None = None
        self._closed: asyncio.Future[None] | None = None
        self._live: tuple[str, int] = (host, port)
        self._pending: dict[_Key, deque[asyncio.Future[Reply | _Refusal]]] = {}
        self._last_error: str | None = None

    @classmethod
    def from_settings(cls, settings: AbletonSettings) -> AbletonLink:
        return cls(settings.host, settings.port, settings.listen_port, settings.timeout)

    @property
    def listen_address(self) -> tuple[str, int]:
        """Where replies are received (the port is the real one even if 0 was asked)."""
        if self._transport is None:
            raise AbletonError("the link to Live is not open")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def open(self) -> AbletonLink:
        if self._transport is not None:
            return self
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.host, self.port, family=socket.AF_INET)
        except OSError as exc:
            raise AbletonError(f"cannot resolve Live's host {self.host!r}: {exc}") from exc
        self._live = (str(infos[0][4][0]), self.port)
        # Replies come to the host we send from: from loopback when Live is local, so we
        # need not listen on the network at all.
        bind = "127.0.0.1" if is_loopback(self._live[0]) else "0.0.0.0"  # noqa: S104
        closed: asyncio.Future[None] = loop.create_future()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Receiver(self._on_datagram, closed), local_addr=(bind, self.listen_port)
            )
        except OSError as exc:
            raise self._bind_error(bind, exc) from exc
        self._transport, self._closed = transport, closed
        log.debug("listening for AbletonOSC replies on %s:%d", bind, self.listen_port)
        return self

    def _bind_error(self, bind: str, exc: OSError) -> AbletonError:
        # Windows answers WSAEACCES (10013) for a port another socket holds exclusively.
        refused = exc.errno == errno.EACCES or getattr(exc, "winerror", None) == 10013
        if address_in_use(exc) or refused:
            return AbletonError(
                f"cannot listen for AbletonOSC replies on UDP port {self.listen_port} "
                f"({bind}): another program holds it, often another AbletonOSC client such as "
                "a second producer-bridge or a controller app (TouchOSC, a Max patch). Close "
                "it, or change OSC_RESPONSE_PORT in AbletonOSC's abletonosc/constants.py and "
                "set ableton.listen_port to the same port"
            )
        return AbletonError(f"cannot listen on UDP {bind}:{self.listen_port}: {exc}")

    def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is None:
            return
        transport.close()
        for waiters in self._pending.values():
            for future in waiters:
                if not future.done():
                    future.set_exception(AbletonError("the link to Live was closed"))
        self._pending.clear()

    async def aclose(self) -> None:
        """Close, and wait until the socket is really released (on the loop's next turn)."""
        self.close()
        if self._closed is not None:
            await self._closed
            self._closed = None


    # -- queries -----------------------------------------------------------------------------

    async def query(self, address: str, *args: Any) -> Reply:
        """Send one message and return the arguments of Live's reply, as sent (clip getters
        include the echoed track and clip ids)."""
        reply = await self._ask(address, *args)
        if isinstance(reply, _Refusal):
            raise AbletonError(f"Live could not answer {address}: {reply.message}")
        return reply

    async def ping(self) -> None:
        reply = await self.query(TEST)
        if reply[:1] != ("ok",):
            raise AbletonError(f"Live answered {TEST} with {reply!r} instead of 'ok'")

    async def selection(self) -> LiveSelection:
        """The Arrangement loop region in seconds, and the selected clip's audio file."""
        tempo, start, length = await _all(
            self.query(TEMPO), self.query(LOOP_START), self.query(LOOP_LENGTH)
        )
        selection = loop_selection(
            _number(TEMPO, tempo), _number(LOOP_START, start), _number(LOOP_LENGTH, length)
        )
        return replace(selection, clip_path=await self.selected_clip_path())

    async def selected_clip_path(self) -> str | None:
        """The audio file of the clip in the selected Session slot; None when there is no
        audio clip there (empty slot, MIDI clip, return or master track selected)."""
        reply = await self._ask(SELECTED_CLIP)
        if isinstance(reply, _Refusal):
            log.info("Live has no selected clip slot (%s)", reply.message)
            return None
        track, scene = _ids(SELECTED_CLIP, reply, 2)
        if not _flag(HAS_CLIP, await self.query(HAS_CLIP, track, scene)):
            log.info("the selected slot (track %d, scene %d) is empty", track, scene)
            return None
        if not _flag(IS_AUDIO_CLIP, await self.query(IS_AUDIO_CLIP, track, scene)):
            log.info("the selected clip (track %d, scene %d) is a MIDI clip", track, scene)
            return None
        path = (await self.query(FILE_PATH, track, scene))[2:]
        if len(path) == 1 and isinstance(path[0], str) and path[0]:
            return path[0]
        log.info("the selected clip (track %d, scene %d) has no file: %r", track, scene, path)
        return None

    async def _ask(self, address: str, *args: Any) -> Reply | _Refusal:
        if self._transport is None:
            raise AbletonError("the link to Live is not open")
        key = _key(address, args)
        if key is None:
            raise AbletonError(f"{address} needs {echoed_ids(address)} integer ids first")
        data = encode(address, args)
        future: asyncio.Future[Reply | _Refusal] = asyncio.get_running_loop().create_future()
        waiters = self._pending.setdefault(key, deque())
        waiters.append(future)
        try:
            self._transport.sendto(data, self._live)
            async with asyncio.timeout(self.timeout):
                return await future
        except TimeoutError:
            raise AbletonError(self._silence(address)) from None
        finally:
            if future in waiters:
                waiters.remove(future)
            if not waiters and self._pending.get(key) is waiters:
                del self._pending[key]

    def _silence(self, address: str) -> str:
        host, port = self._live
        message = (
            f"Live did not answer {address} within {self.timeout:g} s: {_LIVE_HINT}, and "
            f"that it listens on {host}:{port} and replies to port {self.listen_port}"
        )
        if self._last_error:
            message += f" (Live's last error: {self._last_error})"
        return message

    # -- replies -----------------------------------------------------------------------------

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        messages = decode(data)
        if not messages:
            log.debug("ignored a datagram from %s that is not OSC (%d bytes)", addr, len(data))
        for address, args in messages:
            if address == ERROR:
                self._on_error(args)
                continue
            key = _key(address, args)
            waiters = self._pending.get(key) if key is not None else None
            future = next((f for f in waiters or () if not f.done()), None)
            if future is None:
                log.debug("ignored an unexpected OSC message from %s: %s %r", addr, address, args)
                continue
            future.set_result(args)

    def _on_error(self, args: Reply) -> None:
        text = " ".join(str(arg) for arg in args)
        waiting = [f for waiters in self._pending.values() for f in waiters if not f.done()]
        # The error names no query; it can only be pinned on one when just one is waiting.
        if len(waiting) == 1:
            waiting[0].set_result(_Refusal(text))
            return
        log.warning("Live reported an error: %s", text)
        self._last_error = text


async def _all(*queries: Awaitable[Reply]) -> list[Reply]:
    """Run queries together (AbletonOSC answers all queued messages in one tick); on the first
    failure, stop the others so none outlives the call."""
    tasks = [asyncio.ensure_future(query) for query in queries]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _number(address: str, reply: Reply) -> float:
    if len(reply) == 1 and isinstance(reply[0], int | float) and not isinstance(reply[0], bool):
        return float(reply[0])
    raise AbletonError(f"Live answered {address} with {reply!r}, expected one number")


def _ids(address: str, reply: Reply, count: int) -> tuple[int, ...]:
    if len(reply) >= count and all(_is_index(value) for value in reply[:count]):
        return tuple(int(value) for value in reply[:count])
    raise AbletonError(f"Live answered {address} with {reply!r}, expected {count} indices")


def _flag(address: str, reply: Reply) -> bool:
    value = reply[2:]
    if len(value) == 1 and isinstance(value[0], bool | int):
        return bool(value[0])
    raise AbletonError(f"Live answered {address} with {reply!r}, expected ids and a flag")
