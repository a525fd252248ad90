"""Where a job is (`JobStatus`) and the steps it goes through (`Step`)."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job is in its life; the values are what the journal and the replies hold."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NEEDS_ATTENTION = "needs_attention"


class Step(StrEnum):
    """A job's steps, in the order they run (`plan` picks the ones a request needs)."""

    STAGE = "stage"
    UPLOAD = "upload"
    GENERATE = "generate"
    DOWNLOAD = "download"
    STEMS = "stems"
    WRITE = "write"
    NOTIFY = "notify"
