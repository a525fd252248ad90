"""A provider's wire contract: the core's request turned into the body the service reads,
and the service's answers read back into the core's results.

The job core (`bridge.jobs`) speaks one vocabulary; a contract translates it for one
version of the service's API. Only the seed's contract (PRODUCER_API.md, "FUZZ" models,
seven actions) exists so far; later contracts implement the same protocol.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from bridge.api import results
from bridge.jobs.request import AudioRequest
from bridge.jobs.results import AudioClip, FileLink, TaskStatus, UploadResult

DOWNLOAD_FORMATS: Final = ("mp3", "m4a", "wav")


class Contract(Protocol):
    """What the client needs to know of the service's bodies and answers."""

    name: str

    def audio_body(self, request: AudioRequest) -> dict[str, Any]: ...

    def task_status(self, data: Any, task_id: str) -> TaskStatus: ...

    def clips(self, result: Any, task_id: str) -> list[AudioClip]: ...

    def upload(self, result: Any, task_id: str) -> UploadResult: ...

    def stems(self, result: Any, task_id: str) -> dict[str, str]: ...

    def file_link(self, result: Any, task_id: str) -> FileLink: ...


class SeedContract:
    """The contract of the seed documentation: every field under its own name."""

    name = "seed"

    def audio_body(self, request: AudioRequest) -> dict[str, Any]:
        # The core's document uses the seed contract's names, so the body is it unchanged.
        return request.to_json()

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
