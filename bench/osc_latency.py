#!/usr/bin/env python3
"""Round-trip latency of the daemon's `/bridge/ping`, idle and with 50 jobs in flight.

A real `producer-bridge serve` (subprocess) runs against the emulator (child process,
task_seconds 30, so jobs sit polling). 50 create_music jobs are sent over OSC: 16 run
(`jobs.max_running` 16, the config's maximum; polling 0.05..0.2 s), 34 wait queued, as
`/bridge/status` confirms before and after. `--pings` sequential round trips (2000, after
100 warm-up) from a plain UDP socket, `perf_counter_ns` around sendto -> recv of the pong;
p50, p99, max in ms; also with the daemon idle, first, and while the 50 jobs arrive (a
burst from another socket; the pings go to each server in turn until all are accepted).
Also prints the CPU the daemon's main thread (its event loop, where the jobs poll) spent
during the busy phase, per task poll the emulator served (Linux: /proc schedstat).

Baseline, same run: a bare python-osc `BlockingOSCUDPServer` answering `/bridge/ping` with
the same pong, in a child process, pinged by the same code in the same phases, alternating
with the daemon every 100 pings. Targets: busy daemon p99 <= 1.5 x bare p99 and < 5 ms.

127.0.0.1 only; all files (XDG_DATA_HOME too) in a temporary folder removed at the end. Exit
0 even when a target is missed; 1 only if the daemon did not start or jobs were refused.

Run from the repository root:  .venv/bin/python bench/osc_latency.py  (--help)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bridge import __version__
from bridge.config import EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.osc.transport import build, parse

PING, PONG = "/bridge/ping", "/bridge/pong"
CHUNK = 100  # pings per turn when the daemon and the bare server alternate
MAX_RUNNING = 16  # the highest jobs.max_running the config accepts
TARGET_RATIO, TARGET_MS = 1.5, 5.0  # busy daemon p99: times the bare p99, and in ms
HERE = str(Path(__file__).resolve())
T = TypeVar("T")


# Children: the emulator and the bare echo server (this script with a hidden flag) -------


def serve_emulator(task_seconds: float) -> int:
    settings = EmulatorSettings(port=0, task_seconds=task_seconds, create_seconds=1.0)
    with EmulatorServer(settings) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # until the parent closes it
    return 0


def serve_echo(service: str) -> int:
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_message_builder import OscMessageBuilder
    from pythonosc.osc_server import BlockingOSCUDPServer

    dispatcher = Dispatcher()
    server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)

    def pong(sender: tuple[str, int], address: str, *args: Any) -> None:
        builder = OscMessageBuilder(address=PONG)
        builder.add_arg(__version__)
        builder.add_arg(service)  # the same strings as the daemon's pong
        server.socket.sendto(builder.build().dgram, sender)

    dispatcher.map(PING, pong, needs_reply_address=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()
    server.server_close()
    return 0


@contextlib.contextmanager
def child(*flags: str) -> Iterator[str]:
    """This script as a child with `flags`; yields its first line, stops it at the end."""
    process = subprocess.Popen(
        [sys.executable, HERE, *flags], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        first = process.stdout.readline().strip()
        if not first:
            raise RuntimeError(f"child {flags} did not start (exit code {process.poll()})")
        yield first
    finally:
        process.stdin.close()
        stop(process, None, 10.0)
        process.stdout.close()


def stop(process: subprocess.Popen[Any], sig: int | None, timeout: float) -> None:
    """Send `sig` (if given and still running), wait up to `timeout`, then kill."""
    if sig is not None and process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# The client -----------------------------------------------------------------------------


class Pinger:
    """One plain UDP socket that pings one server; the same code for every server."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(1.0)
        self.packet = build(PING, [])
        self.lost = 0

    def once(self) -> int | None:
        """Nanoseconds from sendto to the pong's recv; None when no pong came in time."""
        start = time.perf_counter_ns()
        self.sock.sendto(self.packet, self.target)
        while True:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                self.lost += 1
                return None
            end = time.perf_counter_ns()
            if data.startswith(PONG.encode()):
                return end - start


def measure(pingers: dict[str, Pinger], args: argparse.Namespace) -> dict[str, list[int]]:
    """Warm up each, then `--pings` round trips each, alternating in chunks of CHUNK."""
    for pinger in pingers.values():
        for _ in range(args.warmup):
            pinger.once()
        pinger.lost = 0
    times: dict[str, list[int]] = {name: [] for name in pingers}
    names = list(pingers)
    for turn in range(math.ceil(args.pings / CHUNK)):
        for name in names if turn % 2 == 0 else names[::-1]:
            for _ in range(min(CHUNK, args.pings - turn * CHUNK)):
                took = pingers[name].once()
                if took is not None:
                    times[name].append(took)
                if args.gap:
                    time.sleep(args.gap)
    return times


