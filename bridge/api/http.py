"""The one place an httpx.AsyncClient is built for the bridge."""

from __future__ import annotations

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
    so result files fetched from other hosts never see the key.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections),
        follow_redirects=True,
        headers={"User-Agent": f"producer-bridge/{__version__}"},
        transport=transport,
        verify=tls_context(),
    )
