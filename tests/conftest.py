"""Shared fixtures: a real emulator over loopback, fast polling, leak checks; and the one
polling wait of the tests (tests/waiting.py)."""

from __future__ import annotations

import contextlib
import ctypes.util
import os
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from bridge.api import PollPlan, ProducerClient, RetryPolicy, make_http_client
from bridge.api.providers import MOUNTSEA_PROVIDER, Provider
from bridge.api.usage import UsageClient
from bridge.config import EmulatorSettings, FaultSettings
from bridge.emulator.server import EmulatorServer
from bridge.journal import Journal
from bridge.pipeline import Deps, JobRunner
from bridge.pipeline.output import Splicing
from bridge.staging import LocalHttpStager
from tests.daemon_harness import OscListener, free_udp_port
from tests.waiting import wait_until

FAST_POLL = PollPlan(interval=0.02, max_interval=0.1, backoff=1.5, deadline=20.0)
FAST_RETRY = RetryPolicy(max_attempts=6, base=0.01, cap=0.05)
# Each provider's own settings from the environment (`[api.providers.<name>]`).
OWN_ENV = (
    "PRODUCER_API_KEY_MOUNTSEA",
    "PRODUCER_API_URL_MOUNTSEA",
    "PRODUCER_USAGE_URL_MOUNTSEA",
    "PRODUCER_API_KEY_ACEDATA",
    "PRODUCER_API_URL_ACEDATA",
)


def _open_sockets() -> int:
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return 0
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


@pytest.fixture(autouse=True)
def own_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Journals and work folders of the code under test go to the test's own folder."""
    folder = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    return folder


@pytest.fixture
def jobs_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration with fast polling, the journal in `tmp_path/data`, and `tmp_path` as
    the one allowed project root; no key or config from the environment."""
    for name in ("PRODUCER_API_KEY", "PRODUCER_API_URL", "PRODUCER_BRIDGE_CONFIG", *OWN_ENV):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "bridge.toml"
    path.write_text(
        f"""
[polling]
interval = 0.02
max_interval = 0.05
[api]
retry_base = 0.01
retry_cap = 0.05
[jobs]
journal = "{tmp_path / "data" / "journal.sqlite3"}"
[output]
allowed_roots = ["{tmp_path}"]
"""
    )
    return path


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail a test that leaves a thread or a socket behind."""
    threads = set(threading.enumerate())
    sockets = _open_sockets()
    yield

    def extra_threads() -> list[threading.Thread]:
        extra = [t for t in threading.enumerate() if t not in threads and t.is_alive()]
        # asyncio's default executor threads belong to a loop that pytest-asyncio closes later.
        return [t for t in extra if not t.name.startswith("asyncio_")]

    wait_until(
        lambda: not extra_threads() and _open_sockets() <= sockets,
        within=2.0,
        what=lambda: (
            f"the test's threads and sockets to close; threads left running: "
            f"{extra_threads()}, {_open_sockets() - sockets} socket(s) left open"
        ),
    )


def emulator_settings(**faults: Any) -> EmulatorSettings:
    return EmulatorSettings(port=0, task_seconds=0.05, faults=FaultSettings(**faults))


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """One fault-free emulator shared by the tests that do not count its tasks."""
    with EmulatorServer(emulator_settings()) as server:
        yield server


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., EmulatorServer]]:
    """A fresh emulator per call, with the given faults; closed after the test. Its creates
    last `create_seconds` (8 s unless given): synthesizing, fetching, splitting and writing
    the default 30 s would only cost time, the code paths are the same."""
    started: list[EmulatorServer] = []

    def make(
        clips_per_result: int = 1,
        link_ttl: float = 3600.0,
        create_seconds: float = 8.0,
        **faults: Any,
    ) -> EmulatorServer:
        settings = emulator_settings(**faults).model_copy(update={"create_seconds": create_seconds})
        server = EmulatorServer(
            settings, clips_per_result=clips_per_result, link_ttl=link_ttl
        ).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


class TaskPolls(httpx.AsyncBaseTransport):
    """httpx's own transport, counting the task polls the client sends through it."""

    def __init__(self) -> None:
        self.sent = 0
        self._http = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/producer/tasks"):
            self.sent += 1
        return await self._http.handle_async_request(request)

    async def aclose(self) -> None:
        await self._http.aclose()


