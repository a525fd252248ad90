"""An httpx transport that sends its requests through aiohttp.

httpx stays the client's interface (requests, responses, redirects, its errors), and
aiohttp carries the bytes: its HTTP parser is compiled, where httpcore's and h11's are
Python, so a status poll costs the event loop's thread about a third of the CPU
(`bench/poll_cpu.py`). aiohttp's errors become the httpx errors httpcore raises in the
same case, so `api/client.py`, `api/download.py` and `api/retry.py` see no difference:
a connection never made is `ConnectError`/`ConnectTimeout`, a request that could not be
written whole `WriteError`, one lost after the request was sent is
`ReadError`/`RemoteProtocolError`, a silent server `ReadTimeout`.

aiohttp is imported on the first request, not with the client: a daemon that sends
nothing does not carry it.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

import httpx

from bridge.net import tls_context

if TYPE_CHECKING:
    import aiohttp

CHUNK = 1 << 16
KEEPALIVE = 5.0  # seconds an idle connection is kept, httpx's own default

_Timeouts = Mapping[str, float | None]
# How aiohttp words a request it could not finish writing, e.g. to a kept-alive
# connection the server had already closed (client_reqrep.py, `write_bytes`).
_UNWRITTEN = "Can not write request body"


class AiohttpTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 through one aiohttp session, opened on the first request (inside the
    running loop) and closed with the httpx client. Bodies are streamed; redirects,
    cookies and content decoding stay httpx's."""

    def __init__(self, *, max_connections: int = 8) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._ssl: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp
        from yarl import URL

        session = self._session or self._open()
        body = await request.aread()
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=_headers(request, len(body)),
                data=body or None,
                allow_redirects=False,
                timeout=_timeout(request.extensions.get("timeout", {})),
                ssl=self._context() if request.url.scheme == "https" else True,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise translate(exc, request) from exc
        version = response.version
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            request=request,
            extensions={
                "http_version": f"HTTP/{version.major}.{version.minor}".encode()
                if version
                else b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("ascii", "replace"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=self._max_connections, keepalive_timeout=KEEPALIVE, enable_cleanup_closed=False
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # httpx decodes Content-Encoding itself
            cookie_jar=aiohttp.DummyCookieJar(),  # and keeps the cookies
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        # aiohttp would send a GET again, unasked, when its connection drops; whether
        # and when to repeat is the retry policy's call (`api/retry.py`).
        self._session._retry_connection = False
        return self._session

    def _context(self) -> ssl.SSLContext:
        """httpx's own certificate checks (certifi), the process's one context
        (`net.tls_context`), taken on the first https request."""
        if self._ssl is None:
            self._ssl = tls_context()
        return self._ssl


class _Body(httpx.AsyncByteStream):
    """The response body as aiohttp receives it; its errors translated as they come."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise translate(exc, self._request) from exc

    async def aclose(self) -> None:
        if self._response.content.is_eof():
            self._response.release()  # the connection goes back to the pool
        else:
            self._response.close()  # a body not read to its end: the connection is dropped


def _headers(request: httpx.Request, length: int) -> list[tuple[str, str]]:
    """httpx's headers, the body read whole: a streamed one is sent with its length."""
    pairs = [
        (name, value)
        for name, value in request.headers.multi_items()
        if name not in ("transfer-encoding", "content-length")
    ]
    if length or request.method not in ("GET", "HEAD", "OPTIONS", "DELETE"):
        pairs.append(("content-length", str(length)))
    return pairs


def _timeout(timeouts: _Timeouts) -> aiohttp.ClientTimeout:
    """httpx's timeouts: `pool` bounds the wait for a connection and `connect` the
    socket's; aiohttp has no write timeout (the bodies sent are small)."""
    import aiohttp

    return aiohttp.ClientTimeout(
        total=None,
        connect=timeouts.get("pool"),
        sock_connect=timeouts.get("connect"),
        sock_read=timeouts.get("read"),
    )


def translate(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error httpcore raises where aiohttp raised `exc`."""
    import aiohttp

    text = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(text, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
        return httpx.ConnectError(text, request=request)
    if isinstance(exc, aiohttp.ClientOSError) and _UNWRITTEN in text:
        return httpx.WriteError(text, request=request)  # what httpcore raises there
    if isinstance(exc, TimeoutError):  # aiohttp.SocketTimeoutError too
        return httpx.ReadTimeout(text, request=request)
    if isinstance(exc, aiohttp.NonHttpUrlClientError | aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(text, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(text, request=request)
    if isinstance(exc, aiohttp.ClientResponseError):  # an answer that is not HTTP
        return httpx.RemoteProtocolError(text, request=request)
    return httpx.ReadError(text, request=request)  # reset, broken pipe: sent, no answer
