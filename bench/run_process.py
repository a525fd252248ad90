"""`producer-bridge run create_music` as a whole process, against a hand-written httpx
script making the same HTTP calls, also as a whole process.

One emulator (`producer-bridge emulator --task-seconds 0`, a child process) serves both
sides. The bridge side starts the command line, builds the journal, creates the task,
polls it, asks for the WAV, polls, downloads it and writes it into a fresh project folder
with its manifest. The baseline is `python -c <script>`: import httpx, POST
/producer/audios, poll /producer/tasks, POST /producer/download, poll, stream the file to
disk. Both poll every `--interval` seconds. Runs are interleaved, the order swapped every
round; prints min/median/max of each side and the ratio of medians (target <= 1.5x).

The bridge's modules are byte-compiled first (`compileall`, as `pip install` does), so that
both sides load bytecode: with PYTHONDONTWRITEBYTECODE set, an editable install would
otherwise compile its ~70 modules from source on every run. `--no-compile` skips that (the
bridge then loads whatever bytecode is already there).

A benchmark, not a test: a missed target is printed and the exit code stays 0.
"""

from __future__ import annotations

import argparse
import compileall
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ratio_line, spread

TARGET = 1.5
TOKEN = "emulator-token"  # noqa: S105 - the emulator's public test token

BASELINE = """
import asyncio, sys, httpx
base, dest, interval, model = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
auth = {"Authorization": "Bearer " + sys.argv[5]}
body = {"action": "create_music", "model": model}
body["sounds"] = [{"text": "warm piano", "strength": 0.5}]
async def poll(http, task_id):
    while True:
        answer = await http.get(base + "/producer/tasks", params={"taskId": task_id}, headers=auth)
        data = answer.json()
        if data["status"] == "completed":
            return data["result"]
        if data["status"] in ("failed", "cancelled", "timeout"):
            raise SystemExit(data["status"])
        await asyncio.sleep(interval)
async def main():
    async with httpx.AsyncClient(timeout=60.0) as http:
        task = (await http.post(base + "/producer/audios", json=body, headers=auth)).json()
        clip = await poll(http, task["taskId"])
        clip = clip[0] if isinstance(clip, list) else clip
        wanted = {"audioId": clip["audioId"], "format": "wav"}
        task = (await http.post(base + "/producer/download", json=wanted, headers=auth)).json()
        link = await poll(http, task["taskId"])
        async with http.stream("GET", link["url"]) as response:
            with open(dest, "wb") as out:
                async for chunk in response.aiter_raw(1 << 16):
                    out.write(chunk)
asyncio.run(main())
"""


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "bridge", "emulator", "--port", "0", "--task-seconds", "0"]
    emulator = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert emulator.stdout is not None
    for line in emulator.stdout:
        if line.startswith("listening on "):
            return emulator, line.split()[2]
    raise RuntimeError(f"the emulator did not start (exit code {emulator.wait()})")


def write_config(tmp: Path, interval: float) -> Path:
    config = tmp / "bridge.toml"
    config.write_text(
        f'[output]\nallowed_roots = ["{tmp}"]\ndir = "{tmp / "project"}"\n'
        f'[jobs]\njournal = "{tmp / "journal.sqlite3"}"\n'
        f"[polling]\ninterval = {interval}\nmax_interval = {interval}\n"
    )
    return config


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{command[:4]} failed:\n{done.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="measured runs per side (9)")
    parser.add_argument("--interval", type=float, default=0.01, help="poll interval (0.01 s)")
    parser.add_argument("--quick", action="store_true", help="3 runs per side")
    parser.add_argument(
        "--no-compile", action="store_true", help="do not byte-compile the bridge first"
    )
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    import bridge
    from bridge.config import BUILTIN_MODELS

    if not args.no_compile:
        compileall.compile_dir(Path(bridge.__file__).parent, quiet=1)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCER_")}
    emulator, url = start_emulator()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
            tmp = Path(folder)
            env["XDG_DATA_HOME"] = str(tmp / "data")
            config = write_config(tmp, args.interval)
            bridge_cmd = [sys.executable, "-m", "bridge", "--config", str(config), "run"]
            bridge_cmd += ["create_music", "--prompt", "warm piano", "--api-url", url]
            bridge, baseline = [], []
            for index in range(runs + 1):  # the first round warms the caches, unmeasured
                ours = [*bridge_cmd, "--project", str(tmp / f"project-{index}")]
                base = [sys.executable, "-c", BASELINE, url, str(tmp / f"base-{index}.wav")]
                base += [str(args.interval), BUILTIN_MODELS[0], TOKEN]
                pair = [(bridge, ours), (baseline, base)]
                for times, command in pair if index % 2 else reversed(pair):
                    elapsed = timed(command, env)
                    if index:
                        times.append(elapsed)
    finally:
        emulator.terminate()
        emulator.wait(10)
    compiled = "not byte-compiled first" if args.no_compile else "byte-compiled first"
    print(f"run create_music, whole process, emulator with task_seconds 0, poll {args.interval} s")
    print(f"  the bridge's modules: {compiled}")
    print(f"  httpx script       {spread(baseline)}")
    print(f"  producer-bridge run {spread(bridge)}")
    print(f"  {ratio_line(bridge, baseline, TARGET)}")


if __name__ == "__main__":
    main()
