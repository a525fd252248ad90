"""A job's events, journaled in order without holding up the event loop.

The journal commits on its own thread (`journal.writer`), in the order events are handed
in, and the job's new snapshot is known at once. A step hands most events in and goes
on (`note`, `facts`); it waits for the commit (`record`, `commit`) only where what it
does next could not be redone from an earlier checkpoint: the rule is in `journal`'s
docstring. A commit also confirms every event noted before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
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

    async def keep(
        self, kind: EventKind, *, durable: bool, key: str | None = None, **data: Any
    ) -> Job:
        """`record` the event when `durable` (what comes next must follow its commit),
        otherwise `note` it."""
        if durable:
            return await self.record(kind, key=key, **data)
        return self.note(kind, key=key, **data)

    async def settle(self) -> None:
        """Wait until every event noted so far is committed (JournalError if one was not)."""
        if self._noted:
            await self.journal.committed(self._noted[-1])
            self._confirm_noted()

    def when_committed(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the running loop once every event noted so far is committed
        (or its commit failed, which the next `commit` or `settle` raises)."""
        if not self._noted:
            callback()
            return
        loop = asyncio.get_running_loop()

        def on_loop(_: Future[None]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is left to tell
                loop.call_soon_threadsafe(callback)

        self._noted[-1].add_done_callback(on_loop)

    def facts(self, changes: dict[str, Any]) -> Job:
        """Note what the current step learnt (from the loop or a worker thread)."""
        return self.hand_in(Event(EventKind.FACT, self.job.step, None, changes))

    def facts_now(self, changes: dict[str, Any]) -> Job:
        """`facts` for a worker thread, waiting there until they are committed."""
        event = Event(EventKind.FACT, self.job.step, None, changes)
        self.job = self.journal.record(self.job, event)
        self._confirm_noted()
        return self.job

    def note(self, kind: EventKind, *, key: str | None = None, **data: Any) -> Job:
        """Journal an event of the current step without waiting for its commit."""
        return self.hand_in(Event(kind, self.job.step, key, data))

    def hand_in(self, event: Event) -> Job:
        """Journal `event` without waiting for its commit: the job knows it at once, and
        the next `commit` (committed after it, in order) confirms it."""
        self.job, written = self.journal.append(self.job, event)
        self._noted.append(written)
        return self.job

    def _confirm_noted(self) -> None:
        noted, self._noted = self._noted, [n for n in self._noted if not n.done()]
        for written in noted:
            if written.done():
                self.journal.wait(written)  # JournalError if it failed
