"""The bridge client's overhead for a whole create -> download chain, against bare httpx.

One emulator (no added latency, tasks end as soon as their work is done) serves both
sides. Each chain is: POST /producer/audios (a short create_music), poll /producer/tasks
until completed, POST /producer/download {audioId, format wav}, poll until completed,
GET the file and write it to disk. The bridge side uses ProducerClient; the baseline is
a minimal hand-written httpx.AsyncClient sequence of the same calls, polling at the same
interval. After a warm-up the two alternate, and the script prints wall time per chain,
the ratio of medians (target <= 1.1), and the requests each side made, counted by the
emulator, so a reader can see both did the same work.

This is a benchmark, not a test: a MISS is printed, and the exit code stays 0.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bridge.api import PollPlan, ProducerClient, make_http_client
from bridge.api.contract import SEED
from bridge.config import BUILTIN_MODELS, EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.rules import validate_audio

TARGET_RATIO = 1.1
CHUNK = 1 << 16
TERMINAL = frozenset({"completed", "failed", "cancelled", "timeout"})


@dataclass
class Side:
    """Wall times and emulator request counts for one side of the comparison."""

    name: str
    times: list[float] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    bytes_written: int = 0

    def per_chain(self) -> dict[str, float]:
        runs = len(self.times)
        return {endpoint: count / runs for endpoint, count in sorted(self.requests.items())}


# Bridge side ---------------------------------------------------------------------------


async def bridge_chain(client: ProducerClient, request: AudioRequest, dest: Path) -> int:
    task_id = await client.create_audio(request)
    clips = await client.wait_clips(task_id)
    download_id = await client.download(clips[0].audio_id, "wav")
    link = await client.wait_download(download_id)
    return await client.fetch(link.url, dest)


# Baseline: the same HTTP calls, written by hand ------------------------------------------


async def _poll(
    http: httpx.AsyncClient, base: str, auth: dict[str, str], task_id: str, interval: float
) -> Any:
    while True:
        response = await http.get(
            f"{base}/producer/tasks", params={"taskId": task_id}, headers=auth
        )
        response.raise_for_status()
        data = response.json()
        if data["status"] in TERMINAL:
            if data["status"] != "completed":
                raise RuntimeError(f"task {task_id} ended {data['status']}")
            return data["result"]
        await asyncio.sleep(interval)


async def baseline_chain(
    http: httpx.AsyncClient,
    base: str,
    auth: dict[str, str],
    body: dict[str, Any],
    dest: Path,
    interval: float,
) -> int:
    response = await http.post(f"{base}/producer/audios", json=body, headers=auth)
    response.raise_for_status()
    clip = await _poll(http, base, auth, response.json()["taskId"], interval)
    response = await http.post(
        f"{base}/producer/download",
        json={"audioId": clip["audioId"], "format": "wav"},
        headers=auth,
    )
    response.raise_for_status()
    link = await _poll(http, base, auth, response.json()["taskId"], interval)
    written = 0
    async with http.stream("GET", link["url"]) as stream:
        stream.raise_for_status()
        with dest.open("wb") as out:
            async for chunk in stream.aiter_raw(CHUNK):
                out.write(chunk)
                written += len(chunk)
    return written


# Measurement ---------------------------------------------------------------------------


def _request_counts(server: EmulatorServer) -> Counter[str]:
    return Counter({k: int(v) for k, v in server.stats()["requests"].items()})


async def _timed(
    side: Side | None,
    server: EmulatorServer,
    chain: Callable[[Path], Awaitable[int]],
    dest: Path,
) -> None:
    """Run one chain; record its time and request counts unless it is a warm-up."""
    before = _request_counts(server)
    started = time.perf_counter()
    size = await chain(dest)
    elapsed = time.perf_counter() - started
    after = _request_counts(server)
    dest.unlink()  # noqa: ASYNC240 - outside the timed region
    if size <= 0:
        raise RuntimeError(f"{dest.name}: empty download")
    if side is not None:
        side.times.append(elapsed)
        side.requests.update(after - before)
        side.bytes_written += size


async def measure(args: argparse.Namespace, server: EmulatorServer, work: Path) -> list[Side]:
    plan = PollPlan(interval=args.interval, max_interval=args.interval, backoff=1.0, deadline=120.0)
    request = AudioRequest(
        action="create_music", model=BUILTIN_MODELS[0], sounds=(Sound("warm piano", 0.8),)
    )
    validate_audio(request, BUILTIN_MODELS)
    body = SEED.audio_body(request)
    auth = {"Authorization": f"Bearer {server.token}"}
    bridge, baseline = Side("bridge"), Side("httpx baseline")

    async with make_http_client() as bridge_http, httpx.AsyncClient(timeout=60.0) as plain_http:
        client = ProducerClient(
            bridge_http, base_url=server.url, api_key=server.token, poll_plan=plan
        )
        counter = itertools.count()

        async def run_bridge(side: Side | None) -> None:
            dest = work / f"bridge-{next(counter)}.wav"
            await _timed(side, server, lambda d: bridge_chain(client, request, d), dest)

        async def run_baseline(side: Side | None) -> None:
            dest = work / f"baseline-{next(counter)}.wav"
            await _timed(
                side,
                server,
                lambda d: baseline_chain(plain_http, server.url, auth, body, d, args.interval),
                dest,
            )

        for _ in range(args.warmup):
            await run_bridge(None)
            await run_baseline(None)
        for index in range(args.iterations):
            # Alternate, and swap who goes first each round, so neither side always
            # follows the other.
            if index % 2 == 0:
                await run_bridge(bridge)
                await run_baseline(baseline)
            else:
                await run_baseline(baseline)
                await run_bridge(bridge)
    return [bridge, baseline]


def report(args: argparse.Namespace, bridge: Side, baseline: Side) -> None:
    print(
        f"client overhead: create -> download chain, {args.iterations} iterations per side "
        f"after {args.warmup} warm-up each, poll interval {args.interval * 1000:g} ms, "
        f"create_seconds {args.create_seconds:g}"
    )
    for side in (bridge, baseline):
        med = statistics.median(side.times) * 1000
        mean = statistics.fmean(side.times) * 1000
        low, high = min(side.times) * 1000, max(side.times) * 1000
        per_chain = sum(side.requests.values()) / len(side.times)
        print(
            f"  {side.name:<15} median {med:8.2f} ms  mean {mean:8.2f} ms  "
            f"min {low:8.2f} ms  max {high:8.2f} ms  "
            f"bytes/chain {side.bytes_written // len(side.times)}"
        )
        detail = ", ".join(f"{k} {v:.2f}" for k, v in side.per_chain().items())
        total = sum(side.requests.values())
        print(f"  {'':<15} requests {total} in all, {per_chain:.2f} per chain ({detail})")
    ratio = statistics.median(bridge.times) / statistics.median(baseline.times)
    mean_ratio = statistics.fmean(bridge.times) / statistics.fmean(baseline.times)
    extra_ms = (statistics.median(bridge.times) - statistics.median(baseline.times)) * 1000
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(f"  difference of medians: {extra_ms:+.2f} ms per chain")
    print(f"  ratio of medians (bridge / baseline): {ratio:.3f}  (ratio of means {mean_ratio:.3f})")
    print(f"  target: ratio <= {TARGET_RATIO:g}  -> {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time the bridge's ProducerClient over a whole create -> download chain against "
            "the local emulator, versus a minimal hand-written httpx script making the same "
            f"calls, and print the ratio of median wall times (target <= {TARGET_RATIO:g}). "
            "Talks to 127.0.0.1 only; exits 0 on a MISS."
        )
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=30,
        help="measured chains per side, alternating bridge/baseline (default 30)",
    )
    parser.add_argument(
        "--warmup", type=int, default=3, help="unmeasured chains per side first (default 3)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=0.005,
        help="poll interval in seconds, the same for both sides (default 0.005)",
    )
    parser.add_argument(
        "--create-seconds",
        type=float,
        default=5.0,
        help="length of the emulator's created audio, in seconds (default 5)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="10 iterations per side after 1 warm-up"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations, args.warmup = 10, 1
    if args.iterations < 1 or args.warmup < 0 or args.interval <= 0 or args.create_seconds <= 0:
        parser.error("--iterations must be >= 1, --warmup >= 0, the others > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = EmulatorSettings(port=0, task_seconds=0.0, create_seconds=args.create_seconds)
    with (
        tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp,
        EmulatorServer(settings) as server,
    ):
        bridge, baseline = asyncio.run(measure(args, server, Path(tmp)))
    report(args, bridge, baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
