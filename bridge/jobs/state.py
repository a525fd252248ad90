"""The job state machine: events in, a new job out. No I/O.

    queued --started--> running(step) --done(last step)--> completed
       ^                   |  |  \\--failed--> failed
       |                   |  \\--attention--> needs_attention
       |                   \\--cancelled--> cancelled
       \\------------- retried (from failed, needs_attention, cancelled)

Every event is journaled together with the job it produced, in one commit, so
the journal's snapshot and its history never disagree. What a job has learnt
(task ids, audio ids, links, files) lives in `Facts`; a step that finds its
fact already known skips the work, which is what makes resuming safe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from bridge.jobs.documents import FactsDocument, JobDocument, read_document
from bridge.jobs.model import STEMS_ONLY, JobRequest

# Re-exported: the rest of the bridge imports the job's vocabulary from here.
from bridge.jobs.status import JobStatus as JobStatus
from bridge.jobs.status import Step as Step


class EventKind(StrEnum):
    """What can happen to a job; each kind has one reducer in `_REDUCERS`."""

    QUEUED = "queued"
    STARTED = "started"
    INTENT = "intent"
    SUBMITTED = "submitted"
    STATUS = "status"  # a task's status changed: history only
    FACT = "fact"
    FORGET = "forget"
    DONE = "done"
    FAILED = "failed"
    ATTENTION = "attention"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    RETRIED = "retried"


UNFINISHED: Final = (JobStatus.QUEUED, JobStatus.RUNNING)
RETRYABLE: Final = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.NEEDS_ATTENTION)
FINISHED: Final = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)

# Creates that may be billed. When one was sent and its answer never recorded,
# only a person may send it again; the others are repeated freely.
BILLED: Final = (Step.GENERATE, Step.STEMS)

_Reducer = Callable[["Job", "Event", float], "Job"]

# Fact fields that events merge into (dicts) or set (the rest).
_MERGED: Final = ("work", "tasks", "audio_ids", "links", "written", "failed_tasks", "credits")
_SET: Final = ("staged_url", "span", "clips", "folder", "manifest")


@dataclass(frozen=True)
class Facts:
    """What the job has learnt so far. Keys: "upload", "generate", "result:1",
    "stems:1", "stems:1:vocals"... (one per create and per file)."""

    work: dict[str, str] = field(default_factory=dict)  # key -> file in the work folder
    staged_url: str | None = None
    span: dict[str, float] | None = None  # uploaded part of the source: {start, duration}
    tasks: dict[str, str] = field(default_factory=dict)  # create key -> task id
    intents: dict[str, float] = field(default_factory=dict)  # create key -> when it was sent
    audio_ids: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # file key -> URL to fetch it from
    clips: tuple[dict[str, Any], ...] = ()  # {audioId, title, duration} per result
    folder: str | None = None  # results folder, relative to the project
    written: dict[str, dict[str, Any]] = field(default_factory=dict)  # project path -> shape
    manifest: str | None = None
    failed_tasks: dict[str, str] = field(default_factory=dict)
    credits: dict[str, float] = field(default_factory=dict)  # billed task id -> its cost

    def spent(self) -> float | None:
        """Credits the job cost, from the ledger; None when no task's cost is known."""
        return round(sum(self.credits.values()), 6) if self.credits else None

    def to_json(self) -> dict[str, Any]:
        return self.document().model_dump(mode="json")

    def document(self) -> FactsDocument:
        return FactsDocument.model_validate({**vars(self), "clips": list(self.clips)})

    @classmethod
    def from_json(cls, data: Any) -> Facts:
        """Read back what `to_json` wrote; JournalError naming each field it cannot read."""
        return cls.from_document(read_document(FactsDocument, data))

    @classmethod
    def from_document(cls, doc: FactsDocument) -> Facts:
        values = doc.model_dump()
        values["clips"] = tuple(values["clips"])
        return cls(**values)


@dataclass(frozen=True)
class Event:
    """One thing that happened to a job."""

    kind: EventKind
    step: Step | None = None
    key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    id: str
    request: JobRequest
    created_at: float
    updated_at: float
    status: JobStatus = JobStatus.QUEUED
    step: Step | None = None
    error: str | None = None
    done: tuple[Step, ...] = ()
    facts: Facts = field(default_factory=Facts)

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def steps(self) -> tuple[Step, ...]:
        return plan(self.request)

    def remaining(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step not in self.done)

    def to_json(self) -> dict[str, Any]:
        """The snapshot the journal keeps (`from_json` reads it back)."""
        return self.document().model_dump(mode="json")

    def to_text(self) -> str:
        """`to_json` as the JSON text the journal stores."""
        return self.document().model_dump_json()

    def document(self) -> JobDocument:
        return JobDocument(
            id=self.id,
            request=self.request.document(),
            createdAt=self.created_at,
            updatedAt=self.updated_at,
            status=self.status,
            step=self.step,
            error=self.error,
            done=list(self.done),
            facts=self.facts.document(),
        )

    @classmethod
    def from_json(cls, data: Any) -> Job:
        """Read back what `to_json` wrote; JournalError naming each field it cannot read."""
        doc = read_document(JobDocument, data)
        return cls(
            id=doc.id,
            request=JobRequest.from_document(doc.request),
            created_at=doc.createdAt,
            updated_at=doc.updatedAt,
            status=doc.status,
            step=doc.step,
            error=doc.error,
            done=tuple(doc.done),
            facts=Facts.from_document(doc.facts),
        )


