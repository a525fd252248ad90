"""The emulator's tasks: pending -> processing -> completed (or failed / timeout)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridge.emulator.faults import FaultDice
from bridge.emulator.keeping import Keeper, Recipe, TaskRecord

log = logging.getLogger(__name__)

# Error codes the emulator uses; 4001 is the one the service's documentation shows.
SOURCE_NOT_FOUND = 4001
TOO_LONG = 4002
BAD_EXTENSION = 4003
NOT_AUDIO = 4004
FORMAT_UNAVAILABLE = 4005
BAD_PARAMETER = 4010
INJECTED_FAILURE = 5001
INTERNAL = 5000


class TaskFailure(Exception):
    """Raised by a task's work to end it `failed` with a code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Task:
    kind: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "pending"
    result: Any = None
    error_code: int | None = None
    error_message: str | None = None
    created_at: str = field(default_factory=_stamp)
    finished_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "taskId": self.id,
            "status": self.status,
            "result": self.result if self.status == "completed" else None,
            "errorMessage": self.error_message,
            "errorCode": self.error_code,
            "createdAt": self.created_at,
            "finishedAt": self.finished_at,
            "traceId": self.trace_id,
        }


class TaskStore:
    """Runs each task's work in the background and answers status look-ups."""

    def __init__(
        self,
        task_seconds: float,
        dice: FaultDice,
        on_end: Callable[[Task], None] | None = None,
        keeper: Keeper | None = None,
    ) -> None:
        self._seconds = task_seconds
        self._dice = dice
        self._on_end = on_end  # hears every task that ends (the wallet refunds failures)
        self._keeper = keeper  # keeps every task on disk, to outlive this process
        self._recipes: dict[str, Recipe] = {}
        self._tasks: dict[str, Task] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._ends: dict[str, asyncio.Event] = {}  # set when the task ends
        self.created: Counter[str] = Counter()

    def create(
        self, kind: str, work: Callable[[], Awaitable[Any]], recipe: Recipe | None = None
    ) -> Task:
        task = Task(kind)
        self._tasks[task.id] = task
        self.created[kind] += 1
        if recipe is not None:
            self._recipes[task.id] = recipe
        self._keep(task)
        self._start(task, work)
        return task

    def restore(self, work_for: Callable[[Recipe], Callable[[], Awaitable[Any]]]) -> int:
        """Take up the tasks kept by an earlier run: finished ones answer as they did, and
        one that was running is run again from its recipe. Returns how many were taken up."""
        if self._keeper is None:
            return 0
        records = self._keeper.tasks()
        for record in records:
            task = Task(record.kind, id=record.id, trace_id=record.trace_id)
            task.created_at, task.finished_at = record.created_at, record.finished_at
            task.status, task.result = record.status, record.result
            task.error_code, task.error_message = record.error_code, record.error_message
            self._tasks[task.id] = task
            if record.recipe is not None:
                self._recipes[task.id] = record.recipe
            if task.status not in ("pending", "processing"):
                continue
            if record.recipe is None:
                self._finish(task, "failed", code=INTERNAL, message="the emulator stopped")
            else:
                task.status = "pending"
                self._start(task, work_for(record.recipe))
        return len(records)

    def _start(self, task: Task, work: Callable[[], Awaitable[Any]]) -> None:
        self._ends.setdefault(task.id, asyncio.Event())
        runner = asyncio.get_running_loop().create_task(self._run(task, work))
        self._running.add(runner)
        runner.add_done_callback(self._running.discard)

    def _keep(self, task: Task) -> None:
        if self._keeper is None:
            return
        record = TaskRecord(
            id=task.id,
            kind=task.kind,
            trace_id=task.trace_id,
            status=task.status,
            result=task.result,
            error_code=task.error_code,
            error_message=task.error_message,
            created_at=task.created_at,
            finished_at=task.finished_at,
            recipe=self._recipes.get(task.id),
        )
        try:
            self._keeper.keep_task(record)
        except OSError as exc:
            log.warning("emulator: cannot keep task %s: %s", task.id, exc)

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def recipe(self, task_id: str) -> Recipe | None:
        return self._recipes.get(task_id)

    async def ended(self, task: Task) -> None:
        """Wait until `task` has ended (a synchronous call answers with its result)."""
        end = self._ends.get(task.id)
        if end is not None:
            await end.wait()

    async def close(self) -> None:
        for runner in list(self._running):
            runner.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _run(self, task: Task, work: Callable[[], Awaitable[Any]]) -> None:
        started = time.monotonic()
        await asyncio.sleep(self._seconds * 0.2)
        task.status = "processing"
        try:
            result = await work()
        except TaskFailure as exc:
            self._finish(task, "failed", code=exc.code, message=str(exc))
            return
        except Exception as exc:
            log.exception("emulator: task %s (%s) crashed", task.id, task.kind)
            self._finish(task, "failed", code=INTERNAL, message=f"emulator error: {exc}")
            return
        await asyncio.sleep(max(0.0, self._seconds - (time.monotonic() - started)))
        injected = self._dice.task_end()
        if injected == "failed":
            self._finish(task, "failed", code=INJECTED_FAILURE, message="injected failure")
        elif injected == "timeout":
            self._finish(task, "timeout", code=None, message="injected timeout")
        else:
            task.result = result
            self._finish(task, "completed")

    def _finish(
        self, task: Task, status: str, *, code: int | None = None, message: str | None = None
    ) -> None:
        task.status = status
        task.error_code = code
        task.error_message = message
        task.finished_at = _stamp()
        log.info("emulator: task %s (%s) %s", task.id, task.kind, status)
        self._keep(task)
        if (end := self._ends.get(task.id)) is not None:
            end.set()
        if self._on_end is not None:
            self._on_end(task)
