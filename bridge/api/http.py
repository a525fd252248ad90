"""The one place an httpx.AsyncClient is built for the bridge.

httpx is always the interface; the wire under it is chosen by how many requests the
process will make. The daemon's (`wire="aiohttp"`, the default) goes through aiohttp
(`api/transport.py`): a status poll costs its event loop about a third less CPU
(`bench/poll_cpu.py`). A command that makes a handful of requests and exits (`run`,
`jobs resume`, `credits`, `doctor`: `wire="httpx"`) uses httpx's own transport, which
loads in well under half of aiohttp's time (~50 against ~100-150 ms, aiohttp building two
certificate contexts on import); either builds the process's certificate context at its
first https request. Both raise the same httpx errors
(`tests/test_transport.py`). A transport passed in replaces either.
"""

from __future__ import annotations

import ssl
from typing import Literal
from urllib.request import getproxies

import httpx

from bridge import __version__
from bridge.net import tls_context

Wire = Literal["aiohttp", "httpx"]


def make_http_client(
    *,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
    max_connections: int = 8,
    wire: Wire = "aiohttp",
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient with the bridge's timeouts and limits.

    It carries no Authorization header: the API client adds it to API calls only,
    so result files fetched from other hosts never see the key. `max_connections`
    bounds the default transport's pool; a transport passed in brings its own.
    """
    if transport is None:
        transport = _transport(wire, max_connections)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        follow_redirects=True,
        headers={"User-Agent": f"producer-bridge/{__version__}"},
        transport=transport,
        # httpx verifies only through the transports it makes itself: those of the proxies
        # the environment names. Without one, the context (~20 ms to build) is not needed.
        verify=tls_context() if getproxies() else True,
    )


def _transport(wire: Wire, max_connections: int) -> httpx.AsyncBaseTransport:
    if wire == "httpx":
        return _PoolPerScheme(httpx.Limits(max_connections=max_connections))
    from bridge.api.transport import AiohttpTransport  # aiohttp: only with a client

    return AiohttpTransport(max_connections=max_connections)


class _PoolPerScheme(httpx.AsyncBaseTransport):
    """httpx's own transport, one pool per scheme, each made at its scheme's first request:
    the certificate context (`net.tls_context`, ~20 ms to read the authorities) is built
    on the first https request, as the aiohttp wire does, so a process that speaks plain
    http (to the emulator) never builds it. `max_connections` bounds each pool."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scheme = request.url.scheme
        pool = self._pools.get(scheme)
        if pool is None:
            # Any scheme but https gets a context that trusts no authority: it makes no
            # TLS connection, and would fail closed if it were ever asked to.
            verify = tls_context() if scheme == "https" else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            pool = httpx.AsyncHTTPTransport(limits=self._limits, verify=verify)
            self._pools[scheme] = pool
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