def plan(request: JobRequest) -> tuple[Step, ...]:
    """The steps this request goes through, in order."""
    skip = set()
    if not request.needs_upload:
        skip |= {Step.STAGE, Step.UPLOAD}
    if not request.options.stems:
        skip.add(Step.STEMS)
    if request.action == STEMS_ONLY:
        skip.add(Step.DOWNLOAD)  # the source is the result: only its stems are fetched
    return tuple(step for step in Step if step not in skip)


def new_job(job_id: str, request: JobRequest, at: float) -> Job:
    return Job(id=job_id, request=request, created_at=at, updated_at=at)


def apply(job: Job, event: Event, at: float) -> Job:
    """The job after `event`. Raises ValueError for an event the job cannot take."""
    reducer = _REDUCERS.get(event.kind)
    if reducer is None:
        raise ValueError(f"unknown event kind {event.kind!r}")
    return dataclasses.replace(reducer(job, event, at), updated_at=at)


def is_billed(key: str | None) -> bool:
    """Whether the create of a task key ("generate", "stems:1", "result:1") may be billed."""
    return key is not None and key.split(":", 1)[0] in BILLED


def lost_billed_create(job: Job) -> str | None:
    """The billed create that was sent but whose task id never came back, if any."""
    for key in job.facts.intents:
        if is_billed(key) and key not in job.facts.tasks:
            return key
    return None


def attention_for_lost_create(job: Job, key: str, cause: Exception | None = None) -> Event:
    """Why a job stops instead of sending a create again."""
    what = (
        f"the {key} request could not be confirmed: {cause}"
        if cause is not None
        else f"the bridge stopped while the {key} request was being sent, before the "
        "service's answer was recorded"
    )
    return Event(
        EventKind.ATTENTION,
        step=job.step,
        key=key,
        data={
            "message": (
                f"{what}. The service may have started (and billed) it, "
                "so it was not sent again. Check your account's task list; to send it again "
                f"anyway (this may pay twice): producer-bridge jobs retry {job.short_id} --force"
            )
        },
    )


def _started(job: Job, event: Event, at: float) -> Job:
    if job.status not in UNFINISHED:
        raise ValueError(f"job {job.short_id} is {job.status}; it cannot start a step")
    return dataclasses.replace(job, status=JobStatus.RUNNING, step=event.step, error=None)


def _intent(job: Job, event: Event, at: float) -> Job:
    assert event.key is not None
    intents = {**job.facts.intents, event.key: at}
    return _with_facts(job, intents=intents)


def _submitted(job: Job, event: Event, at: float) -> Job:
    assert event.key is not None
    intents = {k: v for k, v in job.facts.intents.items() if k != event.key}
    tasks = {**job.facts.tasks, event.key: event.data["taskId"]}
    return _with_facts(job, intents=intents, tasks=tasks)


def _fact(job: Job, event: Event, at: float) -> Job:
    changes: dict[str, Any] = {}
    for name, value in event.data.items():
        if name in _MERGED:
            changes[name] = {**getattr(job.facts, name), **value}
        elif name in _SET:
            changes[name] = tuple(value) if name == "clips" else value
        else:
            raise ValueError(f"unknown fact {name!r}")
    return _with_facts(job, **changes)


def _forget(job: Job, event: Event, at: float) -> Job:
    """Drop what a key knew: an expired link's task, or a task that ended failed."""
    key = event.key
    assert key is not None
    facts = job.facts
    failed = dict(facts.failed_tasks)
    if event.data.get("failed") and key in facts.tasks:
        failed[key] = facts.tasks[key]
    return _with_facts(
        job,
        tasks={k: v for k, v in facts.tasks.items() if k != key},
        intents={k: v for k, v in facts.intents.items() if k != key},
        links={k: v for k, v in facts.links.items() if k != key and not k.startswith(key + ":")},
        failed_tasks=failed,
    )


def _done(job: Job, event: Event, at: float) -> Job:
    assert event.step is not None
    done = job.done if event.step in job.done else (*job.done, event.step)
    return dataclasses.replace(job, done=done)


def _status(job: Job, event: Event, at: float) -> Job:
    return job  # a task's status change: history only


def _ended(status: JobStatus) -> _Reducer:
    def reduce(job: Job, event: Event, at: float) -> Job:
        message = event.data.get("message")
        return dataclasses.replace(job, status=status, error=message)

    return reduce


def _completed(job: Job, event: Event, at: float) -> Job:
    return dataclasses.replace(job, status=JobStatus.COMPLETED, step=None, error=None)


def _retried(job: Job, event: Event, at: float) -> Job:
    if job.status not in RETRYABLE:
        raise ValueError(f"job {job.short_id} is {job.status}; only {', '.join(RETRYABLE)} retry")
    job = dataclasses.replace(job, status=JobStatus.QUEUED, error=None)
    if event.data.get("force"):
        job = _with_facts(job, intents={})
    return job


def _queued(job: Job, event: Event, at: float) -> Job:
    return job


def _with_facts(job: Job, **changes: Any) -> Job:
    return dataclasses.replace(job, facts=dataclasses.replace(job.facts, **changes))


_REDUCERS: Final[dict[EventKind, _Reducer]] = {
    EventKind.QUEUED: _queued,
    EventKind.STARTED: _started,
    EventKind.INTENT: _intent,
    EventKind.SUBMITTED: _submitted,
    EventKind.STATUS: _status,
    EventKind.FACT: _fact,
    EventKind.FORGET: _forget,
    EventKind.DONE: _done,
    EventKind.FAILED: _ended(JobStatus.FAILED),
    EventKind.ATTENTION: _ended(JobStatus.NEEDS_ATTENTION),
    EventKind.CANCELLED: _ended(JobStatus.CANCELLED),
    EventKind.COMPLETED: _completed,
    EventKind.RETRIED: _retried,
}
