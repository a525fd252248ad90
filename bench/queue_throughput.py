#!/usr/bin/env python3
"""Throughput and memory of the job queue: many create_music jobs through a real JobRunner.

`--jobs` create_music jobs (default 200) are submitted to a real `JobRunner`
(`--max-running`, default 4) with a real `ProducerClient` (a PollPlan of 0.01 s without
backing off, so that it polls as the baseline does; the product's default backs off from
3 s to 15 s) and a real journal, then `run_until_idle()` runs them all against
the emulator with no added latency (task_seconds=0, create_seconds 2, so files are
small). Every job goes generate -> download -> write (a PCM_24 WAV, a manifest and an
index line in a temporary project folder) -> notify, journaling each event.

Baseline, in the same run: the same number of generations done by a minimal hand-written
`httpx.AsyncClient` script (`client_overhead.baseline_chain`: POST audios, poll the task,
POST download, poll, stream the file to a temporary file), polling every 0.01 s, at the
same concurrency (`asyncio.Semaphore(max_running)`), with no journal and no project
writing. `--repeat` passes of each side, interleaved (the order swapped every round); the
script prints min/median/max of the wall times and the ratio of medians (target <= 1.1).

The journal under load: every event the runner's untraced passes journal
(`Journal.append`, which `Journal.record` and the job's steps call) is timed with
`perf_counter_ns` twice: from the moment it is handed in to the moment its commit is durable
(p50/p99/max per event, target p99 < 5 ms; also apart for the events synced to disk, a paid
create's intent and answer, and the others, and for the events a job waited for and the
ones it only handed in), and the time it held the calling thread (the event loop, but for
the write step's worker thread).

Memory: `ru_maxrss` (the process's resident high-water mark) before and after the
runner pass, and, in a second pass of each side under `tracemalloc`, the peak of
Python-traced allocations (numpy's buffers included). Target: the runner's traced peak
stays bounded, < 64 MiB for 200 jobs.

By default the emulator runs in a child process (this script with a hidden flag), one
fresh emulator per pass: the emulator keeps every generated audio and rendered file in
memory (about 1 MiB per job here), which would otherwise be counted as the runner's.
`--emulator-in-process` runs it in this process, on its own thread, instead.

Every file goes to a temporary folder removed at the end, and XDG_DATA_HOME points into
it, so nothing lands in the user's real data folder. A benchmark, not a test: a missed
target is printed and the exit code stays 0; it is 1 only when a job did not complete.

Run from the repository root:  .venv/bin/python bench/queue_throughput.py  (--help)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from client_overhead import baseline_chain
from common import ratio_line, spread

from bridge.api import PollPlan, ProducerClient, make_http_client
from bridge.api.contract import SEED
from bridge.config import BUILTIN_MODELS, EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.jobs import Job, JobRequest
from bridge.jobs.judging import validate_request
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.results import TaskStatus
from bridge.jobs.state import is_billed
from bridge.journal import SYNCED, Journal
from bridge.pipeline import Deps, JobRunner

THROUGHPUT_TARGET = 1.1
JOURNAL_TARGET_MS = 5.0
MEMORY_TARGET_MIB = 64.0
MEMORY_TARGET_JOBS = 200
MIB = 1 << 20
# The runner polls as the baseline does: every 0.01 s, no backing off (the product's
# default plan backs off from 3 s to 15 s, which a bench of this length cannot use).
POLL = PollPlan(interval=0.01, max_interval=0.01, backoff=1.0, deadline=120.0)
RESULTS_FOLDER = "ProducerBridge"


class QuietProgress:
    """A Progress that tells nobody anything."""

    def step(self, step: str, detail: str) -> None:
        pass

    def task(self, step: str, status: TaskStatus) -> None:
        pass

    def transfer(self, step: str, done: int, total: int | None) -> None:
        pass

    def waiting(self, step: str, seconds: float, reason: str) -> None:
        pass

    def finished(self, step: str, detail: str) -> None:
        pass


QUIET = QuietProgress()


async def _no_notice(job: Job) -> None:
    return None


@dataclass
class Pass:
    """One measured run of one side."""

    side: str
    jobs: int
    wall: float = 0.0  # seconds, submit included
    submit: float = 0.0  # seconds spent in JobRunner.submit (runner only)
    traced_peak: int | None = None  # bytes
    traced_end: int | None = None  # bytes still traced when the pass ended
    rss_before: int | None = None  # KiB, ru_maxrss
    rss_after: int | None = None
    requests: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    files: int = 0  # result WAVs written into the project (runner) or fetched (baseline)
    records: list[int] = field(default_factory=list)  # ns per event, handed in -> committed
    on_caller: list[int] = field(default_factory=list)  # ns per event on the calling thread
    synced: list[int] = field(default_factory=list)  # indexes into `records`: synced to disk
    awaited: list[int] = field(default_factory=list)  # indexes into `records`: a job waited


# The emulator ---------------------------------------------------------------------------


def emulator_settings(create_seconds: float) -> EmulatorSettings:
    return EmulatorSettings(port=0, task_seconds=0.0, create_seconds=create_seconds)


def serve_emulator(create_seconds: float) -> int:
    """The child: serve until stdin closes; the first line out is "URL TOKEN"."""
    with EmulatorServer(emulator_settings(create_seconds)) as server:
        print(server.url, server.token, flush=True)
        sys.stdin.read()
    return 0


@contextlib.contextmanager
def emulator(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(URL, token) of a fresh emulator, in this process or a child one."""
    if args.emulator_in_process:
        with EmulatorServer(emulator_settings(args.create_seconds)) as server:
            yield server.url, server.token
        return
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve-emulator",
        "--create-seconds",
        str(args.create_seconds),
    ]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        first = child.stdout.readline().split()
        if len(first) != 2:
            raise RuntimeError(f"the emulator child did not start (exit code {child.poll()})")
        yield first[0], first[1]
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        child.stdout.close()


