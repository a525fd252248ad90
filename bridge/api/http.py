"""The one place an httpx.AsyncClient is built for the bridge.

Its requests go through aiohttp (`api/transport.py`) unless a transport is passed in:
httpx's interface, a cheaper wire (a status poll costs the event loop about a third less
CPU, `bench/poll_cpu.py`).
"""

from __future__ import annotations

from urllib.request import getproxies

import httpx

from bridge import __version__
from bridge.net import tls_context


def make_http_client(
    *,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
    max_connections: int = 8,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient with the bridge's timeouts and limits.

    It carries no Authorization header: the API client adds it to API calls only,
    so result files fetched from other hosts never see the key. `max_connections`
    bounds the default transport's pool; a transport passed in brings its own.
    """
    if transport is None:
        from bridge.api.transport import AiohttpTransport  # aiohttp: only with a client

        transport = AiohttpTransport(max_connections=max_connections)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        follow_redirects=True,
        headers={"User-Agent": f"producer-bridge/{__version__}"},
        transport=transport,
        # httpx verifies only through the transports it makes itself: those of the proxies
        # the environment names. Without one, the context (~20 ms to build) is not needed.
        verify=tls_context() if getproxies() else True,
    )
