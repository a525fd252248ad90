"""What every resource (server, port, watcher, stager) shares: an idempotent `close()`, and
a `with` block that closes it however the block ends."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Closeable(ABC):
    """A resource with an idempotent `close()`; `with` hands it over and closes it after."""

    @abstractmethod
    def close(self) -> None:
        """Release the resource; calling it again does nothing."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Startable(Closeable):
    """A Closeable that runs something (a server, a watcher): `with` starts it first."""

    @abstractmethod
    def start(self) -> Self:
        """Start it (doing nothing if it runs already) and return it."""

    def __enter__(self) -> Self:
        return self.start()


class AsyncOpenable:
    """A resource opened with `await open()` and closed with `await aclose()`; `async with`
    does both."""

    async def open(self) -> Self:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release the resource; calling it again does nothing."""

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