def measure_during(
    pingers: dict[str, Pinger], work: Callable[[], T]
) -> tuple[T, dict[str, list[int]]]:
    """Round trips to each server in turn, one at a time, for as long as `work` runs."""
    times: dict[str, list[int]] = {name: [] for name in pingers}
    stop = threading.Event()

    def ping() -> None:
        while not stop.is_set():
            for name, pinger in pingers.items():
                took = pinger.once()
                if took is not None:
                    times[name].append(took)

    thread = threading.Thread(target=ping, name="pings")
    thread.start()
    try:
        return work(), times
    finally:
        stop.set()
        thread.join()


def quantile(values: list[int], q: float) -> float:
    """Nearest-rank quantile, in ms."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1e6


# The daemon -----------------------------------------------------------------------------


def start_daemon(tmp: Path, port: int, api_url: str, log: Any) -> subprocess.Popen[bytes]:
    config = tmp / "bridge.toml"
    config.write_text(
        f'[osc]\nport = {port}\n[jobs]\njournal = "{tmp / "journal.sqlite3"}"\n'
        f'max_running = {MAX_RUNNING}\n[output]\nallowed_roots = ["{tmp}"]\n'
        f'dir = "{tmp / "project"}"\n[drop]\nfolder = "{tmp / "drop"}"\n'
        "[polling]\ninterval = 0.05\nmax_interval = 0.2\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCER_")}
    command = [sys.executable, "-m", "bridge", "--config", str(config), "serve"]
    command += ["--api-url", api_url]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def wait_serving(daemon: subprocess.Popen[bytes], pinger: Pinger) -> bool:
    pinger.sock.settimeout(0.2)
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline and daemon.poll() is None:
        if pinger.once() is not None:
            break
    pinger.sock.settimeout(1.0)
    pinger.lost = 0
    return daemon.poll() is None and time.monotonic() < deadline


def main_thread_cpu(pid: int) -> float:
    """Seconds the process's main thread has spent on a CPU (Linux schedstat; 0 elsewhere)."""
    try:
        return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def task_polls(api_url: str) -> int:
    stats = httpx.get(f"{api_url}/_emulator/stats", timeout=5.0).json()
    return int(stats["requests"].get("tasks", 0))


def answers(sock: socket.socket, want: str, count: int, timeout: float) -> list[list[Any]]:
    """Up to `count` messages at `want` (others, progress included, are skipped)."""
    found: list[list[Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            for address, values in parse(sock.recv(65536)):
                if address == want:
                    found.append(values)
                elif address == "/bridge/rejected":
                    print(f"  rejected: {values}")
    return found


def in_flight(sock: socket.socket, port: int) -> tuple[int, int]:
    """(queued, running), from /bridge/status with no job."""
    sock.sendto(build("/bridge/status", []), ("127.0.0.1", port))
    (summary,) = answers(sock, "/bridge/status/summary", 1, 5.0) or [[-1, -1]]
    return int(summary[0]), int(summary[1])


# Running --------------------------------------------------------------------------------


def run(args: argparse.Namespace, tmp: Path) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])  # a free port for the daemon
    gap = f", {args.gap * 1000:g} ms apart" if args.gap else ""
    print(
        f"osc latency: /bridge/ping round trips, {args.pings} per server and phase after "
        f"{args.warmup} warm-up, sequential{gap}, one plain UDP socket per server, 127.0.0.1"
    )
    with contextlib.ExitStack() as stack:
        api_url = stack.enter_context(child("--serve-emulator", str(args.task_seconds)))
        echo_port = int(stack.enter_context(child("--serve-echo", api_url)))
        log = stack.enter_context((tmp / "daemon.log").open("wb"))
        daemon = start_daemon(tmp, port, api_url, log)
        stack.callback(stop, daemon, signal.SIGTERM, 30.0)
        pingers = {"daemon": Pinger(port), "bare echo": Pinger(echo_port)}
        jobs_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for sock in (*(p.sock for p in pingers.values()), jobs_sock):
            stack.callback(sock.close)
        started = time.monotonic()
        if not wait_serving(daemon, pingers["daemon"]):
            print(f"  the daemon did not start (exit code {daemon.poll()}; waited up to 30 s):")
            print((tmp / "daemon.log").read_text(errors="replace")[-3000:])
            return 1
        print(
            f"  daemon: producer-bridge serve, answering after {time.monotonic() - started:.1f} s;"
            f" jobs.max_running {MAX_RUNNING}, polling 0.05..0.2 s; emulator in a child "
            f"process, task_seconds {args.task_seconds:g}"
        )
        rows = [("idle (0 jobs)", measure(pingers, args))]
        lost = {name: p.lost for name, p in pingers.items()}

        jobs_sock.bind(("127.0.0.1", 0))
        jobs_sock.settimeout(0.5)
        request = {"version": 1, "action": "create_music", "prompts": [{"text": "warm piano"}]}
        request["project"] = {"folder": str(tmp / "project")}

        def submit() -> int:
            for _ in range(args.jobs):
                jobs_sock.sendto(build("/bridge/job", [json.dumps(request)]), ("127.0.0.1", port))
            return len(answers(jobs_sock, "/bridge/job/accepted", args.jobs, 30.0))

        # Pinged from their own sockets while the jobs arrive from another one, and are
        # judged, journaled and queued.
        accepted, arriving = measure_during(pingers, submit)
        rows.append((f"{args.jobs} arriving", arriving))
        if accepted != args.jobs:
            print(f"  only {accepted} of {args.jobs} jobs were accepted within 30 s")
            return 1
        expected = (args.jobs - min(args.jobs, MAX_RUNNING), min(args.jobs, MAX_RUNNING))
        deadline = time.monotonic() + 10.0
        while (before := in_flight(jobs_sock, port)) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        polls, window = task_polls(api_url), time.monotonic()
        cpu = main_thread_cpu(daemon.pid)
        rows.append((f"{args.jobs} jobs", measure(pingers, args)))
        cpu = main_thread_cpu(daemon.pid) - cpu
        window, polls = time.monotonic() - window, task_polls(api_url) - polls
        after = in_flight(jobs_sock, port)
        lost = {name: lost[name] + p.lost for name, p in pingers.items()}
    print(
        f"  {accepted} jobs accepted; in flight (queued + running): before the measurement "
        f"{before[0]} + {before[1]}, after it {after[0]} + {after[1]}"
        + ("" if before == after == expected else f"  (WARNING: expected {expected})")
    )
    print(f"  emulator task polls during the busy phase: {polls} in {window:.2f} s")
    if cpu and polls:
        print(
            f"  daemon's main thread (event loop) during it: {cpu * 1000:.0f} ms of CPU, "
            f"{cpu / polls * 1000:.2f} ms per task poll"
        )
    report(rows, lost)
    return 0


