"""A provider's wire contract: the core's request turned into the body the service reads.

The job core (`bridge.jobs`) speaks one vocabulary; a contract translates it for one
version of the service's API. Only the seed's contract (PRODUCER_API.md, "FUZZ" models,
seven actions) exists so far; later contracts implement the same protocol.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from bridge.jobs.request import AudioRequest

DOWNLOAD_FORMATS: Final = ("mp3", "m4a", "wav")


class Contract(Protocol):
    """What the client needs to know of the body the service's `audios` endpoint reads."""

    name: str

    def audio_body(self, request: AudioRequest) -> dict[str, Any]: ...


class SeedContract:
    """The contract of the seed documentation: every field under its own name."""

    name = "seed"

    def audio_body(self, request: AudioRequest) -> dict[str, Any]:
        # The core's document uses the seed contract's names, so the body is it unchanged.
        return request.to_json()


SEED: Final = SeedContract()
