#!/usr/bin/env python3
"""The job journal's cost per recorded event, with durable commits.

`Journal.record` applies an event to the job, then has the journal's writing thread
commit the event row and the new job snapshot in one transaction, and waits for it
(SQLite WAL; synchronous=FULL for a paid create's intent and answer, NORMAL for the other
events). This script creates `--jobs`
jobs (default 200) in a fresh journal in a temporary folder and, for each, records the
events a real replace_music job journals, in the order `bridge/pipeline/steps.py` records
them (stage, upload, generate, download, write, notify, then completed; two task-status
events per task). Every `record` call is timed with `time.perf_counter_ns`.

Baseline, in the same run and interleaved job by job: a bare `sqlite3` connection to a
second database in the same folder (WAL, synchronous=FULL) doing BEGIN, one INSERT of
a JSON text of the same size as what the journal wrote for that event (event data plus
job snapshot), COMMIT: one commit synced to disk, what every event cost before the
journal had its own thread.

Prints p50, p95, p99 and max per event for both, the ratios journal / baseline, the
journal time per job, and the journal's size on disk. Target: journal p99 < 5 ms.
A benchmark, not a test: it exits 0 on a FAIL.

Run from the repository root:  .venv/bin/python bench/journal_cost.py  (--help)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.config import BUILTIN_MODELS
from bridge.jobs import ClipPlacement, Event, Job, JobRequest, Selection, apply
from bridge.jobs.judging import validate_request
from bridge.jobs.request import AudioRequest, Sound
from bridge.journal import Journal

TARGET_P99_MS = 5.0
NS_PER_MS = 1_000_000


# The events of one replace job -------------------------------------------------------


def _task_events(key: str) -> Iterator[Event]:
    """intent, submitted and two status changes, as `JobRun._create` / `_on_status` do."""
    task_id = str(uuid.uuid4())
    yield Event("intent", key=key)
    yield Event("submitted", key=key, data={"taskId": task_id})
    for status in ("processing", "completed"):
        yield Event("status", key=key, data={"status": status, "taskId": task_id})


def replace_job_events(job: Job, work: Path) -> Iterator[Event]:
    """What `JobRun.run` records for a replace_music job with one result clip, no stems.

    The step is set on each event as `JobRun.record` sets it (the job's current step).
    """
    base = "http://127.0.0.1:8790/files"
    source_id, result_id = str(uuid.uuid4()), str(uuid.uuid4())
    folder = f"ProducerBridge/20261124-101500_replace_music_disco-strings_{job.short_id}"

    def step(name: str, *events: Event | Iterator[Event]) -> Iterator[Event]:
        yield Event("started", name)
        for event in events:
            if isinstance(event, Event):
                yield Event(event.kind, name, event.key, event.data)
            else:
                for inner in event:
                    yield Event(inner.kind, name, inner.key, inner.data)
        yield Event("done", name)

    yield from step(
        "stage",
        Event(
            "fact",
            data={
                "span": {"start": 4.0, "duration": 12.0},
                "work": {"upload": str(work / job.id / "upload.wav")},
            },
        ),
    )
    yield from step(
        "upload",
        Event("fact", data={"staged_url": f"http://127.0.0.1:8791/s/{uuid.uuid4().hex}.wav"}),
        _task_events("upload"),
        Event("fact", data={"audio_ids": {"source": source_id}}),
    )
    yield from step(
        "generate",
        _task_events("generate"),
        Event(
            "fact",
            data={
                "clips": [{"audioId": result_id, "title": "disco strings", "duration": 12.0}],
                "audio_ids": {"result:1": result_id},
            },
        ),
    )
    yield from step(
        "download",
        _task_events("result:1"),
        Event("fact", data={"links": {"result:1": f"{base}/{result_id}.wav?exp=1795000000"}}),
        Event("fact", data={"work": {"result:1": str(work / job.id / "result_1.wav")}}),
    )
    yield from step(
        "write",
        Event("fact", data={"folder": folder}),
        Event(
            "fact",
            data={
                "written": {
                    f"{folder}/result.wav": {
                        "kind": "result",
                        "clip": 1,
                        "frames": 576000,
                        "sampleRate": 48000,
                        "channels": 2,
                    }
                }
            },
        ),
        Event("fact", data={"manifest": f"{folder}/producer-bridge.json"}),
    )
    yield from step("notify")
    yield Event("completed", "notify")  # JobRun.record: the step is still the last one


def replace_request(project: Path, clip_path: Path) -> JobRequest:
    audio = AudioRequest(
        action="replace_music",
        model=BUILTIN_MODELS[0],
        sounds=(Sound("disco strings", 0.7),),
        title="disco strings",
    )
    request = JobRequest(
        audio=audio,
        project=str(project),
        sample_rate=48000,
        clip=ClipPlacement(str(clip_path), item_position=8.0, take_offset=4.0, length=12.0),
        selection=Selection(12.0, 16.5),
    )
    return validate_request(request, BUILTIN_MODELS)


# Measuring -----------------------------------------------------------------------------


@dataclass
class Timings:
    per_event: list[int] = field(default_factory=list)  # ns
    per_job: list[int] = field(default_factory=list)  # ns, sum over a job's events
    by_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


class Baseline:
    """A bare sqlite3 database: one INSERT of a JSON text per durable commit."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data TEXT NOT NULL)")

    def commit(self, blob: str) -> int:
        started = time.perf_counter_ns()
        self.db.execute("BEGIN")
        self.db.execute("INSERT INTO blobs (data) VALUES (?)", (blob,))
        self.db.execute("COMMIT")
        return time.perf_counter_ns() - started

    def close(self) -> None:
        self.db.close()


