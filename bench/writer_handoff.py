#!/usr/bin/env python3
"""Where a journal commit's p99 goes when both cores are busy: a thread or a process?

The journal commits on a thread of its own (`bridge/journal/writer.py`). Under the queue
bench's load its p99 per event, handed in -> committed, stays above 5 ms, and a slow
commit spends about half its time waiting for a core and half asleep (the GIL, the disk).
This script asks whether committing in a child process, with no GIL to share, would do
better, without building it into the bridge.

The load, the same for every side: the main thread runs Python in stretches of 0.1 to
0.6 ms (as the event loop does while it parses polls), handing an event in after each and
pausing 0.2 ms after every third; another process burns a core (as the emulator does).
Every tenth event asks for a sync to disk (a paid create's). The sides, interleaved round
by round (`--rounds`, `--events` each):

- `handoff`: a writing thread takes each batch of events that queued up and does nothing
  with it: what handing over between two threads costs, the floor;
- `thread`: the writing thread commits each batch to SQLite (WAL, synchronous=FULL when
  a batch holds an event to sync, NORMAL otherwise; one multi-row INSERT of ~1.2 KB rows,
  as the journal writes), as the bridge does;
- `process`: the writing thread sends each batch over a pipe to a child process that
  commits it the same way, and waits for its answer.

Each event is timed from handed in to its batch committed (ns). Prints p50/p99/max per
side and round, and the medians over the rounds. No target: it informs a design choice
(bench/README.md, "What the journal's p99 under load is"). Files go to a temporary
folder, removed at the end.

Run from the repository root:  .venv/bin/python bench/writer_handoff.py  (--help)
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import random
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as StopEvent
from pathlib import Path

ROW = "x" * 1200  # about what the journal writes per event (its data and the snapshot)
Batch = list[tuple[int, bool]]  # (handed in, ns; synced)
Commit = Callable[[Batch], None]


def open_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, data TEXT)")
    return db


def commit(db: sqlite3.Connection, count: int, synced: bool) -> None:
    db.execute(f"PRAGMA synchronous={'FULL' if synced else 'NORMAL'}")
    db.execute("BEGIN IMMEDIATE")
    values = ", ".join(["(?)"] * count)
    db.execute("INSERT INTO events (data) VALUES " + values, [ROW] * count)  # noqa: S608
    db.execute("COMMIT")


def child(path: Path, pipe: Connection) -> None:
    db = open_db(path)
    while (message := pipe.recv()) is not None:
        count, synced = message
        commit(db, count, synced)
        pipe.send(count)


def burn(stop: StopEvent) -> None:
    spin = 0
    while not stop.is_set():
        for step in range(10_000):
            spin += step


def writer(pending: queue.SimpleQueue[tuple[int, bool] | None], done: Commit) -> None:
    """Take what queued up, hand it to `done`, until the None that ends the round."""
    while (first := pending.get()) is not None:
        batch, last = [first], False
        while not last:
            try:
                item = pending.get_nowait()
            except queue.Empty:
                break
            if item is None:
                last = True
            else:
                batch.append(item)
        done(batch)
        if last:
            return


def one_round(side: str, events: int, folder: Path) -> list[int]:
    latencies: list[int] = []
    pending: queue.SimpleQueue[tuple[int, bool] | None] = queue.SimpleQueue()
    path = folder / f"{side}.sqlite3"
    process = pipe = None
    db = open_db(path) if side == "thread" else None

    def done(batch: Batch) -> None:
        synced = any(flag for _, flag in batch)
        if db is not None:
            commit(db, len(batch), synced)
        elif pipe is not None:
            pipe.send((len(batch), synced))
            pipe.recv()
        now = time.perf_counter_ns()
        latencies.extend(now - handed for handed, _ in batch)

    if side == "process":
        pipe, theirs = multiprocessing.Pipe()
        process = multiprocessing.get_context("fork").Process(target=child, args=(path, theirs))
        process.start()
    thread = threading.Thread(target=writer, args=(pending, done))
    thread.start()
    stop = multiprocessing.Event()
    burner = multiprocessing.Process(target=burn, args=(stop,))
    burner.start()
    for index in range(events):
        until = time.perf_counter() + random.uniform(0.1, 0.6) / 1000
        while time.perf_counter() < until:
            pass
        pending.put((time.perf_counter_ns(), index % 10 == 0))
        if index % 3 == 0:
            time.sleep(0.0002)
    pending.put(None)
    thread.join()
    stop.set()
    burner.join()
    if process is not None and pipe is not None:
        pipe.send(None)
        process.join()
    if db is not None:
        db.close()
    return sorted(latencies)


def quantile(ordered: list[int], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000, help="events per side and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, sides interleaved")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="writer-handoff-"))
    sides = ["handoff", "thread", "process"]
    p99s: dict[str, list[float]] = {side: [] for side in sides}
    try:
        for number in range(1, args.rounds + 1):
            for side in sides if number % 2 else reversed(sides):
                found = one_round(side, args.events, folder)
                p99s[side].append(quantile(found, 0.99))
                print(
                    f"  round {number} {side:<8} p50 {quantile(found, 0.5):.3f}  p99 "
                    f"{quantile(found, 0.99):.3f}  max {found[-1] / 1e6:.3f} ms  (n {len(found)})"
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for side in sides:
        values = ", ".join(f"{value:.2f}" for value in p99s[side])
        print(f"{side:<8} p99 median {statistics.median(p99s[side]):.2f} ms  ({values})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
