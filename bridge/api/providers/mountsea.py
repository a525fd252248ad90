"""Mountsea, the reseller of PRODUCER_API.md: two contracts on one URL, chosen by the model.

FUZZ models speak the seed's contract (seven actions, `sounds` with strengths and time
ranges). "Lyria 3 Pro" speaks the reseller's OpenAPI 2.0.0: `create_music` alone, one
`soundPrompt` text instead of `sounds`, and `lyrics`, `title`, `seed`, `makeInstrumental`.
Upload, stems, download and tasks are the same in both, so every answer is read alike.
"""

from __future__ import annotations

from typing import Any, Final

from bridge.api.contract import SeedContract
from bridge.config.connections import DEFAULT_API_URL, DEFAULT_USAGE_URL
from bridge.jobs.offers import LYRIA
from bridge.jobs.request import AudioRequest

BASE_URL: Final = DEFAULT_API_URL
USAGE_URL: Final = DEFAULT_USAGE_URL


class LyriaContract(SeedContract):
    """The 2.0.0 body of `POST /producer/audios`; answers as the seed's contract reads them."""

    name = LYRIA.name
    shape = LYRIA

    def audio_body(self, request: AudioRequest, *, uploaded: bool = False) -> dict[str, Any]:
        # Intake has refused what this body cannot carry (jobs.offers.expression_issues);
        # a prompt's strength has no field here and is not sent.
        body: dict[str, Any] = {"action": request.action, "model": request.model}
        if request.sounds:
            body["soundPrompt"] = request.sounds[0].text
        given = {
            "lyrics": request.lyrics,
            "title": request.title,
            "seed": request.seed,
            "makeInstrumental": request.make_instrumental,
        }
        body.update({name: value for name, value in given.items() if value is not None})
        return body


LYRIA_CONTRACT: Final = LyriaContract()
