"""The aiohttp transport fails and answers like httpx's own, against real loopback peers.

Each peer is a small asyncio server that misbehaves one way; the same request goes
through httpx's own transport and through `AiohttpTransport`, and both must raise the
same httpx error (so `api/retry.py` decides the same), or hand back the same answer.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import struct
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from bridge.api import ProducerClient, RetryPolicy, make_http_client
from bridge.api.transport import AiohttpTransport, translate
from bridge.errors import ConnectionFailed, SubmitUncertainError
from tests.conftest import FAST_RETRY

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TRANSPORTS = {"httpx": httpx.AsyncHTTPTransport, "aiohttp": AiohttpTransport}


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
         if line.startswith(b"content-length:")),
        0,
    )  # fmt: skip
    return head, await reader.readexactly(length)


async def hangs_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.close()


async def resets(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await reader.read()  # until the client gives up and closes


async def cuts_the_body_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
    await writer.drain()
    writer.close()


async def is_not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    await writer.drain()
    writer.close()


async def answers_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while not reader.at_eof():  # keep-alive: every request of the connection
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b'Content-Length: 11\r\n\r\n{"ok":true}')
        await writer.drain()


@asynccontextmanager
async def peer(behaviour: Behaviour) -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback server behaving as told; yields its URL and a count of connections."""
    connections = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            await behaviour(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def error_of(transport: str, url: str) -> type[Exception]:
    """The exception a GET of `url` raises through `transport` (0.3 s read timeout)."""
    timeout = httpx.Timeout(0.3)
    async with httpx.AsyncClient(transport=TRANSPORTS[transport](), timeout=timeout) as http:
        with pytest.raises(httpx.TransportError) as raised:
            async with http.stream("GET", url) as response:
                await response.aread()
        return type(raised.value)


@pytest.mark.parametrize(
    "behaviour", [hangs_up, resets, never_answers, cuts_the_body_short, is_not_http]
)
async def test_a_misbehaving_peer_raises_the_same_httpx_error_through_either_transport(
    behaviour: Behaviour,
) -> None:
    async with peer(behaviour) as (url, _):
        errors = {name: await error_of(name, f"{url}/producer/tasks") for name in TRANSPORTS}
    assert errors["aiohttp"] is errors["httpx"]


def test_a_client_imports_aiohttp_with_its_first_request_not_before() -> None:
    code = (
        "import sys; from bridge.api import make_http_client; make_http_client(); "
        "print('aiohttp' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False"]


async def test_a_refused_connection_is_a_connect_error_through_either_transport() -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    assert {await error_of(name, url) for name in TRANSPORTS} == {httpx.ConnectError}


async def test_a_reset_status_lookup_is_sent_once_per_attempt_and_a_create_once() -> None:
    """aiohttp alone would repeat a GET whose connection dropped; the policy decides."""
    async with peer(resets) as (url, connections), make_http_client() as http:
        retry = RetryPolicy(max_attempts=3, base=0.001, cap=0.001)
        client = ProducerClient(http, base_url=url, api_key="k", retry=retry)
        with pytest.raises(ConnectionFailed, match="no answer"):
            await client.task("t1")
        assert connections[0] == 3
        with pytest.raises(SubmitUncertainError):
            await client.download("a1")
        assert connections[0] == 4


async def test_nothing_listening_is_repeated_and_reported_as_unreachable() -> None:
    async with make_http_client(connect_timeout=1.0) as http:
        url = f"http://127.0.0.1:{closed_port()}"
        client = ProducerClient(http, base_url=url, api_key="k", retry=FAST_RETRY)
        with pytest.raises(ConnectionFailed, match="cannot reach") as raised:
            await client.download("a1")  # a create: repeated, it never left
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


async def test_the_peer_sees_the_same_request_and_the_client_the_same_answer() -> None:
    seen: list[tuple[bytes, bytes]] = []
    body = gzip.compress(json.dumps({"taskId": "t1", "status": "processing"}).encode())

    async def answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():  # keep-alive: every request of the connection
            head, sent = await read_request(reader)
            if head.startswith(b"POST /old"):
                writer.write(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /new\r\n")
                writer.write(b"Content-Length: 0\r\n\r\n")
            else:
                seen.append((head, sent))
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Encoding: gzip\r\n")
                writer.write(b"Retry-After: 3\r\nX-Twice: a\r\nX-Twice: b\r\n")
                writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()

    answered = []
    async with peer(answers) as (url, _):
        for name in TRANSPORTS:
            async with make_http_client(transport=TRANSPORTS[name]()) as http:
                response = await http.post(f"{url}/old?x=1", json={"a": "é"})
                answered.append(
                    (response.status_code, response.json(), response.headers.get_list("x-twice"),
                     response.headers["retry-after"], response.reason_phrase, str(response.url))
                )  # fmt: skip
    assert answered[0] == answered[1]
    assert answered[1][:2] == (201, {"taskId": "t1", "status": "processing"})
    (head, sent), (their_head, their_sent) = seen
    assert sent == their_sent
    assert json.loads(sent) == {"a": "é"}
    assert sorted(head.lower().split(b"\r\n")) == sorted(their_head.lower().split(b"\r\n"))


def test_a_request_aiohttp_could_not_finish_writing_is_a_write_error() -> None:
    """aiohttp's own words when a kept-alive connection was closed under the request."""
    import aiohttp

    request = httpx.Request("POST", "http://127.0.0.1/producer/audios")
    unwritten = aiohttp.ClientOSError(32, "Can not write request body for http://127.0.0.1/")
    assert isinstance(translate(unwritten, request), httpx.WriteError)
    reset = aiohttp.ClientOSError(104, "Connection reset by peer")
    assert isinstance(translate(reset, request), httpx.ReadError)


async def test_the_certificate_context_is_built_only_for_the_proxies_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx verifies only through the proxy transports it makes: without a proxy the
    context (tens of milliseconds to build) is not built at all."""
    import bridge.api.http as http_module

    built: list[ssl.SSLContext] = []

    def counted() -> ssl.SSLContext:
        built.append(ssl.create_default_context())
        return built[-1]

    monkeypatch.setattr(http_module, "tls_context", counted)
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    async with make_http_client():
        assert built == []
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    async with make_http_client():
        assert len(built) == 1


async def test_the_httpx_wire_builds_the_certificate_context_at_its_first_https_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`run` speaks plain http to the emulator without reading the authorities; an https
    request builds the context once, and each scheme keeps a pool of its own."""
    import bridge.api.http as http_module

    built: list[ssl.SSLContext] = []

    def counted() -> ssl.SSLContext:
        built.append(ssl.create_default_context())
        return built[-1]

    monkeypatch.setattr(http_module, "tls_context", counted)
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    async with peer(answers_ok) as (url, connections), make_http_client(wire="httpx") as http:
        assert (await http.get(url)).json() == {"ok": True}
        assert built == []
        for _ in range(2):
            with pytest.raises(httpx.ConnectError):
                await http.get(f"https://127.0.0.1:{closed_port()}/")
        assert len(built) == 1
        assert (await http.get(url)).status_code == 200
        assert connections == [1]  # the http pool kept its connection

