"""A provider's wire contract: the core's request turned into the body the service reads,
and the service's answers read back into the core's results.

The job core (`bridge.jobs`) speaks one vocabulary; a contract translates it for one
version of the service's API. `SEED` is the seed's contract (PRODUCER_API.md, "FUZZ" models,
seven actions, camelCase bodies); a provider (`api.providers`) picks a contract per model.
A contract also says how a created task's id is read and how a task's status is asked
(lookups tried in order until one is not refused with 404/405), so that a reseller with
another envelope or another status request fits the same client. Which endpoint and body
upload, stems and download take is the contract's too, and a create whose answer already
is the finished task (a synchronous call) says so through `finished`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from bridge.api import results
from bridge.jobs.offers import FUZZ, ContractShape
from bridge.jobs.request import AudioRequest
from bridge.jobs.results import AudioClip, FileLink, TaskStatus, UploadResult

DOWNLOAD_FORMATS: Final = ("mp3", "m4a", "wav")


@dataclass(frozen=True)
class Lookup:
    """One way of asking for a task's status: GET with a query, or POST with a body."""

    method: Literal["GET", "POST"]
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


class Contract(Protocol):
    """What the client needs to know of the service's bodies and answers."""

    name: str
    shape: ContractShape

    def task_id(self, answer: Any) -> str | None: ...

    def lookups(self, task_id: str) -> tuple[Lookup, ...]: ...

    def audio_body(self, request: AudioRequest, *, uploaded: bool = False) -> dict[str, Any]: ...

    def upload_request(self, audio_url: str) -> tuple[str, dict[str, Any]]: ...

    def stems_request(self, audio_id: str) -> tuple[str, dict[str, Any]]: ...

    def download_request(self, audio_id: str, fmt: str) -> tuple[str, dict[str, Any]]: ...

    def finished(self, answer: Any, task_id: str) -> TaskStatus | None: ...

    def task_status(self, data: Any, task_id: str) -> TaskStatus: ...

    def clips(self, result: Any, task_id: str) -> list[AudioClip]: ...

    def upload(self, result: Any, task_id: str) -> UploadResult: ...

    def stems(self, result: Any, task_id: str) -> dict[str, str]: ...

    def file_link(self, result: Any, task_id: str) -> FileLink: ...


class SeedContract:
    """The contract of the seed documentation: every field under its own name."""

    name = FUZZ.name
    shape = FUZZ

    def task_id(self, answer: Any) -> str | None:
        found = answer.get("taskId") if isinstance(answer, dict) else None
        return found if isinstance(found, str) and found else None

    def lookups(self, task_id: str) -> tuple[Lookup, ...]:
        # GET on the reference page, POST in its overview table (PRODUCER_API.md).
        return (Lookup("GET", params={"taskId": task_id}), Lookup("POST", body={"taskId": task_id}))

    def audio_body(self, request: AudioRequest, *, uploaded: bool = False) -> dict[str, Any]:
        # The core's document uses the seed contract's names, so the body is it unchanged.
        return request.to_json()

    def upload_request(self, audio_url: str) -> tuple[str, dict[str, Any]]:
        return "upload", {"audioUrl": audio_url}

    def stems_request(self, audio_id: str) -> tuple[str, dict[str, Any]]:
        return "stems", {"audioId": audio_id}

    def download_request(self, audio_id: str, fmt: str) -> tuple[str, dict[str, Any]]:
        return "download", {"audioId": audio_id, "format": fmt}

    def finished(self, answer: Any, task_id: str) -> TaskStatus | None:
        return None  # every POST answers a task id alone

    def task_status(self, data: Any, task_id: str) -> TaskStatus:
        return results.parse_status(data, task_id)

    def clips(self, result: Any, task_id: str) -> list[AudioClip]:
        return results.parse_clips(result, task_id)

    def upload(self, result: Any, task_id: str) -> UploadResult:
        return results.parse_upload(result, task_id)

    def stems(self, result: Any, task_id: str) -> dict[str, str]:
        return results.parse_stems(result, task_id)

    def file_link(self, result: Any, task_id: str) -> FileLink:
        return results.parse_file_link(result, task_id, ("url", "audioUrl"))


SEED: Final = SeedContract()