async def request_counts(url: str) -> Counter[str]:
    """Requests the emulator served, per endpoint (its unauthenticated stats route)."""
    async with make_http_client() as http:
        response = await http.get(f"{url}/_emulator/stats")
        response.raise_for_status()
        return Counter({k: int(v) for k, v in response.json()["requests"].items()})


# The two sides --------------------------------------------------------------------------


def create_request(project: Path) -> JobRequest:
    audio = AudioRequest(
        action="create_music",
        model=BUILTIN_MODELS[0],
        sounds=(Sound("warm piano", 0.8),),
        title="queue bench",
    )
    return validate_request(JobRequest(audio=audio, project=str(project)), BUILTIN_MODELS)


def time_records(found: Pass, journal: Journal) -> None:
    """Time every event journaled (`journal.append`), handed in -> committed into
    `found.records`, on the calling thread into `found.on_caller` (ns); `found.synced`
    marks the ones synced to disk (a paid create's, `SYNCED`), `found.awaited` the ones a
    job waited for (`journal.committed`, `journal.record`)."""
    append, committed, wait = journal.append, journal.committed, journal.wait
    lock = threading.Lock()  # the commit's thread and the waiting one mark a future

    def mark(written: Any, **marks: Any) -> None:
        with lock:
            for name, value in marks.items():
                setattr(written, name, value)
            index = getattr(written, "bench_index", None)
            if index is not None and getattr(written, "bench_awaited", False):
                found.awaited.append(index)

    def timed(job: Job, event: Any) -> tuple[Job, Any]:
        started = time.perf_counter_ns()
        new, written = append(job, event)
        found.on_caller.append(time.perf_counter_ns() - started)
        synced = event.kind in SYNCED and is_billed(event.key)

        def done(_: Any) -> None:
            if synced:
                found.synced.append(len(found.records))
            found.records.append(time.perf_counter_ns() - started)
            mark(written, bench_index=len(found.records) - 1)

        written.add_done_callback(done)
        return new, written

    async def timed_committed(written: Any) -> Any:
        mark(written, bench_awaited=True)
        return await committed(written)

    def timed_record(job: Job, event: Any) -> Job:  # what `Journal.record` does
        new, written = timed(job, event)
        mark(written, bench_awaited=True)
        wait(written)
        return new

    journal.append = timed  # type: ignore[method-assign]
    journal.committed = timed_committed  # type: ignore[method-assign, assignment]
    journal.record = timed_record  # type: ignore[method-assign]