def report(rows: list[tuple[str, dict[str, list[int]]]], lost: dict[str, int]) -> None:
    print(f"  {'phase':<14} {'server':<10} {'p50':>8} {'p99':>8} {'max':>8}  (ms)      n")
    p99: dict[tuple[str, str], float] = {}
    for phase, times in rows:
        for name, values in times.items():
            p99[phase, name] = quantile(values, 0.99)
            print(
                f"  {phase:<14} {name:<10} {quantile(values, 0.5):8.3f} {p99[phase, name]:8.3f} "
                f"{max(values) / 1e6:8.3f}  {len(values):9d}"
            )
    print(f"  pings lost (no pong within 1 s): {lost}")
    ratios = {phase: p99[phase, "daemon"] / p99[phase, "bare echo"] for phase, _ in rows}
    print("  ratio daemon p99 / bare p99: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    busy = rows[-1][0]
    verdict = "met" if ratios[busy] <= TARGET_RATIO else "missed"
    print(
        f"  target: daemon p99 <= {TARGET_RATIO:g} x bare p99 ({busy}) -> {verdict} "
        f"({ratios[busy]:.2f} x)"
    )
    verdict = "met" if p99[busy, "daemon"] < TARGET_MS else "missed"
    print(
        f"  target: daemon p99 < {TARGET_MS:g} ms ({busy}) -> {verdict} "
        f"({p99[busy, 'daemon']:.3f} ms)"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="/bridge/ping round trips of a real producer-bridge serve, idle and with "
        "jobs in flight, against a bare python-osc echo server (127.0.0.1 only; exit 1 only "
        "when the daemon did not start or the jobs were not accepted)."
    )
    parser.add_argument("--pings", type=int, default=2000, help="per server and phase (2000)")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured pings (100)")
    parser.add_argument("--jobs", type=int, default=50, help="jobs in flight (50)")
    parser.add_argument("--gap", type=float, default=0.0, help="seconds between pings (0)")
    parser.add_argument(
        "--task-seconds", type=float, default=30.0, help="emulator task duration (30)"
    )
    parser.add_argument("--quick", action="store_true", help="500 pings per server and phase")
    parser.add_argument("--serve-emulator", metavar="TASK_SECONDS", help=argparse.SUPPRESS)
    parser.add_argument("--serve-echo", metavar="SERVICE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.pings = 500
    if min(args.pings, args.jobs) < 1 or min(args.warmup, args.gap) < 0 or args.task_seconds <= 0:
        parser.error("--pings, --jobs >= 1; --warmup, --gap >= 0; --task-seconds > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_emulator is not None:
        return serve_emulator(float(args.serve_emulator))
    if args.serve_echo is not None:
        return serve_echo(args.serve_echo)
    tmp = Path(tempfile.mkdtemp(prefix="bench-osc-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "xdg-data")  # the children inherit it
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
