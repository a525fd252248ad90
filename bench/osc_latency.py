#!/usr/bin/env python3
"""Round-trip latency of the daemon's `/bridge/ping` while jobs are in flight.

A real `producer-bridge serve` (subprocess) runs against the emulator (child process,
`task_seconds` 30, so jobs sit polling their generate task throughout). `--jobs`
create_music jobs (default 50) are sent over OSC and accepted; `jobs.max_running` is 16,
the highest value the config accepts, so 16 run (poll every 0.05..0.2 s, send progress to
the submitting socket) and 34 wait queued: checked with `/bridge/status` before and after.

Then `--pings` sequential round trips (default 2000, after 100 warm-up) from a plain UDP
socket: `time.perf_counter_ns` around sendto -> recv of the `/bridge/pong`; p50, p99 and
max in ms. The same is measured first with the daemon idle (0 jobs).

Baseline, same run: a bare python-osc `BlockingOSCUDPServer` answering `/bridge/ping` with
the same `/bridge/pong` to the sender, in a child process, measured by the same client code
in the same phases, interleaved with the daemon in chunks of 100 pings. Targets: busy
daemon p99 <= 2 x bare p99 (same phase) and < 20 ms.

127.0.0.1 only; every file (XDG_DATA_HOME too) goes to a temporary folder removed at the
end. A missed target is printed and the exit code stays 0; it is 1 only when the daemon did
not start or the jobs were not accepted.

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bridge import __version__
from bridge.config import EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.osc.transport import build, parse

PING, PONG = "/bridge/ping", "/bridge/pong"
CHUNK = 100  # pings per turn when the daemon and the bare server alternate
MAX_RUNNING = 16  # the highest jobs.max_running the config accepts
HERE = str(Path(__file__).resolve())


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
        builder.add_arg(service)
        server.socket.sendto(builder.build().dgram, sender)

    dispatcher.map(PING, pong, needs_reply_address=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
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
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


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
        """Nanoseconds from sendto to the pong's recv; None when no pong came within 1 s."""
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

    def close(self) -> None:
        self.sock.close()


def measure(pingers: dict[str, Pinger], pings: int, warmup: int) -> dict[str, list[int]]:
    """Warm up each, then `pings` round trips each, alternating in chunks of CHUNK."""
    for pinger in pingers.values():
        for _ in range(warmup):
            pinger.once()
        pinger.lost = 0
    times: dict[str, list[int]] = {name: [] for name in pingers}
    names = list(pingers)
    for turn in range(math.ceil(pings / CHUNK)):
        for name in names if turn % 2 == 0 else names[::-1]:
            for _ in range(min(CHUNK, pings - turn * CHUNK)):
                took = pingers[name].once()
                if took is not None:
                    times[name].append(took)
    return times