async def run_runner(
    client: ProducerClient,
    service: tuple[str, str],
    folder: Path,
    jobs: int,
    max_running: int,
    found: Pass,
) -> tuple[dict[str, Job], float, float]:
    """Submit `jobs` jobs, run them all; (finished jobs, submit seconds, wall seconds)."""
    project = folder / "project"
    project.mkdir(parents=True)
    request = create_request(project)
    with Journal(folder / "journal" / "journal.sqlite3") as journal:
        time_records(found, journal)
        deps = Deps(
            client=client,
            journal=journal,
            stager=None,
            work_root=folder / "work",
            allowed_roots=(folder,),
            results_folder=RESULTS_FOLDER,
            notify=_no_notice,
        )
        runner = JobRunner(deps, max_running=max_running, progress=lambda job: QUIET)
        started = time.perf_counter()
        for _ in range(jobs):
            runner.submit(request)
        submitted = time.perf_counter()
        finished = await runner.run_until_idle()
        ended = time.perf_counter()
    return finished, submitted - started, ended - started


async def run_baseline(
    client: ProducerClient,
    service: tuple[str, str],
    folder: Path,
    jobs: int,
    max_running: int,
    found: Pass,
) -> tuple[list[int | BaseException], float]:
    """The same generations by hand with plain httpx; (bytes fetched or the error, per job;
    wall seconds). `service` is the emulator's (URL, token); `client` is not used."""
    folder.mkdir(parents=True)  # noqa: ASYNC240 - once, before the timed region
    body = SEED.audio_body(create_request(folder).audio)
    url, token = service
    auth = {"Authorization": f"Bearer {token}"}
    limit = asyncio.Semaphore(max_running)

    async def one(http: httpx.AsyncClient, index: int) -> int:
        async with limit:
            dest = folder / f"{index}.wav"
            size = await baseline_chain(http, url, auth, body, dest, POLL.interval)
            dest.unlink()  # the runner removes its work folders too
            return size

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60.0) as http:
        results = await asyncio.gather(*(one(http, i) for i in range(jobs)), return_exceptions=True)
    return list(results), time.perf_counter() - started


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


async def measure_pass(args: argparse.Namespace, side: str, folder: Path, *, trace: bool) -> Pass:
    """Warm up with `max_running` jobs, then measure `--jobs` jobs, on a fresh emulator."""
    found = Pass(f"{side} traced" if trace else side, args.jobs)
    run = run_runner if side == "runner" else run_baseline
    with emulator(args) as (url, token):
        async with make_http_client() as http:
            client = ProducerClient(http, base_url=url, api_key=token, poll_plan=POLL)
            warmup = folder / "warmup"
            unmeasured = Pass(side, args.max_running)
            await run(client, (url, token), warmup, args.max_running, args.max_running, unmeasured)
            before = await request_counts(url)
            found.rss_before = maxrss_kib()
            if trace:
                tracemalloc.start()
            if side == "runner":
                finished, found.submit, found.wall = await run_runner(
                    client,
                    (url, token),
                    folder / "measured",
                    args.jobs,
                    args.max_running,
                    found,
                )
            else:
                results, found.wall = await run_baseline(
                    client,
                    (url, token),
                    folder / "measured",
                    args.jobs,
                    args.max_running,
                    found,
                )
            if trace:
                found.traced_end, found.traced_peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
            found.rss_after = maxrss_kib()
            found.requests = await request_counts(url) - before  # stats are not counted
    if side == "runner":
        for job in finished.values():
            if job.status != "completed":
                found.failures.append(
                    f"job {job.short_id}: {job.status} at {job.step}: {job.error}"
                )
        if len(finished) != args.jobs:
            found.failures.append(f"{len(finished)} of {args.jobs} jobs finished")
        results_root = folder / "measured" / "project" / RESULTS_FOLDER
        found.files = sum(1 for _ in results_root.glob("*/result.wav"))
    else:
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                found.failures.append(f"generation {index}: {type(result).__name__}: {result}")
        found.files = sum(1 for r in results if isinstance(r, int) and r > 0)
    shutil.rmtree(folder, ignore_errors=True)
    return found


