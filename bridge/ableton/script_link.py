"""The daemon's end of the loopback link to our Live remote script: an asyncio UDP client
(protocol in bridge/ableton/protocol.py). Questions carry an id; the answer with that id
settles them. Live answers on its display timer, so an answer takes up to ~100 ms."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import Any

from bridge.ableton.protocol import (
    SCRIPT_PORT,
    Hello,
    Placed,
    Snapshot,
    answer_of,
    decode,
    encode,
)
from bridge.errors import AbletonError
from bridge.resources import AsyncOpenable

log = logging.getLogger(__name__)

HINT = (
    "check that Live is running with ProducerBridge chosen as a Control Surface (Settings → "
    "Link, Tempo & MIDI); install it with `producer-bridge install ableton`"
)


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, link: RemoteScriptLink) -> None:
        self._link = link

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._link._on_datagram(data)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error from the link to Live: %s", exc)


class RemoteScriptLink(AsyncOpenable):
    """``async with RemoteScriptLink() as live: await live.read()``."""

    def __init__(
        self,
        port: int = SCRIPT_PORT,
        timeout: float = 1.0,
        on_news: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.port = port
        self.timeout = timeout
        # What Live sends unasked (MIDI from the surface's controller), once it knows us.
        self.on_news = on_news
        self._transport: asyncio.DatagramTransport | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def open(self) -> RemoteScriptLink:
        if self._transport is None:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Receiver(self), local_addr=("127.0.0.1", 0)
            )
            self._transport = transport
        return self

    def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(AbletonError("the link to Live was closed"))
        self._pending.clear()

    async def aclose(self) -> None:
        self.close()

    async def hello(self) -> Hello:
        return answer_of(Hello, "say hello", await self.ask("hello"))

    async def read(self) -> Snapshot:
        return answer_of(Snapshot, "read its clip and loop", await self.ask("read"))

    async def place(self, folder: str, clips: list[dict[str, Any]], after: int) -> Placed:
        message = await self.ask("place", folder=folder, clips=clips, after=after)
        return answer_of(Placed, "place the results", message)

    async def ask(self, op: str, **fields: Any) -> dict[str, Any]:
        if self._transport is None:
            raise AbletonError("the link to Live is not open")
        ident = next(self._ids)
        data = encode({"id": ident, "op": op, **fields})
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            self._transport.sendto(data, ("127.0.0.1", self.port))
            async with asyncio.timeout(self.timeout):
                return await future
        except TimeoutError:
            raise AbletonError(
                f"Live did not answer within {self.timeout:g} s on UDP port {self.port}: {HINT}"
            ) from None
        finally:
            self._pending.pop(ident, None)

    def _on_datagram(self, data: bytes) -> None:
        message = decode(data)
        if message is not None and "id" not in message and self.on_news is not None:
            self.on_news(message)
            return
        ident = message.get("id") if message is not None else None
        future = self._pending.get(ident) if isinstance(ident, int) else None
        if message is None or future is None or future.done():
            log.debug("ignored a datagram on the link to Live (%d bytes)", len(data))
            return
        future.set_result(message)