def quantile(values: list[int], q: float) -> float:
    """Nearest-rank quantile, in ms."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1e6


def ask(sock: socket.socket, port: int, address: str, args: list[Any], want: str) -> list[Any]:
    """Send one message and wait for the first answer at `want` (others are skipped)."""
    sock.sendto(build(address, args), ("127.0.0.1", port))
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            for found, values in parse(sock.recv(65536)):
                if found == want:
                    return values
    raise RuntimeError(f"no {want} within 5 s")


# The daemon -----------------------------------------------------------------------------


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(tmp: Path, port: int) -> Path:
    path = tmp / "bridge.toml"
    path.write_text(
        f'[osc]\nport = {port}\n[jobs]\njournal = "{tmp / "journal.sqlite3"}"\n'
        f"max_running = {MAX_RUNNING}\n"
        f'[output]\nallowed_roots = ["{tmp}"]\ndir = "{tmp / "project"}"\n'
        f'[drop]\nfolder = "{tmp / "drop"}"\n[polling]\ninterval = 0.05\nmax_interval = 0.2\n'
    )
    return path


def start_daemon(tmp: Path, port: int, api_url: str, log: Any) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCER_")}
    env["XDG_DATA_HOME"] = str(tmp / "xdg-data")
    command = [sys.executable, "-m", "bridge", "--config", str(write_config(tmp, port))]
    command += ["serve", "--api-url", api_url]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def wait_serving(daemon: subprocess.Popen[bytes], pinger: Pinger, timeout: float = 30.0) -> bool:
    pinger.sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and daemon.poll() is None:
            if pinger.once() is not None:
                return True
        return False
    finally:
        pinger.sock.settimeout(1.0)
        pinger.lost = 0


def task_polls(api_url: str) -> int:
    stats = httpx.get(f"{api_url}/_emulator/stats", timeout=5.0).json()
    return int(stats["requests"].get("tasks", 0))


def submit_jobs(sock: socket.socket, port: int, tmp: Path, jobs: int) -> int:
    """Send `jobs` create_music requests; the number accepted within 30 s."""
    request = {
        "version": 1,
        "action": "create_music",
        "prompts": [{"text": "warm piano"}],
        "project": {"folder": str(tmp / "project")},
    }
    packet = build("/bridge/job", [json.dumps(request)])
    for _ in range(jobs):
        sock.sendto(packet, ("127.0.0.1", port))
    accepted, deadline = 0, time.monotonic() + 30.0
    while accepted < jobs and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            for found, values in parse(sock.recv(65536)):
                accepted += found == "/bridge/job/accepted"
                if found == "/bridge/rejected":
                    print(f"  rejected: {values}")
    return accepted


def in_flight(sock: socket.socket, port: int) -> tuple[int, int]:
    queued, running = ask(sock, port, "/bridge/status", [], "/bridge/status/summary")
    return int(queued), int(running)


# Running --------------------------------------------------------------------------------


def run(args: argparse.Namespace, tmp: Path) -> int:
    port = free_udp_port()
    print(
        f"osc latency: /bridge/ping round trips, {args.pings} per server and phase after "
        f"{args.warmup} warm-up, sequential, one plain UDP socket per server, 127.0.0.1"
    )
    with contextlib.ExitStack() as stack:
        api_url = stack.enter_context(child("--serve-emulator", str(args.task_seconds)))
        echo_port = int(stack.enter_context(child("--serve-echo", api_url)))
        log = stack.enter_context((tmp / "daemon.log").open("wb"))
        daemon = start_daemon(tmp, port, api_url, log)
        stack.callback(stop_daemon, daemon)
        pingers = {"daemon": Pinger(port), "bare echo": Pinger(echo_port)}
        for pinger in pingers.values():
            stack.callback(pinger.close)
        started = time.monotonic()
        if not wait_serving(daemon, pingers["daemon"]):
            print(f"  the daemon did not answer /bridge/ping within 30 s (exit {daemon.poll()})")
            print((tmp / "daemon.log").read_text(errors="replace")[-3000:])
            return 1
        print(
            f"  daemon: producer-bridge serve, answering after {time.monotonic() - started:.1f} s;"
            f" jobs.max_running {MAX_RUNNING}, polling 0.05..0.2 s; emulator in a child "
            f"process, task_seconds {args.task_seconds:g}"
        )
        rows = [("idle (0 jobs)", measure(pingers, args.pings, args.warmup))]
        lost = {name: p.lost for name, p in pingers.items()}

        jobs_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stack.callback(jobs_sock.close)
        jobs_sock.bind(("127.0.0.1", 0))
        jobs_sock.settimeout(0.5)
        accepted = submit_jobs(jobs_sock, port, tmp, args.jobs)
        if accepted != args.jobs:
            print(f"  only {accepted} of {args.jobs} jobs were accepted")
            return 1
        expected = (args.jobs - min(args.jobs, MAX_RUNNING), min(args.jobs, MAX_RUNNING))
        deadline = time.monotonic() + 10.0
        while (before := in_flight(jobs_sock, port)) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        polls_before, measure_started = task_polls(api_url), time.monotonic()
        rows.append((f"{args.jobs} jobs", measure(pingers, args.pings, args.warmup)))
        seconds = time.monotonic() - measure_started
        polls = task_polls(api_url) - polls_before
        after = in_flight(jobs_sock, port)
        lost = {name: lost[name] + p.lost for name, p in pingers.items()}
    print(
        f"  {accepted} jobs accepted; in flight (queued + running): before the measurement "
        f"{before[0]} + {before[1]}, after it {after[0]} + {after[1]}"
    )
    print(
        f"  emulator task polls during the busy measurement: {polls} in {seconds:.2f} s "
        f"({polls / seconds:.0f}/s)"
    )
    if before != expected or after != expected:
        print(f"  WARNING: expected {expected[0]} + {expected[1]} in flight throughout")
    report(rows, lost)
    return 0


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


def report(rows: list[tuple[str, dict[str, list[int]]]], lost: dict[str, int]) -> None:
    print(f"  {'phase':<14} {'server':<10} {'p50':>8} {'p99':>8} {'max':>8}  (ms)   n")
    p99: dict[tuple[str, str], float] = {}
    for phase, times in rows:
        for name, values in times.items():
            p99[phase, name] = quantile(values, 0.99)
            print(
                f"  {phase:<14} {name:<10} {quantile(values, 0.5):8.3f} {p99[phase, name]:8.3f} "
                f"{max(values) / 1e6:8.3f}        {len(values)}"
            )
    print(f"  pings lost (no pong within 1 s): {lost}")
    for phase, _ in rows:
        ratio = p99[phase, "daemon"] / p99[phase, "bare echo"]
        print(f"  ratio daemon p99 / bare p99, {phase}: {ratio:.2f}")
    busy = rows[-1][0]
    ratio = p99[busy, "daemon"] / p99[busy, "bare echo"]
    verdict = "met" if ratio <= 2.0 else "missed"
    print(f"  target: daemon p99 <= 2 x bare p99 ({busy}) -> {verdict} ({ratio:.2f} x)")
    verdict = "met" if p99[busy, "daemon"] < 20.0 else "missed"
    print(f"  target: daemon p99 < 20 ms ({busy}) -> {verdict} ({p99[busy, 'daemon']:.3f} ms)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Measure /bridge/ping round trips of a real producer-bridge serve, idle and with "
            "jobs in flight, against a bare python-osc echo server. 127.0.0.1 only; exits 1 "
            "only when the daemon did not start or the jobs were not accepted."
        )
    )
    parser.add_argument("--pings", type=int, default=2000, help="pings per server and phase")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured pings (default 100)")
    parser.add_argument("--jobs", type=int, default=50, help="jobs in flight (default 50)")
    parser.add_argument(
        "--task-seconds",
        type=float,
        default=30.0,
        help="emulator time from pending to completed (default 30; keeps jobs polling)",
    )
    parser.add_argument("--serve-emulator", metavar="TASK_SECONDS", help=argparse.SUPPRESS)
    parser.add_argument("--serve-echo", metavar="SERVICE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pings < 1 or args.warmup < 0 or args.jobs < 1 or args.task_seconds <= 0:
        parser.error("--pings and --jobs must be >= 1, --warmup >= 0, --task-seconds > 0")
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
