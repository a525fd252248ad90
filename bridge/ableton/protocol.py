"""The loopback protocol between the daemon and our Live remote script (ProducerBridge).

JSON over UDP: one UTF-8 JSON object per datagram, on loopback only. The script binds
127.0.0.1:11041 (`SCRIPT_PORT`) without blocking and reads it from Live's display timer
(`update_display`, about ten times a second), so it never holds up Live's thread and does not
care whether the daemon runs. The daemon asks; the script answers to the address the question
came from, with the question's `id`:

    {"v": 1, "id": 7, "op": "hello"}
        -> {"v": 1, "id": 7, "ok": true, "live": "12.1.5", "script": 1}
    {"v": 1, "id": 8, "op": "read"}
        -> {"v": 1, "id": 8, "ok": true, "song": {...}, "track": {...}, "clip": {...}}
    {"v": 1, "id": 9, "op": "place", "folder": "...", "clips": [{...}, ...]}
        -> {"v": 1, "id": 9, "ok": true, "placed": "arrangement" | "folder", "message": "..."}
    any question Live cannot answer
        -> {"v": 1, "id": 9, "ok": false, "error": "what went wrong"}

`read` reports Live's own values, in Live's units (beats; seconds for an unwarped clip's
markers): `Snapshot` below. The daemon does all the arithmetic (`bridge.ableton.window`).
A datagram holds at most 65,507 bytes; the script refuses a reply larger than that (a clip
with thousands of warp markers) with `ok: false` rather than cut it.

This module is the daemon's half; the script's half is written again with the standard
library only (bridge/ableton/remote_script/ProducerBridge/wire.py), since Live's Python has
nothing else. tests/test_ableton_script.py keeps the two in agreement.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.errors import AbletonError
from bridge.errors.describe import describe_errors

PROTOCOL_VERSION: Final = 1
SCRIPT_PORT: Final = 11041
MAX_DATAGRAM: Final = 65507

M = TypeVar("M", bound=BaseModel)


class _Document(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SongFacts(_Document):
    """The Live Set: tempo (bpm), the Arrangement loop brace (beats) and its switch."""

    tempo: float
    loop: bool
    loopStart: float
    loopLength: float
    tempoAutomated: bool = Field(description="The song tempo has automation (any, anywhere).")


class TrackFacts(_Document):
    name: str
    index: int = Field(ge=-1, description="Position among the Set's tracks; -1 for others.")
    frozen: bool


class ClipFacts(_Document):
    """The clip in Live's Clip View (`Song.View.detail_clip`), as the LOM reports it."""

    name: str
    audio: bool
    arrangement: bool
    path: str = Field(description="The audio file; empty for a MIDI clip.")
    startTime: float = Field(description="Arrangement position of the clip's left edge, beats.")
    endTime: float = Field(description="Arrangement position of its right edge, beats.")
    startMarker: float
    endMarker: float
    loopStart: float
    loopEnd: float
    looping: bool
    warping: bool
    warpMarkers: list[tuple[float, float]] = Field(
        default_factory=list, description="(beat_time, sample_time) pairs; sample_time in s."
    )
    sampleRate: float = 0.0
    sampleLength: int = 0


class Snapshot(_Document):
    song: SongFacts
    track: TrackFacts | None = None
    clip: ClipFacts | None = None


class Hello(_Document):
    live: str
    script: int


class Placed(_Document):
    placed: Literal["arrangement", "folder"]
    message: str = ""


def encode(message: dict[str, Any]) -> bytes:
    data = json.dumps({"v": PROTOCOL_VERSION, **message}, allow_nan=False).encode("utf-8")
    if len(data) > MAX_DATAGRAM:
        raise AbletonError(f"a message for Live is {len(data)} bytes, over one datagram")
    return data


def decode(data: bytes) -> dict[str, Any] | None:
    """A datagram's message; None for anything that is not one of ours."""
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(message, dict) or message.get("v") != PROTOCOL_VERSION:
        return None
    return message


def answer_of(model: type[M], op: str, message: dict[str, Any]) -> M:
    """The answer to `op` as `model`; AbletonError when Live refused or sent nonsense."""
    if message.get("ok") is not True:
        error = message.get("error") or "no reason given"
        raise AbletonError(f"Live could not {op}: {error}")
    try:
        return model.model_validate(message)
    except ValidationError as exc:
        issues = "; ".join(str(issue) for issue in describe_errors(exc, model, {}))
        raise AbletonError(f"Live's answer to {op} is not what the bridge reads: {issues}") from exc
