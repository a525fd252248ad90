"""Runs journaled jobs: a FIFO queue, a limit on jobs in flight, cancel, resume.

The HTTP side has its own limit: the shared httpx client's connection pool
(`api.max_connections`). A job stopped because this process is shutting down
stays `running` in the journal and is resumed by the next process to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from bridge.errors import BridgeError, Issue, JournalError, RequestError, explain
from bridge.jobs.model import STEMS_ONLY, JobRequest
from bridge.jobs.state import UNFINISHED, Event, EventKind, Job, JobStatus
from bridge.journal import Journal
from bridge.pipeline.admission import admit
from bridge.pipeline.deps import Deps, NeedsAttention, Progress
from bridge.pipeline.spend import check_budget
from bridge.pipeline.steps import JobRun

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 0.5
SHUTDOWN_GRACE_SECONDS = 30.0


class JobRunner:
    def __init__(
        self,
        deps: Deps,
        *,
        max_running: int,
        progress: Callable[[Job], Progress],
        cancel_poll: float = CANCEL_POLL_SECONDS,
        on_finished: Callable[[Job], None] | None = None,
        keep_finished: bool = True,
    ) -> None:
        self.deps = deps
        self._journal = deps.journal
        self._max_running = max_running
        self._progress = progress
        self._cancel_poll = cancel_poll
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._running: dict[str, asyncio.Task[Job]] = {}
        self._cancelling: set[str] = set()
        self._runs: dict[str, JobRun] = {}
        self._on_finished = on_finished
        self._keep_finished = keep_finished  # a daemon hands results on and keeps none
        self.finished: dict[str, Job] = {}

    # Filling the queue --------------------------------------------------------------

    def submit(self, request: JobRequest) -> Job:
        """Journal a new job, claimed by this process, and queue it.

        What can be judged before anything is paid for is judged here: what the service
        is known to refuse, the spend guard, then (`admission`) the clip, the project's
        place, whether its results can be written."""
        learned = self._learned(request)
        if learned:
            raise RequestError(learned)
        check_budget(self._journal, self.deps.budget)
        deps = self.deps
        admit(request, deps.allowed_roots, deps.results_folder, deps.context)
        job = self._journal.create(request, owner=True)
        self._queue.put_nowait(job.id)
        return job

    def _learned(self, request: JobRequest) -> list[Issue]:
        """What the service is known to refuse (`api.learned`), before anything is staged."""
        client = self.deps.client
        if client.learned is None or request.action == STEMS_ONLY:
            return []
        provider = request.provider or client.provider.name
        model = request.audio.model
        return client.learned.issues(provider, client.base_url, request.action, model)

    def resume(self) -> list[Job]:
        """Queue every unfinished job no live process owns, oldest first."""
        resumed = []
        for job in self._journal.unfinished():
            if self._journal.claim(job.id):
                log.info("resuming job %s (%s, %s)", job.short_id, job.status, job.step)
                self._queue.put_nowait(job.id)
                resumed.append(job)
        remove_completed_work(self._journal, self.deps.work_root)
        return resumed

    def enqueue(self, job: Job) -> None:
        """Queue a job this process has claimed (after `jobs retry`)."""
        self._queue.put_nowait(job.id)

    # Running ------------------------------------------------------------------------

    async def run_until_idle(self) -> dict[str, Job]:
        """Run queued jobs, at most `max_running` at once, until the queue is empty."""
        workers = [asyncio.create_task(self._work()) for _ in range(self._max_running)]
        watcher = asyncio.create_task(self._watch_cancels())
        try:
            await self._queue.join()
        finally:
            for task in (*workers, watcher):
                task.cancel()
            await asyncio.gather(*workers, watcher, return_exceptions=True)
        return self.finished

    @contextlib.asynccontextmanager
    async def serving(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> AsyncIterator[None]:
        """Run queued jobs for as long as the block lasts (the daemon's mode).

        On the way out, a job in the middle of a create POST is given `grace` seconds to
        journal its answer, so a stop never leaves a paid request unaccounted for; every
        other job stops at once and stays `running` in the journal, to be resumed."""
        workers = [asyncio.create_task(self._work()) for _ in range(self._max_running)]
        watcher = asyncio.create_task(self._watch_cancels())
        try:
            yield
        finally:
            await self._settle(grace)
            for task in (*workers, watcher):
                task.cancel()
            await asyncio.gather(*workers, watcher, return_exceptions=True)

    async def _settle(self, grace: float) -> None:
        sending = [run.settled.wait() for run in self._runs.values() if not run.settled.is_set()]
        if not sending:
            return
        log.info("waiting up to %.0f s for %d create answer(s)", grace, len(sending))
        _, pending = await asyncio.wait(
            [asyncio.ensure_future(wait) for wait in sending], timeout=grace
        )
        for future in pending:
            future.cancel()

    def current(self, job_id: str) -> Job | None:
        """The job as this process runs it (ahead of the journal by the events whose
        commit is on its way), or None when it is not running here."""
        run = self._runs.get(job_id)
        return None if run is None else run.job

    @property
    def running(self) -> list[str]:
        return list(self._running)

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def cancel(self, job_id: str) -> bool:
        """Stop a job this process is running; True if it was running here."""
        task = self._running.get(job_id)
        if task is None:
            return False
        self._cancelling.add(job_id)
        task.cancel()
        return True

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            try:
                await self._run_one(job_id)
            except JournalError:
                log.exception("job %s: the journal failed; the job resumes at next start", job_id)
            except Exception as exc:
                # A worker never dies: the job it held fails, saying why, and the queue goes on.
                log.exception("job %s: unexpected error", job_id[:8])
                self._fail(job_id, exc)
            finally:
                self._queue.task_done()

    def _fail(self, job_id: str, exc: Exception) -> None:
        """Journal a job as failed after an error outside its steps (best effort: the
        journal may be what failed)."""
        try:
            job = self._journal.get(job_id)
            if job.status in UNFINISHED:
                job = self._journal.record(
                    job, Event(EventKind.FAILED, job.step, data={"message": explain(exc)})
                )
            self._journal.release(job_id)
        except Exception:
            log.exception("job %s: its failure could not be journaled", job_id[:8])
            return
        self._finished(job)

    async def _watch_cancels(self) -> None:
        """Cancels asked for by another process (`producer-bridge jobs cancel`)."""
        while True:
            await asyncio.sleep(self._cancel_poll)
            for job_id in self._journal.cancel_requested(list(self._running)):
                if job_id not in self._cancelling:
                    log.info("job %s: cancel requested", job_id[:8])
                    self.cancel(job_id)

    async def _run_one(self, job_id: str) -> None:
        job = self._journal.get(job_id)
        if job.status not in UNFINISHED:
            return  # cancelled while it waited
        run = JobRun(job, self.deps, self._progress(job))
        task = asyncio.create_task(run.run())
        self._running[job_id] = task
        self._runs[job_id] = run
        try:
            job = await self._outcome(run, task)
        finally:
            self._running.pop(job_id, None)
            self._runs.pop(job_id, None)
            self._cancelling.discard(job_id)
        released = self._journal.releasing(job_id)  # committed while the work folder goes
        if job.status == JobStatus.COMPLETED:
            await asyncio.to_thread(shutil.rmtree, run.work, ignore_errors=True)
        await self._journal.committed(released)
        self._finished(job)

    def _finished(self, job: Job) -> None:
        if self._keep_finished:
            self.finished[job.id] = job
        if self._on_finished is not None:
            try:
                self._on_finished(job)
            except Exception:
                log.exception("job %s: a finish listener failed", job.short_id)

    async def _outcome(self, run: JobRun, task: asyncio.Task[Job]) -> Job:
        try:
            return await task
        except asyncio.CancelledError:
            if run.job.id not in self._cancelling:
                raise  # this process is stopping: the job stays running, to be resumed
            return await run.record(EventKind.CANCELLED, message="cancelled by request")
        # INFO, not WARNING: the ending is the job's own event, which the daemon's terminal,
        # `run` and `jobs` already show once; -v adds these lines to the log.
        except NeedsAttention as exc:
            log.info("job %s needs attention: %s", run.job.short_id, exc)
            return await run.commit(exc.event)
        except BridgeError as exc:
            log.info("job %s failed at %s: %s", run.job.short_id, run.job.step, exc.message)
            return await run.record(EventKind.FAILED, message=exc.message)
        except Exception as exc:
            log.exception("job %s: unexpected error", run.job.short_id)
            return await run.record(
                EventKind.FAILED, message=f"internal error: {type(exc).__name__}: {exc}"
            )


def remove_completed_work(journal: Journal, root: Path) -> None:
    """Remove the work folders of completed jobs: a stop between a job's completion and
    the removal of its folder leaves one, and nothing else would remove it."""
    try:
        names = [entry.name for entry in os.scandir(root) if entry.is_dir()]
    except OSError:
        return
    for name in names:
        try:
            completed = journal.get(name).status == JobStatus.COMPLETED
        except BridgeError:
            continue  # not a job of this journal: not ours to remove
        if completed:
            log.info("removing the work folder left by completed job %s", name[:8])
            shutil.rmtree(root / name, ignore_errors=True)
