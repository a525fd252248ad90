"""Running a local aiohttp server on its own thread and event loop.

The stager and the emulator both serve HTTP while the rest of the bridge (or a
test) does other work. Each runs on a thread of its own so that neither the DSP
of the emulator nor a blocking caller can stall the other.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Self, TypeVar

from bridge.errors import BridgeError
from bridge.net import address_in_use
from bridge.resources import Startable

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)
T = TypeVar("T")


class BackgroundServer(Startable):
    """An aiohttp application served from a daemon thread; a context manager."""

    def __init__(
        self,
        app_factory: Callable[[], web.Application],
        *,
        host: str,
        port: int,
        name: str,
        error_type: type[BridgeError],
    ) -> None:
        self._factory = app_factory
        self.host = host
        self._requested_port = port
        self.name = name
        self._error_type = error_type
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._join()
            raise self._error_type(
                f"{self.name} cannot listen on {self.host}:{self._requested_port}: {self._failure}"
                + (" (is another instance running?)" if address_in_use(self._failure) else "")
            ) from self._failure
        log.debug("%s listening on %s", self.name, self.url)
        return self

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run a coroutine on the server's loop from another thread."""
        if self._loop is None:
            coro.close()
            raise self._error_type(f"{self.name} is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def close(self) -> None:
        """Stop serving and join the thread. Safe to call more than once."""
        loop, runner = self._loop, self._runner
        if loop is None or self._thread is None:
            return
        if runner is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
            self._runner = None
        self._join()

    def _join(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        if self._loop is not None and not self._loop.is_running():
            self._loop.close()
        self._thread = None
        self._loop = None

    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the starting thread, which raises
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())

    async def _serve(self) -> None:
        from aiohttp import web  # loaded when a server starts, not when its module is

        runner = web.AppRunner(self._factory(), access_log=None, handle_signals=False)
        await runner.setup()
        # asyncio's default for address reuse: on POSIX a restart may bind a port still in
        # TIME_WAIT; on Windows the same option would let two servers share a port, so it
        # stays off there.
        site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        self.port = int(addresses[0][1]) if addresses else self._requested_port