def json_of_size(size: int) -> str:
    """A JSON text of exactly `size` characters (at least 10)."""
    return json.dumps({"pad": "x" * max(0, size - 10)})


def python_work_ns(job: Job, event: Event) -> tuple[int, Job]:
    """The in-Python part of `record` (apply + the two json.dumps), outside the journal."""
    started = time.perf_counter_ns()
    new = apply(job, event, time.time())
    json.dumps(event.data)
    json.dumps(new.to_json())
    return time.perf_counter_ns() - started, new


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    clip = folder / "project" / "Audio" / "strings.wav"  # never opened: named in the request
    request = replace_request(folder / "project", clip)
    journal_t, baseline_t, python_t = Timings(), Timings(), Timings()
    creates: list[int] = []
    written: list[int] = []
    baseline = Baseline(folder / "baseline.sqlite3")
    try:
        with Journal(folder / "journal" / "journal.sqlite3") as journal:
            work = journal.path.parent / "work"
            for _ in range(args.jobs):
                started = time.perf_counter_ns()
                job = journal.create(request, owner=True)
                creates.append(time.perf_counter_ns() - started)
                sizes: list[int] = []
                shadow = job
                job_ns = 0
                for event in replace_job_events(job, work):
                    started = time.perf_counter_ns()
                    job = journal.record(job, event)
                    elapsed = time.perf_counter_ns() - started
                    journal_t.per_event.append(elapsed)
                    journal_t.by_kind[event.kind].append(elapsed)
                    job_ns += elapsed
                    # Outside the timed region: what was written, for the baseline's size.
                    sizes.append(len(json.dumps(event.data)) + len(json.dumps(job.to_json())))
                    py_ns, shadow = python_work_ns(shadow, event)
                    python_t.per_event.append(py_ns)
                journal_t.per_job.append(job_ns)
                if job.status != "completed":
                    raise RuntimeError(f"job {job.short_id} ended {job.status}")
                blobs = [json_of_size(size) for size in sizes]
                base_ns = 0
                for blob in blobs:
                    elapsed = baseline.commit(blob)
                    baseline_t.per_event.append(elapsed)
                    base_ns += elapsed
                baseline_t.per_job.append(base_ns)
                written.extend(sizes)
            events_in_db = len(journal.events(job.id))
            open_files = _sizes(folder / "journal")
    finally:
        baseline.close()
    return {
        "journal": journal_t,
        "baseline": baseline_t,
        "python": python_t,
        "creates": creates,
        "written": written,
        "events_per_job": events_in_db,
        "open_files": open_files,
        "files": _sizes(folder / "journal"),
        "baseline_bytes": sum(p.stat().st_size for p in folder.glob("baseline.sqlite3*")),
    }


def _sizes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_size for path in sorted(folder.glob("journal.sqlite3*"))}


# Reporting -----------------------------------------------------------------------------


