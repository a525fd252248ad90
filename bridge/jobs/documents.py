"""The documents the journal keeps of a job: its snapshot and what it has learnt."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.errors import JournalError
from bridge.errors.describe import describe_errors
from bridge.jobs.model import RequestDocument
from bridge.jobs.status import JobStatus, Step


class _Document(BaseModel):
    # As strict as the job that was journaled; keys a later version adds are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class FactsDocument(_Document):
    """`Facts.to_json`'s document: every field may be missing (an older job knew less)."""

    work: dict[str, str] = {}
    staged_url: str | None = None
    span: dict[str, float] | None = None
    tasks: dict[str, str] = {}
    intents: dict[str, float] = {}
    audio_ids: dict[str, str] = {}
    links: dict[str, str] = {}
    clips: list[dict[str, Any]] = []
    folder: str | None = None
    written: dict[str, dict[str, Any]] = {}
    manifest: str | None = None
    failed_tasks: dict[str, str] = {}
    credits: dict[str, float] = {}


class JobDocument(_Document):
    """`Job.to_json`'s document: the snapshot the journal keeps beside each event."""

    id: str
    request: RequestDocument
    createdAt: float
    updatedAt: float
    # The journal holds the names as JSON strings.
    status: Annotated[JobStatus, Field(strict=False)]
    step: Annotated[Step, Field(strict=False)] | None
    error: str | None
    done: list[Annotated[Step, Field(strict=False)]]
    facts: FactsDocument


_D = TypeVar("_D", bound=BaseModel)


def read_document(document: type[_D], data: Any) -> _D:
    try:
        return document.model_validate(data)
    except ValidationError as exc:
        issues = "; ".join(str(issue) for issue in describe_errors(exc, document, {}))
        raise JournalError(f"a journaled job cannot be read: {issues}") from exc
