"""Running a local aiohttp server on its own thread and event loop.

The stager and the emulator both serve HTTP while the rest of the bridge (or a
test) does other work. Each runs on a thread of its own so that neither the DSP
of the emulator nor a blocking caller can stall the other.

A server made with `on_first_use` binds its port when started (so a taken port is named
at once) but loads aiohttp and serves only from its first connection, or `serve_now()`:
the daemon's stager costs nothing until a job stages a clip.
"""

from __future__ import annotations

import asyncio
import logging
import os
import selectors
import socket
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
        on_first_use: bool = False,
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
        self._on_first_use = on_first_use
        self._waiting: _Waiting | None = None  # the port bound, not served yet
        self._starting = threading.Lock()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        if self._thread is not None or self._waiting is not None:
            return self
        if self._on_first_use:
            self._waiting = _Waiting(self._bind(), self.serve_now, self.name)
            return self
        return self._start_serving()

    def serve_now(self) -> None:
        """Serve from the port bound at `start` (a server made `on_first_use`), if not yet."""
        waiting = self._waiting
        if waiting is None:
            return
        with self._starting:
            if self._thread is None:
                self._start_serving()
        waiting.stop()

    def _bind(self) -> socket.socket:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, self._requested_port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            listening = socket.socket(family, kind, proto)
        except OSError as exc:
            raise self._cannot_listen(exc) from exc
        try:
            if os.name == "posix":  # as asyncio's own servers: a restart may bind at once
                listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind(address)
            listening.listen(100)
        except OSError as exc:
            listening.close()
            raise self._cannot_listen(exc) from exc
        self.port = int(listening.getsockname()[1])
        return listening

    def _cannot_listen(self, failure: BaseException) -> BridgeError:
        return self._error_type(
            f"{self.name} cannot listen on {self.host}:{self._requested_port}: {failure}"
            + (" (is another instance running?)" if address_in_use(failure) else "")
        )

    def _start_serving(self) -> Self:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._join()
            raise self._cannot_listen(self._failure) from self._failure
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
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.stop()
        loop, runner = self._loop, self._runner
        if loop is not None and self._thread is not None:
            if runner is not None and loop.is_running():
                asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
                self._runner = None
            self._join()
        if waiting is not None:  # never served from, or closed already by the server
            waiting.socket.close()

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
        site: web.BaseSite = (
            web.TCPSite(runner, self.host, self._requested_port)
            if self._waiting is None
            else web.SockSite(runner, self._waiting.socket)
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        self.port = int(addresses[0][1]) if addresses else self._requested_port


class _Waiting:
    """A listening socket nobody serves yet, and a thread that calls `serve` when its first
    connection arrives (or `stop` is called)."""

    def __init__(self, listening: socket.socket, serve: Callable[[], None], name: str) -> None:
        self.socket = listening
        self._wake, self._waker = socket.socketpair()
        self._woken = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._wait, args=(serve,), name=f"{name} (waiting)", daemon=True
        )
        self._thread.start()

    def _wait(self, serve: Callable[[], None]) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            ready = {key.fileobj for key, _ in selector.select()}
        if self.socket in ready and self._wake not in ready:
            try:
                serve()
            except BridgeError as exc:
                log.error("%s", exc)

    def stop(self) -> None:
        """Wake the thread, and (but from itself) join it; safe to call more than once."""
        with self._lock:
            if not self._woken:
                self._woken = True
                self._waker.send(b"\0")
        if threading.current_thread() is self._thread:
            return
        self._thread.join(10)
        with self._lock:
            self._wake.close()
            self._waker.close()
