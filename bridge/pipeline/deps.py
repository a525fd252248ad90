"""What every job run is given: the shared dependencies, the progress it reports to, and
the exception that hands a job to a person."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bridge.api.client import ProducerClient
from bridge.api.usage import UsageClient
from bridge.audio.clips import UploadFormat
from bridge.errors import JobError
from bridge.jobs.offers import MOUNTSEA
from bridge.jobs.results import TaskStatus
from bridge.jobs.state import Event, Job
from bridge.journal import Journal
from bridge.pipeline.output import Splicing
from bridge.pipeline.spend import Budget
from bridge.staging import Stager


class Progress(Protocol):
    """What a job tells the person watching it."""

    def step(self, step: str, detail: str) -> None: ...
    def task(self, step: str, status: TaskStatus) -> None: ...
    def transfer(self, step: str, done: int, total: int | None) -> None: ...
    def waiting(self, step: str, seconds: float, reason: str) -> None: ...
    def finished(self, step: str, detail: str) -> None: ...


class NeedsAttention(Exception):
    """The job must stop and wait for a person; the event says why."""

    def __init__(self, event: Event) -> None:
        super().__init__(event.data.get("message", ""))
        self.event = event


@dataclass(frozen=True)
class Service:
    """One provider's client and its usage API (None: it has none)."""

    client: ProducerClient
    usage: UsageClient | None = None


# The service of a provider other than api.provider's, for a journaled job judged for it
# (ProviderUnavailableError when it cannot be reached from here).
OtherService = Callable[[str], Service]


@dataclass(frozen=True)
class Deps:
    """What every job run shares."""

    client: ProducerClient  # api.provider's: where new jobs go
    journal: Journal
    stager: Stager | None
    work_root: Path
    allowed_roots: Sequence[Path]
    results_folder: str
    notify: Callable[[Job], Awaitable[None]]
    upload_format: UploadFormat = "flac"  # a cut is sent as FLAC when that keeps it exact
    context: float | None = None  # seconds of the clip around a section; None: all that fits
    splicing: Splicing | None = field(default_factory=Splicing)  # None: no spliced.wav
    usage: UsageClient | None = None  # the provider's credit history: the ledger's source
    budget: Budget = field(default_factory=Budget)  # the spend guard, judged at submit
    other_service: OtherService | None = None  # None: only the client's provider is reached

    def for_provider(self, provider: str | None) -> Deps:
        """What a job judged for `provider` runs with: that provider's client and usage API
        (a job journaled before providers existed is mountsea's)."""
        name = provider or MOUNTSEA.name
        if name == self.client.provider.name:
            return self
        if self.other_service is None:
            raise JobError(
                f"this job was judged for provider {name}, and this runner speaks only to "
                f"{self.client.provider.name}"
            )
        service = self.other_service(name)
        return dataclasses.replace(self, client=service.client, usage=service.usage)
