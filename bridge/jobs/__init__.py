"""The job core: requests, states, timeline placement. No I/O anywhere in this package."""

from bridge.jobs.model import (
    ClipPlacement,
    JobOptions,
    JobRequest,
    Selection,
    validate_request,
)
from bridge.jobs.placement import Placement, UploadSpan, result_placement, upload_span
from bridge.jobs.state import (
    Event,
    EventKind,
    Facts,
    Job,
    JobStatus,
    Step,
    apply,
    new_job,
    plan,
)

__all__ = [
    "ClipPlacement",
    "Event",
    "EventKind",
    "Facts",
    "Job",
    "JobOptions",
    "JobRequest",
    "JobStatus",
    "Placement",
    "Selection",
    "Step",
    "UploadSpan",
    "apply",
    "new_job",
    "plan",
    "result_placement",
    "upload_span",
    "validate_request",
]
