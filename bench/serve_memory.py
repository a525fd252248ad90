"""Resident memory of `producer-bridge serve`, idle and with 50 jobs in flight, against a
bare python-osc server answering `/bridge/ping`.

The daemon, the emulator (task_seconds 30, so jobs sit polling) and the bare server are
the same as in `osc_latency.py` (this script uses its pieces), except that the bare
server here imports python-osc alone. The daemon's `VmRSS`
(`/proc/<pid>/status`) is read `--samples` times, 0.2 s apart, alternating with the bare
server's, once it answers pings (idle) and again once 50 jobs are accepted (16 running,
34 queued; the config's maximum for `jobs.max_running` is 16). Prints min/median/max in
MB (10^6 bytes) and the ratio against the bare server. Targets (the issue's): idle <= 70 MB,
50 jobs <= 100 MB.

Linux only. A benchmark, not a test: a missed target is printed and the exit code stays 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import osc_latency as osc
from common import spread

TARGETS = {"idle": 70.0, "50 jobs": 100.0}
# The bare server imports python-osc and nothing of the bridge.
BARE = """
import sys, threading
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_server import BlockingOSCUDPServer
dispatcher = Dispatcher()
server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
def pong(sender, address, *args):
    builder = OscMessageBuilder(address="/bridge/pong")
    builder.add_arg("0")
    builder.add_arg(sys.argv[1])
    server.socket.sendto(builder.build().dgram, sender)
dispatcher.map("/bridge/ping", pong, needs_reply_address=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdin.read()
"""


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def sample(pids: dict[str, int], count: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {name: [] for name in pids}
    for _ in range(count):
        for name, pid in pids.items():
            found[name].append(rss_bytes(pid) / 1e6)
        time.sleep(0.2)
    return found


def run(tmp: Path, samples: int, jobs: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with contextlib.ExitStack() as stack:
        api_url = stack.enter_context(osc.child("--serve-emulator", "30"))
        echo = subprocess.Popen(
            [sys.executable, "-c", BARE, api_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stack.callback(osc.stop, echo, signal.SIGTERM, 10.0)
        assert echo.stdout is not None
        echo_port = int(echo.stdout.readline())
        log = stack.enter_context((tmp / "daemon.log").open("wb"))
        daemon = osc.start_daemon(tmp, port, api_url, log)
        stack.callback(osc.stop, daemon, signal.SIGTERM, 30.0)
        pinger, bare = osc.Pinger(port), osc.Pinger(echo_port)
        if not osc.wait_serving(daemon, pinger) or bare.once() is None:
            print((tmp / "daemon.log").read_text(errors="replace")[-3000:])
            return 1
        pids = {"producer-bridge serve": daemon.pid, "bare python-osc": echo.pid}
        rows = [("idle", sample(pids, samples))]
        sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        request = {"version": 1, "action": "create_music", "prompts": [{"text": "warm piano"}]}
        request["project"] = {"folder": str(tmp / "project")}
        for _ in range(jobs):
            sock.sendto(osc.build("/bridge/job", [json.dumps(request)]), ("127.0.0.1", port))
        accepted = len(osc.answers(sock, "/bridge/job/accepted", jobs, 30.0))
        time.sleep(1.0)  # every running job has made its first polls
        rows.append((f"{jobs} jobs", sample(pids, samples)))
        queued, running = osc.in_flight(sock, port)
    print(f"serve resident memory (VmRSS), {samples} samples 0.2 s apart, alternating")
    print(f"  {accepted} jobs accepted; in flight at the end: {queued} queued + {running} running")
    for phase, found in rows:
        ours, base = found["producer-bridge serve"], found["bare python-osc"]
        for name, values in found.items():
            print(f"  {phase:<8} {name:<22} {spread(values, 1.0, 'MB')}")
        ratio = sorted(ours)[len(ours) // 2] / sorted(base)[len(base) // 2]
        target = TARGETS.get(phase, TARGETS["50 jobs"])
        met = "met" if max(ours) <= target else "missed"
        print(f"  {phase:<8} ratio to the bare server {ratio:.2f}x; target <= {target:g} MB: {met}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10, help="RSS readings per phase (10)")
    parser.add_argument("--jobs", type=int, default=50, help="jobs in flight (50)")
    parser.add_argument("--quick", action="store_true", help="3 readings per phase")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-rss-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "xdg-data")
    try:
        return run(tmp, 3 if args.quick else args.samples, args.jobs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
