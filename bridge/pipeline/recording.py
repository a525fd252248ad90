"""A job's events, journaled in order without holding up the event loop.

The journal commits on its own thread (`journal.writer`); the job's new snapshot is known
at once, and a step waits for the commit before it goes on, so what it does next (a paid
request above all) always follows a durable record of what came before.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from bridge.errors import JournalError
from bridge.jobs.state import Event, EventKind, Job
from bridge.journal import Journal


class Recorder:
    """One job and the journal its events go to."""

    def __init__(self, job: Job, journal: Journal) -> None:
        self.job = job
        self.journal = journal
        self._noted: list[Future[None]] = []  # handed in by `note`, not yet confirmed

    async def record(self, kind: EventKind, *, key: str | None = None, **data: Any) -> Job:
        """Journal an event of the current step; it is committed when this returns."""
        return await self.commit(Event(kind, self.job.step, key, data))

    async def commit(self, event: Event) -> Job:
        """Journal `event`, committed on the journal's thread while the loop goes on; the
        events noted before it are committed too when this returns (JournalError if not)."""
        before = self.job
        self.job, written = self.journal.append(before, event)
        try:
            await self.journal.committed(written)
        except JournalError:
            self.job = before
            raise
        self._confirm_noted()
        return self.job

    async def facts(self, changes: dict[str, Any]) -> Job:
        return await self.record(EventKind.FACT, **changes)

    def facts_now(self, changes: dict[str, Any]) -> Job:
        """`facts` for a worker thread: it waits there until they are committed."""
        event = Event(EventKind.FACT, self.job.step, None, changes)
        self.job = self.journal.record(self.job, event)
        self._confirm_noted()
        return self.job

    def note(self, kind: EventKind, *, key: str | None = None, **data: Any) -> None:
        """Journal an event without waiting for its commit: the job knows it at once, and
        the next `commit` (committed after it, in order) confirms it."""
        self.job, written = self.journal.append(self.job, Event(kind, self.job.step, key, data))
        self._noted.append(written)

    def _confirm_noted(self) -> None:
        noted, self._noted = self._noted, [n for n in self._noted if not n.done()]
        for written in noted:
            if written.done():
                self.journal.wait(written)  # JournalError if it failed