# Reporting ------------------------------------------------------------------------------


def mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


def quantile_ms(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def report_walls(args: argparse.Namespace, passes: dict[str, list[Pass]]) -> None:
    walls = {side: [p.wall for p in passes[side]] for side in ("runner", "baseline")}
    for side, values in walls.items():
        print(f"  {side:<9} wall {spread(values, 1.0, 's')}")
    print(f"  {ratio_line(walls['runner'], walls['baseline'], THROUGHPUT_TARGET)}")
    records = [ns for found in passes["runner"] for ns in found.records]
    p99 = quantile_ms(records, 0.99)
    print(
        f"  journal under load, per event handed in -> committed: {len(records)} events, p50 "
        f"{quantile_ms(records, 0.5):.3f}  p99 {p99:.3f}  max {max(records) / 1e6:.3f} ms; "
        f"target p99 < {JOURNAL_TARGET_MS:g} ms: {'met' if p99 < JOURNAL_TARGET_MS else 'missed'}"
    )
    for name, marks, among in (
        ("synced to disk", "synced", True),
        ("not synced", "synced", False),
        ("a job waited for", "awaited", True),
        ("handed in only", "awaited", False),
    ):
        some = [
            ns
            for found in passes["runner"]
            for marked in [set(getattr(found, marks))]
            for index, ns in enumerate(found.records)
            if (index in marked) == among
        ]
        print(
            f"    of which {name}: {len(some)} events, p50 {quantile_ms(some, 0.5):.3f}  "
            f"p99 {quantile_ms(some, 0.99):.3f} ms"
        )
    caller = [ns for found in passes["runner"] for ns in found.on_caller]
    print(
        f"  journal under load, per event on the calling thread: p50 "
        f"{quantile_ms(caller, 0.5):.3f}  p99 {quantile_ms(caller, 0.99):.3f}  "
        f"max {max(caller) / 1e6:.3f} ms"
    )


def report(args: argparse.Namespace, all_passes: dict[str, list[Pass]], xdg_files: int) -> int:
    passes = {side: found[0] for side, found in all_passes.items()}
    runner, baseline = passes["runner"], passes["baseline"]
    where = "in this process" if args.emulator_in_process else "in a child process"
    print(
        f"queue throughput: {args.jobs} create_music jobs, max_running {args.max_running}, "
        f"emulator {where} (task_seconds 0, create_seconds {args.create_seconds:g}), "
        f"both sides poll every {POLL.interval:g} s"
    )
    failed = False
    for found in (p for side in all_passes.values() for p in side):
        if found.failures:
            failed = True
            print(f"  {found.side}: {len(found.failures)} failure(s):")
            for failure in found.failures[:20]:
                print(f"    {failure}")
    completed = args.jobs - len(runner.failures)
    print(
        f"  jobs completed: {completed} / {args.jobs}; result WAVs in the project: "
        f"{runner.files}; baseline files fetched: {baseline.files}"
    )
    print("  first pass of each side:")
    for name in ("runner", "baseline"):
        found = passes[name]
        total = sum(found.requests.values())
        detail = ", ".join(f"{k} {v / args.jobs:.2f}" for k, v in sorted(found.requests.items()))
        extra = f" (submit {found.submit:.2f} s)" if name == "runner" else ""
        print(
            f"  {name:<9} wall {found.wall:6.2f} s{extra}  {args.jobs / found.wall:6.1f} jobs/s  "
            f"requests/job {total / args.jobs:.2f} ({detail})"
        )
    report_walls(args, all_passes)
    assert runner.rss_before is not None
    assert runner.rss_after is not None
    rss_delta = (runner.rss_after - runner.rss_before) * 1024
    print(
        f"  ru_maxrss, runner pass: {mib(runner.rss_before * 1024)} before, "
        f"{mib(runner.rss_after * 1024)} after, delta {mib(rss_delta)} "
        f"({rss_delta / args.jobs / 1024:.1f} KiB per queued job)"
    )
    if "runner traced" not in passes:
        print("  tracemalloc passes skipped (--skip-traced): no verdict on memory")
        print(f"  files left under the temporary XDG_DATA_HOME: {xdg_files}")
        return 1 if failed else 0
    traced_runner = passes["runner traced"]
    for found in (traced_runner, passes["baseline traced"]):
        assert found.traced_peak is not None
        print(
            f"  tracemalloc, {found.side:<15} peak {mib(found.traced_peak):>9} "
            f"({found.traced_peak / args.jobs / 1024:.1f} KiB per job), "
            f"{mib(found.traced_end or 0)} still held at the end; "
            f"wall {found.wall:.2f} s under tracemalloc"
        )
    assert traced_runner.traced_peak is not None
    verdict = "PASS" if traced_runner.traced_peak < MEMORY_TARGET_MIB * MIB else "FAIL"
    print(
        f"  target: peak traced memory bounded (< {MEMORY_TARGET_MIB:g} MiB for "
        f"{MEMORY_TARGET_JOBS} jobs; the same bound for any --jobs) -> {verdict}"
    )
    print(f"  files left under the temporary XDG_DATA_HOME: {xdg_files}")
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Run many create_music jobs through a real JobRunner against the local emulator, "
            "versus the same generations by a minimal ProducerClient script, and print "
            "jobs/s, the ratio of wall times and the peak memory. Talks to 127.0.0.1 only; "
            "exits 1 only when a job did not complete."
        )
    )
    parser.add_argument("--jobs", type=int, default=200, help="jobs per pass (default 200)")
    parser.add_argument(
        "--max-running", type=int, default=4, help="jobs in flight at once (default 4)"
    )
    parser.add_argument(
        "--create-seconds",
        type=float,
        default=2.0,
        help="length of the emulator's created audio, in seconds (default 2)",
    )
    parser.add_argument(
        "--emulator-in-process",
        action="store_true",
        help="run the emulator in this process (its memory is then counted too)",
    )
    parser.add_argument(
        "--skip-traced", action="store_true", help="leave out the two tracemalloc passes"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="untraced passes of each side, interleaved (3)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="30 jobs, 2 passes per side, no tracemalloc"
    )
    parser.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.jobs, args.repeat, args.skip_traced = 30, 2, True
    if min(args.jobs, args.max_running, args.repeat) < 1 or args.create_seconds <= 0:
        parser.error("--jobs, --max-running and --repeat must be >= 1, --create-seconds > 0")
    return args


async def measure(args: argparse.Namespace, tmp: Path) -> dict[str, list[Pass]]:
    # The runner's first untraced pass goes first, so that its ru_maxrss delta is its own;
    # then the sides alternate, the order swapped every round.
    order: list[tuple[str, bool]] = []
    for round_ in range(args.repeat):
        pair = [("runner", False), ("baseline", False)]
        order += pair if round_ % 2 == 0 else pair[::-1]
    if not args.skip_traced:
        order += [("runner", True), ("baseline", True)]
    passes: dict[str, list[Pass]] = {}
    for index, (side, trace) in enumerate(order):
        found = await measure_pass(args, side, tmp / f"pass-{index}", trace=trace)
        passes.setdefault(found.side, []).append(found)
    return passes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_emulator:
        return serve_emulator(args.create_seconds)
    tmp = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    xdg = tmp / "xdg-data"
    xdg.mkdir()
    os.environ["XDG_DATA_HOME"] = str(xdg)  # inherited by the emulator child too
    try:
        passes = asyncio.run(measure(args, tmp))
        xdg_files = sum(1 for path in xdg.rglob("*") if path.is_file())
        return report(args, passes, xdg_files)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
