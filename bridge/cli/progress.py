"""Showing a run's progress: a live rich display on a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from bridge.errors import redact
from bridge.jobs.results import TaskStatus


class LineProgress:
    """One line per event, for logs, pipes and CI."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._started: dict[str, float] = {}
        self._last_percent: dict[str, int] = {}

    def step(self, step: str, detail: str) -> None:
        self._started[step] = time.monotonic()
        self._print(f"[{step}] started: {detail}")

    def task(self, step: str, status: TaskStatus) -> None:
        self._print(f"[{step}] task {status.task_id}: {status.status}")

    def transfer(self, step: str, done: int, total: int | None) -> None:
        if not total:
            return
        percent = done * 100 // total
        if percent // 25 > self._last_percent.get(step, -1) // 25:
            self._last_percent[step] = percent
            self._print(f"[{step}] {percent}% of {total} bytes")

    def waiting(self, step: str, seconds: float, reason: str) -> None:
        self._print(f"[{step}] waits {seconds:.1f} s: {reason}")

    def finished(self, step: str, detail: str) -> None:
        elapsed = time.monotonic() - self._started.get(step, time.monotonic())
        self._print(f"[{step}] done in {elapsed:.1f} s: {detail}")

    def _print(self, text: str) -> None:
        self._console.print(redact(text), markup=False, highlight=False, soft_wrap=True)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class RichProgress:
    """A live table of steps with task status, bytes and elapsed time."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[step]:<18}"),
            TextColumn("{task.fields[state]:<12}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[size]:>16}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=console,
        )
        self._rows: dict[str, TaskID] = {}

    def step(self, step: str, detail: str) -> None:
        self._rows[step] = self._progress.add_task(
            step, total=None, step=step, state="starting", detail=redact(detail), size=""
        )

    def task(self, step: str, status: TaskStatus) -> None:
        self._update(step, state=status.status, detail=f"task {status.task_id}")

    def transfer(self, step: str, done: int, total: int | None) -> None:
        row = self._rows.get(step)
        if row is not None:
            size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            self._progress.update(row, completed=done, total=total, state="downloading", size=size)

    def waiting(self, step: str, seconds: float, reason: str) -> None:
        self._update(step, state="waiting", detail=f"{seconds:.0f} s: {reason}")

    def finished(self, step: str, detail: str) -> None:
        row = self._rows.get(step)
        if row is None:
            return
        total = self._progress.tasks[row].total
        self._progress.update(row, total=total or 1, completed=total or 1)
        self._update(step, state="done", detail=detail)
        self._progress.stop_task(row)

    def _update(self, step: str, *, state: str, detail: str) -> None:
        row = self._rows.get(step)
        if row is not None:
            self._progress.update(row, state=state, detail=redact(detail))

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()


def make_progress(console: Console) -> LineProgress | RichProgress:
    return RichProgress(console) if console.is_terminal else LineProgress(console)
