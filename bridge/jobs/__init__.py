"""The job core: requests, states, timeline placement. No I/O anywhere in this package.

The names below are loaded on first use, so that importing one light module of the core
(`bridge.jobs.names`) does not load the models and pydantic."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.jobs.judging import validate_request
    from bridge.jobs.model import ClipPlacement, JobOptions, JobRequest, Selection
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

_WHERE = {
    "bridge.jobs.judging": ("validate_request",),
    "bridge.jobs.model": ("ClipPlacement", "JobOptions", "JobRequest", "Selection"),
    "bridge.jobs.placement": ("Placement", "UploadSpan", "result_placement", "upload_span"),
    "bridge.jobs.state": (
        "Event",
        "EventKind",
        "Facts",
        "Job",
        "JobStatus",
        "Step",
        "apply",
        "new_job",
        "plan",
    ),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'bridge.jobs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
