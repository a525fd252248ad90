"""The emulator's twin of the reseller's 2.0.0 contract ("mountsea-lyria"), on its own.

Read from PRODUCER_API.md, section 1 (the reseller's OpenAPI `version: 2.0.0`):
`POST /producer/audios` takes `{"action": "create_music", "soundPrompt", "lyrics", "title"
(max 80), "model": "Lyria 3 Pro", "seed", "makeInstrumental", "imageUrl"}`, and "either
soundPrompt or lyrics should be provided". Upload, stems, download and tasks are unchanged.

Picked where the pages are silent (the real refusal body is unknown):
- any other action, and any other model, is HTTP 400 with the emulator's usual body
  `{"statusCode": 400, "message", "error": "Bad Request", "field": "action" | "model",
  "issues"}`, whose message names the value refused and the one that is accepted;
- fields of the older contract (`sounds`, `weirdness`, `audioId`...) are ignored, as any
  field the page does not name;
- results are 44.1 kHz stereo, as Lyria 3 Pro's own documentation says.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from bridge.emulator.shapes import AudiosBody, WholeNumber, _Shape, read
from bridge.errors import Issue, RequestError

ACTION: Final = "create_music"
MODELS: Final = ("Lyria 3 Pro",)
SAMPLE_RATE: Final = 44100
TITLE_MAX_CHARS: Final = 80


class LyriaBody(_Shape):
    action: str
    model: str
    sound_prompt: str | None = None
    lyrics: str | None = None
    title: str | None = None
    seed: Annotated[WholeNumber, Field(ge=0)] | None = None
    make_instrumental: bool | None = None
    image_url: str | None = None


def audios(body: object) -> AudiosBody:
    """A 2.0.0 body the service would accept, as the engine's request, or RequestError."""
    request = read(LyriaBody, body)
    found: list[Issue] = []
    if request.action != ACTION:
        found.append(
            Issue("action", f"unsupported action {request.action!r}: only {ACTION} is offered")
        )
    if request.model not in MODELS:
        found.append(Issue("model", f"unsupported model {request.model!r}: use {MODELS[0]!r}"))
    if not (request.sound_prompt or "").strip() and not (request.lyrics or "").strip():
        found.append(Issue("soundPrompt", "either soundPrompt or lyrics should be provided"))
    if request.title is not None and len(request.title) > TITLE_MAX_CHARS:
        found.append(Issue("title", f"must be at most {TITLE_MAX_CHARS} characters"))
    if found:
        raise RequestError(found)
    sounds = [{"text": request.sound_prompt, "strength": 1.0}] if request.sound_prompt else []
    return AudiosBody.model_validate(
        {
            "action": ACTION,
            "model": request.model,
            "sounds": sounds,
            "lyrics": request.lyrics,
            "title": request.title,
            "seed": request.seed,
            "makeInstrumental": request.make_instrumental,
        }
    )
