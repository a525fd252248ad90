#!/usr/bin/env python3
"""CPU time of one task poll on the polling thread, client by client.

The emulator runs in a child process (tasks that stay `processing`), so the CPU counted
here (`time.thread_time`, this thread only) is the client's: building the request,
the event loop's I/O, parsing the answer. Each variant polls the same task `--polls`
times in all, in `--rounds` interleaved rounds (the order rotates every round), one poll
at a time, after a warm-up; medians over the rounds are printed per poll, in
microseconds of CPU and of wall time.

Variants: the bridge's `ProducerClient.task` (status lookup, error translation, the
contract's parsing into `TaskStatus`) over httpx's own transport and over
`bridge.api.transport.AiohttpTransport`; bare httpx (`get`, `.json()`) over each; bare
aiohttp (`get`, `json.loads` of the body); bare httpcore (no httpx layer). `--profile
NAME` runs one variant under cProfile and prints where its time goes.

127.0.0.1 only. Run from the repository root:  .venv/bin/python bench/poll_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpcore
import httpx

from bridge.api import ProducerClient, make_http_client
from bridge.api.transport import AiohttpTransport
from bridge.config import EmulatorSettings
from bridge.emulator.server import EmulatorServer

HERE = str(Path(__file__).resolve())
Poll = Callable[[], Awaitable[Any]]


def serve_emulator() -> int:
    settings = EmulatorSettings(port=0, task_seconds=3600.0, create_seconds=1.0)
    with EmulatorServer(settings) as server:
        print(server.url, server.token, flush=True)
        sys.stdin.read()  # until the parent closes it
    return 0


@contextlib.contextmanager
def emulator() -> Any:
    process = subprocess.Popen(
        [sys.executable, HERE, "--serve-emulator"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        url, token = process.stdout.readline().split()
        yield url, token
    finally:
        process.stdin.close()
        process.wait(timeout=10)
        process.stdout.close()


@contextlib.asynccontextmanager
async def variants(url: str, token: str, task_id: str) -> AsyncIterator[dict[str, Poll]]:
    auth = {"Authorization": f"Bearer {token}"}
    tasks, params = f"{url}/producer/tasks", {"taskId": task_id}
    async with contextlib.AsyncExitStack() as stack:
        bridge_httpx = await stack.enter_async_context(
            make_http_client(transport=httpx.AsyncHTTPTransport())
        )
        bridge_aiohttp = await stack.enter_async_context(
            make_http_client(transport=AiohttpTransport())
        )
        plain = await stack.enter_async_context(httpx.AsyncClient())
        plain_aiohttp = await stack.enter_async_context(
            httpx.AsyncClient(transport=AiohttpTransport())
        )
        session = await stack.enter_async_context(aiohttp.ClientSession())
        pool = await stack.enter_async_context(httpcore.AsyncConnectionPool())
        on_httpx = ProducerClient(bridge_httpx, base_url=url, api_key=token)
        on_aiohttp = ProducerClient(bridge_aiohttp, base_url=url, api_key=token)
        query = f"{tasks}?taskId={task_id}"
        parsed = httpx.URL(query)

        async def httpx_parsed(http: httpx.AsyncClient) -> Any:
            return (await http.get(parsed, headers=auth)).json()

        async def httpx_get(http: httpx.AsyncClient) -> Any:
            return (await http.get(tasks, params=params, headers=auth)).json()

        async def aiohttp_get() -> Any:
            async with session.get(tasks, params=params, headers=auth) as response:
                return json.loads(await response.read())

        async def httpcore_get() -> Any:
            response = await pool.request("GET", query, headers=auth)
            return json.loads(response.content)

        yield {
            "bridge, httpx transport": lambda: on_httpx.task(task_id),
            "bridge, aiohttp transport": lambda: on_aiohttp.task(task_id),
            "httpx": lambda: httpx_get(plain),
            "httpx, aiohttp transport": lambda: httpx_get(plain_aiohttp),
            "httpx, aiohttp, URL once": lambda: httpx_parsed(plain_aiohttp),
            "aiohttp": aiohttp_get,
            "httpcore": httpcore_get,
        }


async def create_task(url: str, token: str) -> str:
    sound = {"text": "warm piano", "strength": 0.8}
    body = {"action": "create_music", "model": "FUZZ-2.0 Pro", "sounds": [sound]}
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{url}/producer/audios", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        answer.raise_for_status()
        return str(answer.json()["taskId"])


async def timed(poll: Poll, count: int) -> tuple[float, float]:
    """(CPU, wall) seconds of this thread for `count` polls, one at a time."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(count):
        await poll()
    return time.thread_time() - cpu, time.perf_counter() - wall


async def measure(args: argparse.Namespace, url: str, token: str) -> None:
    task_id = await create_task(url, token)
    async with variants(url, token, task_id) as polls:
        for poll in polls.values():
            await timed(poll, args.warmup)
        if args.profile:
            await profile(polls[args.profile], args.polls)
            return
        names = list(polls)
        cpu: dict[str, list[float]] = {name: [] for name in names}
        wall: dict[str, list[float]] = {name: [] for name in names}
        per_round = max(1, args.polls // args.rounds)
        for turn in range(args.rounds):
            shift = turn % len(names)
            for name in names[shift:] + names[:shift]:
                spent, took = await timed(polls[name], per_round)
                cpu[name].append(spent / per_round * 1e6)
                wall[name].append(took / per_round * 1e6)
    report(args, cpu, wall, per_round)


async def profile(poll: Poll, count: int) -> None:
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for _ in range(count):
        await poll()
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"cProfile, {count} polls, thread CPU time, by own time:")
    stats.sort_stats("tottime").print_stats(25)
    print("by cumulative time:")
    stats.sort_stats("cumulative").print_stats(30)


def report(
    args: argparse.Namespace, cpu: dict[str, list[float]], wall: dict[str, list[float]], n: int
) -> None:
    print(
        f"poll cpu: GET /producer/tasks of one processing task, {args.rounds} rounds of {n} "
        f"polls per variant after {args.warmup} warm-up, one at a time; emulator in a child "
        "process; per poll, microseconds (median over rounds; min..max)"
    )
    first = statistics.median(cpu[next(iter(cpu))])
    print(f"  {'variant':<27} {'CPU':>7} {'(min..max)':>16} {'wall':>7} {'CPU / first':>12}")
    for name, values in cpu.items():
        med = statistics.median(values)
        span = f"{min(values):.0f}..{max(values):.0f}"
        print(
            f"  {name:<27} {med:7.0f} {span:>16} {statistics.median(wall[name]):7.0f} "
            f"{med / first:12.2f}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--polls", type=int, default=6000, help="per variant (6000)")
    parser.add_argument("--rounds", type=int, default=12, help="interleaved rounds (12)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured polls (200)")
    parser.add_argument("--quick", action="store_true", help="1200 polls, 6 rounds")
    parser.add_argument("--profile", metavar="VARIANT", help="cProfile one variant instead")
    parser.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.polls, args.rounds = 1200, 6
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_emulator:
        return serve_emulator()
    with emulator() as (url, token):
        asyncio.run(measure(args, url, token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