@asynccontextmanager
async def client_for(
    server: EmulatorServer,
    *,
    key: str | None = None,
    read_timeout: float = 10.0,
    retry: RetryPolicy = FAST_RETRY,
    poll: PollPlan = FAST_POLL,
    transport: httpx.AsyncBaseTransport | None = None,
    provider: Provider = MOUNTSEA_PROVIDER,
) -> AsyncIterator[ProducerClient]:
    async with make_http_client(
        read_timeout=read_timeout, connect_timeout=2.0, transport=transport
    ) as http:
        yield ProducerClient(
            http,
            base_url=server.url,
            api_key=server.token if key is None else key,
            retry=retry,
            poll_plan=poll,
            provider=provider,
        )


def write_tone(path: Path, seconds: float, rate: int = 48000, channels: int = 2) -> Path:
    """A clip of recognisable tones, `seconds` long to the sample."""
    frames = round(seconds * rate)
    t = np.arange(frames) / rate
    tones = [np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)]
    sf.write(str(path), 0.3 * np.stack(tones, axis=1), rate, subtype="PCM_16")
    return path


@pytest.fixture
def tone(tmp_path: Path) -> Callable[..., Path]:
    def make(seconds: float = 8.0, name: str = "clip.wav", **kwargs: Any) -> Path:
        return write_tone(tmp_path / name, seconds, **kwargs)

    return make


class Quiet:
    """Progress that nobody watches (the pipeline's Progress protocol)."""

    def step(self, step: str, detail: str) -> None:
        return None

    def task(self, step: str, status: Any) -> None:
        return None

    def transfer(self, step: str, done: int, total: int | None) -> None:
        return None

    def waiting(self, step: str, seconds: float, reason: str) -> None:
        return None

    def finished(self, step: str, detail: str) -> None:
        return None


async def _no_notice(job: Any) -> None:
    return None


@asynccontextmanager
async def pipeline_runner(
    server: EmulatorServer,
    tmp_path: Path,
    *,
    stager: Any = None,
    roots: tuple[Path, ...] | None = None,
    notify: Callable[[Any], Awaitable[None]] = _no_notice,
    progress: Callable[[Any], Any] = lambda job: Quiet(),
    max_running: int = 2,
    context: float | None = None,
    splicing: Splicing | None = Splicing(),  # noqa: B008 - frozen, shared safely
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy = FAST_RETRY,
    usage: tuple[str, str] | None = None,
    provider: Provider = MOUNTSEA_PROVIDER,
    **options: Any,
) -> AsyncIterator[JobRunner]:
    """A real JobRunner on `server`, its journal and work folder under `tmp_path/data`;
    the stager is a loopback one unless another is given (and then left to the caller);
    `transport` carries the client's requests instead of httpx's own; the usage API is
    the emulator's own unless `usage` gives another (URL, key), and none for a provider
    without a usage API."""
    with contextlib.ExitStack() as stack:
        journal = stack.enter_context(Journal(tmp_path / "data" / "journal.sqlite3"))
        if stager is None:
            stager = stack.enter_context(LocalHttpStager())
        async with (
            client_for(server, transport=transport, retry=retry, provider=provider) as client,
            make_http_client(connect_timeout=2.0) as usage_http,
        ):
            usage_url, usage_key = usage or (server.url, server.token)
            ledger = (
                None
                if provider.usage_url is None
                else UsageClient(usage_http, base_url=usage_url, headers={"X-API-Key": usage_key})
            )
            deps = Deps(
                client=client,
                journal=journal,
                stager=stager,
                work_root=tmp_path / "data" / "work",
                allowed_roots=roots if roots is not None else (tmp_path,),
                results_folder="ProducerBridge",
                notify=notify,
                context=context,
                splicing=splicing,
                usage=ledger,
            )
            yield JobRunner(
                deps, max_running=max_running, progress=progress, cancel_poll=0.05, **options
            )


def need_tool(name: str, package: str) -> str:
    """The path of a command-line tool; in CI a missing tool fails, elsewhere it skips."""
    path = shutil.which(name)
    if path is None:
        _missing(name, package)
    assert path is not None
    return path


def need_library(name: str, package: str) -> str:
    """The shared library `name` (as ctypes finds it); missing: fails in CI, else skips."""
    found = ctypes.util.find_library(name)
    if found is None:
        _missing(name, package)
    assert found is not None
    return found


def _missing(name: str, package: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is missing in CI: .ci/run must install {package}")
    pytest.skip(f"{name} not installed: apt-get install {package}")


@pytest.fixture
def listener() -> Iterator[OscListener]:
    """A UDP socket that collects the daemon's OSC answers."""
    with OscListener() as opened:
        yield opened


@pytest.fixture
def port() -> int:
    """A free UDP port for a daemon's OSC input."""
    return free_udp_port()
