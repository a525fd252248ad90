"""What the daemon tells the DAW: answers, job progress, done and failed, REAPER's import.

Answers to a message go back to its sender and to `osc.reply_to` when that is set (a
controller that listens on another port than it sends from). Job events go to whoever sent
the job (when it came over OSC) and to `osc.reply_to`. When a job
completes, REAPER's OSC control surface can be told to run the import script.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bridge.daemon.addresses import Osc
from bridge.daemon.board import StatusBoard
from bridge.daemon.live_script import Placement
from bridge.jobs.results import TaskStatus
from bridge.jobs.state import Job, JobStatus, plan

log = logging.getLogger(__name__)

Address = tuple[str, int]
Send = Callable[[Address, str, tuple[Any, ...]], None]

# Share of a job's time each step takes, roughly; only the order and the sum matter.
_WEIGHTS: Final = {
    "stage": 0.04,
    "upload": 0.08,
    "generate": 0.6,
    "download": 0.14,
    "stems": 0.1,
    "write": 0.03,
    "notify": 0.01,
}
PROGRESS_INTERVAL: Final = 0.25  # seconds between two progress messages of one job


@dataclass(frozen=True)
class Origin:
    """Where a request came from, and where to answer it (None: nowhere but reply_to)."""

    kind: str  # "osc", "midi", "drop", "live"
    reply: Address | None = None
    label: str = ""


def reaper_action(command_id: str) -> tuple[str, tuple[str, ...]]:
    """The OSC message that runs `command_id` through REAPER's default pattern file
    (`ACTION i/action s/action/str t/action/@ ...`): a number as `/action/40001`, a named
    command (a script's "_RS...") as `/action/str` with the name as its string argument."""
    if command_id.isdigit():
        return f"/action/{command_id}", ()
    return "/action/str", (command_id,)


class Feedback:
    def __init__(
        self,
        send: Send,
        *,
        reply_to: Address | None = None,
        reaper: Address | None = None,
        import_action: str = "",
        clock: Callable[[], float] = time.monotonic,
        echo: Callable[[str], None] | None = None,
        board: StatusBoard | None = None,
    ) -> None:
        self._send = send
        self._reply_to = reply_to
        self._reaper = reaper
        self._import_action = import_action
        self._clock = clock
        self._followers: dict[str, Address] = {}
        self._echo = echo or (lambda line: None)  # one line per event, for the terminal
        self.board = board  # status.json, for DAW scripts

    # Answers to one message -------------------------------------------------------------

    def answer(self, origin: Origin, address: Osc, *args: Any) -> None:
        for target in {origin.reply, self._reply_to} - {None}:
            assert target is not None
            self._send(target, address, args)

    def rejected(self, origin: Origin, what: str, reason: str) -> None:
        log.info("%s %s rejected: %s", origin.kind, what or "packet", reason)
        self._echo(f"rejected ({origin.kind} {origin.label}) {what}: {reason}")
        self.answer(origin, Osc.REJECTED, what, reason)

    def accepted(self, origin: Origin, job: Job) -> None:
        log.info("job %s accepted from %s %s", job.short_id, origin.kind, origin.label)
        self._echo(
            f"job {job.short_id} accepted: {job.request.action} ({origin.kind} {origin.label})"
        )
        if origin.reply is not None:
            self._followers[job.id] = origin.reply
        if self.board is not None:
            self.board.update(job)
        self._to_job_listeners(job.id, Osc.ACCEPTED, job.id, job.request.action)

    # Job events -------------------------------------------------------------------------

    def progress(self, job_id: str, step: str, fraction: float) -> None:
        if self.board is not None:
            self.board.progress(job_id, step, fraction)
        self._to_job_listeners(job_id, Osc.PROGRESS, job_id, step, round(fraction, 4))

    def waiting(self, job_id: str, step: str, seconds: float, reason: str) -> None:
        self._echo(f"job {job_id[:8]} waits {seconds:.1f} s: {reason}")
        self._to_job_listeners(job_id, Osc.WAITING, job_id, step, round(seconds, 3), reason)

    def notify_done(self, job: Job, live: Placement | None = None) -> None:
        """The notify step: the DAW hears of the files, and REAPER may import them. A job
        Ableton Live started also says where its results went in Live (`live`)."""
        manifest = str(Path(job.request.project) / job.facts.manifest) if job.facts.manifest else ""
        placed = (live.placed, live.message) if live is not None else ()
        credits = job.facts.spent()  # None, sent as "": the provider cannot tell
        self._to_job_listeners(job.id, Osc.DONE, job.id, manifest, credits, *placed)
        self._echo(f"job {job.short_id} done: {manifest}")
        if live is not None:
            self._echo(f"job {job.short_id} in Live: {live.placed} ({live.message})")
        if self._reaper is not None and self._import_action:
            address, args = reaper_action(self._import_action)
            self._send(self._reaper, address, args)
            log.info("job %s: asked REAPER to run %s", job.short_id, self._import_action)

    def finished(self, job: Job) -> None:
        """A job ended (any status); completed jobs were announced by `notify_done`."""
        if self.board is not None:
            self.board.update(job)
        if job.status != JobStatus.COMPLETED:
            message = job.error or job.status
            self._to_job_listeners(job.id, Osc.FAILED, job.id, job.status, message)
            self._echo(f"job {job.short_id} {job.status}: {message}")
        self._followers.pop(job.id, None)

    def _to_job_listeners(self, job_id: str, address: Osc, *args: Any) -> None:
        targets = {self._followers.get(job_id), self._reply_to} - {None}
        for target in targets:
            assert target is not None
            self._send(target, address, args)

    def progress_for(self, job: Job) -> JobFeed:
        return JobFeed(job, self, self._clock)


class JobFeed:
    """One job's progress (the pipeline's Progress protocol) as a fraction from 0 to 1."""

    def __init__(self, job: Job, feedback: Feedback, clock: Callable[[], float]) -> None:
        self._feedback = feedback
        self._id = job.id
        self._clock = clock
        steps = plan(job.request)
        total = sum(_WEIGHTS[s] for s in steps)
        self._starts: dict[str, float] = {}
        self._widths: dict[str, float] = {}
        done = 0.0
        for step in steps:
            self._starts[step] = done / total
            self._widths[step] = _WEIGHTS[step] / total
            done += _WEIGHTS[step]
        self._step = steps[0] if steps else "notify"
        self._fraction = 0.0
        self._last_sent = -PROGRESS_INTERVAL

    def step(self, step: str, detail: str) -> None:
        if step in self._starts:
            self._step = step
            self._emit(self._starts[step], force=True)
        elif step.startswith("fetch ") and self._step not in ("download", "stems"):
            self._step = "download"

    def task(self, step: str, status: TaskStatus) -> None:
        if status.status not in ("pending", "queued") and self._step == step:
            # The service says nothing of how far a task is: call it half way.
            self._emit(self._starts[step] + self._widths[step] / 2)

    def transfer(self, step: str, done: int, total: int | None) -> None:
        if total and self._step in self._starts:
            share = min(done / total, 1.0)
            self._emit(self._starts[self._step] + self._widths[self._step] * share)

    def waiting(self, step: str, seconds: float, reason: str) -> None:
        self._feedback.waiting(self._id, step, seconds, reason)

    def finished(self, step: str, detail: str) -> None:
        if step in self._starts:
            self._emit(self._starts[step] + self._widths[step], force=True)

    def _emit(self, fraction: float, *, force: bool = False) -> None:
        fraction = max(self._fraction, min(fraction, 1.0))
        now = self._clock()
        if not force and now - self._last_sent < PROGRESS_INTERVAL:
            return
        self._fraction = fraction
        self._last_sent = now
        self._feedback.progress(self._id, self._step, fraction)
