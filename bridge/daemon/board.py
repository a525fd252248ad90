"""`status.json` in the drop folder: what the daemon is doing, for a DAW script to show.

A REAPER script cannot ask the daemon over a socket without a library, but it can read a
file. The board keeps the unfinished jobs and the latest finished ones, and rewrites the
file (atomically: a reader sees a whole old or a whole new file) at most twice a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge.files import replace_bytes_atomic
from bridge.jobs.state import UNFINISHED, Job, JobStatus
from bridge.watch.drop import STATUS_FILE

log = logging.getLogger(__name__)

STATUS_NAME: Final = STATUS_FILE
SCHEMA_VERSION: Final = 1
KEEP_FINISHED: Final = 50
INTERVAL: Final = 0.5


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class JobLine(_Document):
    """One job as the board shows it."""

    id: str = Field(description="The bridge's id for the job.")
    action: str = Field(description="The action the job runs.")
    status: JobStatus = Field(description="Where the job is in its life.")
    step: str = Field(
        description="What it is doing now (a step or a file it fetches); empty when nothing."
    )
    fraction: float = Field(ge=0, le=1, description="How much of the step is done, 0..1.")
    project: str = Field(description="The project folder results go into.")
    title: str = Field(description="The result's title; empty when it has none.")
    error: str = Field(description="Why it failed or stopped; empty otherwise.")
    updatedAt: str = Field(description="When this line last changed: ISO 8601, UTC.")


class DaemonLine(_Document):
    """The daemon that writes the file."""

    running: bool = Field(description="False once the daemon has stopped.")
    pid: int = Field(description="Its process id.")
    service: str = Field(description="The service it talks to.")


class StatusDocument(_Document):
    """What the daemon is doing, for DAW scripts: unfinished jobs and the latest finished
    ones, newest first."""

    model_config = ConfigDict(
        title="producer-bridge daemon status, version 1",
        json_schema_extra={"$id": "https://producer-bridge.invalid/schemas/status-1.json"},
    )

    schemaVersion: Literal[1] = Field(description="Version of this file's format.")
    updatedAt: str = Field(description="When the file was written: ISO 8601, UTC.")
    daemon: DaemonLine = Field(description="The daemon that writes the file.")
    jobs: list[JobLine] = Field(description="The jobs, newest first.")


class StatusBoard:
    def __init__(
        self,
        folder: Path,
        *,
        service: str = "",
        keep: int = KEEP_FINISHED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = folder / STATUS_NAME
        self.service = service
        self._keep = keep
        self._clock = clock
        self._jobs: dict[str, dict[str, Any]] = {}
        self._running = True
        self._dirty = True

    def update(self, job: Job, *, fraction: float | None = None) -> None:
        entry = self._jobs.pop(job.id, None) or {"fraction": 0.0}
        done = job.status == JobStatus.COMPLETED
        entry.update(
            id=job.id,
            action=job.request.action,
            status=job.status,
            step=job.step or "",
            fraction=1.0 if done else (entry["fraction"] if fraction is None else fraction),
            project=job.request.project,
            title=job.request.audio.title or "",
            error=job.error or "",
            updatedAt=self._now(),
        )
        self._jobs[job.id] = entry  # newest last; the file lists newest first
        self._trim()
        self._dirty = True

    def progress(self, job_id: str, step: str, fraction: float) -> None:
        entry = self._jobs.get(job_id)
        if entry is not None:
            entry.update(
                status=JobStatus.RUNNING, step=step, fraction=fraction, updatedAt=self._now()
            )
            self._dirty = True

    def document(self) -> dict[str, Any]:
        return {
            "schemaVersion": SCHEMA_VERSION,
            "updatedAt": self._now(),
            "daemon": {"running": self._running, "pid": os.getpid(), "service": self.service},
            "jobs": list(reversed(self._jobs.values())),
        }

    def flush(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        data = json.dumps(self.document(), ensure_ascii=False, indent=1).encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            replace_bytes_atomic(self.path, data)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.path, exc)

    async def run(self, interval: float = INTERVAL) -> None:
        """Flush every `interval` seconds until cancelled; then say the daemon stopped."""
        try:
            while True:
                self.flush()
                await asyncio.sleep(interval)
        finally:
            self._running = False
            self._dirty = True
            self.flush()

    def _trim(self) -> None:
        finished = [key for key, entry in self._jobs.items() if entry["status"] not in UNFINISHED]
        for key in finished[: max(0, len(finished) - self._keep)]:
            del self._jobs[key]

    def _now(self) -> str:
        stamp = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        return stamp.isoformat(timespec="seconds")