def percentile(values: list[int], q: float) -> float:
    """The q-th percentile (0..100) by the nearest-rank method, in ms."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
    return ordered[int(rank) - 1] / NS_PER_MS


def summary(values: list[int]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) / NS_PER_MS,
        "mean": statistics.fmean(values) / NS_PER_MS,
    }


def line(name: str, values: list[int]) -> str:
    s = summary(values)
    return (
        f"  {name:<16} p50 {s['p50']:7.3f}  p95 {s['p95']:7.3f}  p99 {s['p99']:7.3f}  "
        f"max {s['max']:8.3f}  mean {s['mean']:7.3f} ms"
    )


def filesystem(path: Path) -> str:
    """The mount point and filesystem type holding `path` (Linux), else 'unknown'."""
    best, kind, source = "", "unknown", "?"
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return "unknown filesystem"
    resolved = str(path.resolve())
    for entry in mounts:
        parts = entry.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind, source = point, parts[2], parts[0]
    return f"{kind} on {source}, mounted at {best}"


def report(args: argparse.Namespace, folder: Path, repo: Path, found: dict[str, Any]) -> None:
    journal_t: Timings = found["journal"]
    baseline_t: Timings = found["baseline"]
    python_t: Timings = found["python"]
    same_disk = os.stat(folder).st_dev == os.stat(repo).st_dev
    events = len(journal_t.per_event)
    print(
        f"journal cost: {args.jobs} replace_music jobs, {found['events_per_job']} events each "
        "(queued + the events steps.py records), WAL, synchronous FULL for a paid create's "
        "intent and answer, NORMAL for the others"
    )
    print(f"  folder: {folder}")
    print(
        f"          {filesystem(folder)}; same device as the repository: "
        f"{'yes' if same_disk else 'no'}"
    )
    print(
        f"  events recorded: {events} by Journal.record "
        f"(+ {len(found['creates'])} Journal.create), {len(baseline_t.per_event)} baseline commits"
    )
    written = found["written"]
    print(
        f"  JSON written per event (event data + snapshot): median "
        f"{statistics.median(written):.0f} B, max {max(written)} B"
    )
    print("  per event:")
    print(line("journal.record", journal_t.per_event))
    print(line("baseline commit", baseline_t.per_event))
    print(line("journal.create", found["creates"]))
    print(line("python part", python_t.per_event) + "  (apply + json.dumps, measured apart)")
    print("  journal.record by kind:")
    for kind, values in sorted(journal_t.by_kind.items(), key=lambda kv: -len(kv[1])):
        s = summary(values)
        print(
            f"    {kind:<10} n {len(values):5d}  p50 {s['p50']:7.3f}  p99 {s['p99']:7.3f}  "
            f"max {s['max']:8.3f} ms"
        )
    print("  per job (sum over its events):")
    print(line("journal", journal_t.per_job))
    print(line("baseline", baseline_t.per_job))
    j, b = summary(journal_t.per_event), summary(baseline_t.per_event)
    print(
        f"  ratio journal / baseline: p50 {j['p50'] / b['p50']:.2f}  p99 {j['p99'] / b['p99']:.2f}"
        f"  (difference at p50 {j['p50'] - b['p50']:+.3f} ms)"
    )
    for when, key in (("before closing", "open_files"), ("after closing", "files")):
        files = found[key]
        sizes = ", ".join(f"{name} {size / 2**20:.2f} MiB" for name, size in files.items())
        print(f"  journal files {when}: {sizes}  (total {sum(files.values()) / 2**20:.2f} MiB)")
    print(f"  baseline files after the run: {found['baseline_bytes'] / 2**20:.2f} MiB")
    verdict = "PASS" if j["p99"] < TARGET_P99_MS else "FAIL"
    print(f"  target: p99 < {TARGET_P99_MS:g} ms -> {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time Journal.record (WAL, on the journal's thread) over the events of many replace "
            "jobs, against bare sqlite3 INSERT+COMMIT of the same sizes; target p99 < "
            f"{TARGET_P99_MS:g} ms. Exits 0 on a FAIL."
        )
    )
    parser.add_argument("--jobs", type=int, default=200, help="jobs to journal (default 200)")
    parser.add_argument("--quick", action="store_true", help="50 jobs")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="make the temporary folder in DIR (default: the system's temporary folder)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder, and print where it is"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.jobs = 50
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repo = Path(__file__).resolve().parent.parent
    folder = Path(tempfile.mkdtemp(prefix="bench-journal-", dir=args.dir))
    try:
        found = measure(args, folder)
        report(args, folder, repo, found)
    finally:
        if args.keep:
            print(f"  kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
