"""What the service answers, in the core's terms: a task's status, the clips a generation
made, an upload's audio, a file's link. `bridge.api` reads them off the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

TERMINAL: Final = frozenset({"completed", "failed", "cancelled", "timeout"})


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    status: str
    result: Any = None
    error_message: str | None = None
    error_code: int | str | None = None
    trace_id: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class AudioClip:
    audio_id: str
    audio_url: str | None
    duration: float | None
    title: str | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadResult:
    audio_id: str
    url: str | None
    lyrics: str | None
    is_flagged: bool | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileLink:
    """A temporary URL from `download` or `download-video`."""

    url: str
    format: str | None
    extra: dict[str, Any] = field(default_factory=dict)
