"""The request schema every input speaks: OSC `/bridge/job`, the drop folder's request files,
the REAPER scripts and `producer-bridge submit`.

One versioned JSON document per job. Its JSON Schema (`bridge/schemas/request.schema.json`)
is generated from the models below, and a test keeps the shipped file equal to them.
Structure and types are checked here; the API's own rules (strength ranges, fields that
belong to one action) by `request_issues`, so every problem is reported in one pass.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from bridge.errors import Issue, RequestError
from bridge.errors.describe import describe_errors
from bridge.jobs.judging import request_issues
from bridge.jobs.model import (
    STEMS_ONLY,
    ClipPlacement,
    FetchFormat,
    ImportTarget,
    JobAction,
    JobOptions,
    JobRequest,
    SampleRate,
    Selection,
    with_api_times,
)
from bridge.jobs.offers import MOUNTSEA, ProviderOffer, expression_issues
from bridge.jobs.request import AudioRequest, Sound

REQUEST_VERSION: Final = 1
# The largest request or sidecar file read; anything bigger is not a request.
MAX_JSON_BYTES: Final = 1 << 20
# The JSON Schema dialect of every schema the bridge publishes.
JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID: Final = "https://producer-bridge.invalid/schemas/request-v1.json"

_Finite = Annotated[float, Field(allow_inf_nan=False)]
_NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _nameable(path: str) -> str:
    # Judged at intake for every input: a NUL makes every os call raise, and a newline or
    # an escape in a path is a mistake, not a file name anyone meant.
    if any(unicodedata.category(char) == "Cc" for char in path):
        raise PydanticCustomError(
            "path_control", "a path cannot hold control characters (NUL, tab, newline...)"
        )
    return path


_Path = Annotated[str, Field(min_length=1), AfterValidator(_nameable)]


class _Wire(BaseModel):
    # strict: "0.5" is not a number and 1 is not true; ints are accepted where numbers go.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Prompt(_Wire):
    """A style prompt; strength below 0 (create_music only) asks the model to avoid it."""

    text: str
    strength: _Finite | None = None
    timeStart: _NonNegative | None = None
    timeEnd: _NonNegative | None = None


class Params(_Wire):
    """The API's own optional fields, in its names; times in seconds of the uploaded clip."""

    title: str | None = None
    seed: Annotated[int, Field(ge=0)] | None = None
    lyricsStrength: _Finite | None = None
    weirdness: _Finite | None = None
    makeInstrumental: bool | None = None
    replaceStart: _Finite | None = None
    replaceEnd: _Finite | None = None
    continueAt: _Finite | None = None
    extendDuration: _Finite | None = None
    coverStrength: _Finite | None = None
    coverArtUrl: str | None = None


class Project(_Wire):
    """The project folder (absolute) and its sample rate (null: keep the result's rate)."""

    folder: _Path
    sampleRate: SampleRate | None = None


class Clip(_Wire):
    """Where the clip sits: the source file, the item's timeline position, where in the
    file the item starts, its playrate, and its length on the timeline (null: to the end)."""

    path: _Path
    itemPosition: _Finite = 0.0
    takeOffset: _Finite = 0.0
    playrate: _Finite = 1.0
    length: _Finite | None = None


class TimeSelection(_Wire):
    """Start and end on the project timeline, in seconds (the timeline starts at 0: a
    negative time could be judged only after the service was paid, when results are placed)."""

    start: _NonNegative
    end: _NonNegative


class Options(_Wire):
    """Stems too; what to fetch before conversion to WAV; where the importer puts results
    (new takes on the source item, new tracks, or nowhere). Unset: the configuration's."""

    stems: bool | None = None
    format: FetchFormat | None = None
    importAs: ImportTarget | None = None


class WireRequest(_Wire):
    """A job request, version 1."""

    model_config = ConfigDict(
        title="producer-bridge job request",
        json_schema_extra={"$id": SCHEMA_ID},
    )

    version: Literal[1] = Field(description="The schema's version: 1.")
    action: JobAction = Field(
        description="The API's action name, or stems_only: split the clip into stems, "
        "generating nothing."
    )
    model: str | None = Field(None, description="Model name; default models.default.")
    prompts: Annotated[list[Prompt], Field(max_length=4)] = Field(
        default_factory=list,
        description="Style prompts: up to 4 for create_music, 1 for the other actions.",
    )
    lyrics: str | None = Field(None, description="Lyrics, with section tags such as [Verse].")
    params: Params = Field(default_factory=Params)
    audioId: str | None = Field(
        None, description="Audio the service already has, instead of a clip to upload."
    )
    project: Project | None = Field(
        None, description="The DAW project results are written into; default output.dir."
    )
    clip: Clip | None = Field(None, description="The source clip; every action but create_music.")
    selection: TimeSelection | None = Field(
        None,
        description="The time selection on the timeline (s): the section for replace_music, "
        "the continuation point for extend_music, where create_music results go.",
    )
    options: Options = Field(default_factory=Options)


@dataclass(frozen=True)
class Defaults:
    """What a request may leave out, taken from the configuration."""

    model: str
    known_models: tuple[str, ...]
    project: str
    strength: float = 0.5
    stems: bool = False
    fetch_format: str = "wav"
    subtype: str = "PCM_24"
    import_as: str = "takes"
    offer: ProviderOffer = MOUNTSEA  # the provider jobs go to: what its contracts express


def request_schema() -> dict[str, Any]:
    """The JSON Schema of a version-1 request (what `request.schema.json` holds)."""
    schema = WireRequest.model_json_schema()
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def parse_request(data: Any, defaults: Defaults) -> JobRequest:
    """A validated job from a decoded JSON document, or RequestError naming every problem."""
    if not isinstance(data, dict):
        raise RequestError([Issue("request", "must be a JSON object")])
    if "version" in data and data["version"] != REQUEST_VERSION:
        raise RequestError(
            [
                Issue(
                    "version",
                    f"this bridge reads version {REQUEST_VERSION} (got {data['version']!r})",
                )
            ]
        )
    try:
        wire = WireRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestError(describe_errors(exc, WireRequest, {})) from None
    request = to_job_request(wire, defaults)
    issues = request_issues(request, defaults.known_models)
    issues += expression_issues(request.audio, defaults.offer) + _path_issues(request)
    if issues:
        raise RequestError(issues)
    shape = defaults.offer.shape_for(request.audio.model)
    return dataclasses.replace(
        with_api_times(request), provider=defaults.offer.name, contract=shape.name
    )


def _stems(wire: WireRequest, defaults: Defaults) -> bool:
    if wire.action == STEMS_ONLY and wire.options.stems is None:
        return True  # what the action is for
    return defaults.stems if wire.options.stems is None else wire.options.stems


def _path_issues(request: JobRequest) -> list[Issue]:
    # A daemon has no working folder the sender knows: relative paths would be a guess.
    issues = []
    if not PurePath(request.project).is_absolute():
        issues.append(
            Issue("project.folder", f"must be an absolute path (got {request.project!r})")
        )
    if request.clip is not None and not PurePath(request.clip.path).is_absolute():
        issues.append(Issue("clip.path", f"must be an absolute path (got {request.clip.path!r})"))
    return issues


def to_job_request(wire: WireRequest, defaults: Defaults) -> JobRequest:
    params = wire.params
    audio = AudioRequest(
        action=wire.action,
        model=wire.model or defaults.model,
        sounds=tuple(
            Sound(
                p.text,
                defaults.strength if p.strength is None else p.strength,
                p.timeStart,
                p.timeEnd,
            )
            for p in wire.prompts
        ),
        audio_id=wire.audioId,
        lyrics=wire.lyrics,
        title=params.title,
        lyrics_strength=params.lyricsStrength,
        weirdness=params.weirdness,
        seed=params.seed,
        make_instrumental=params.makeInstrumental,
        continue_at=params.continueAt,
        extend_duration=params.extendDuration,
        replace_start=params.replaceStart,
        replace_end=params.replaceEnd,
        cover_strength=params.coverStrength,
        cover_art_url=params.coverArtUrl,
    )
    clip = wire.clip
    options = wire.options
    return JobRequest(
        audio=audio,
        project=os.path.expanduser(wire.project.folder) if wire.project else defaults.project,
        sample_rate=wire.project.sampleRate if wire.project else None,
        clip=ClipPlacement(
            os.path.expanduser(clip.path),
            clip.itemPosition,
            clip.takeOffset,
            clip.playrate,
            clip.length,
        )
        if clip
        else None,
        selection=Selection(wire.selection.start, wire.selection.end) if wire.selection else None,
        options=JobOptions(
            stems=_stems(wire, defaults),
            fetch_format=options.format or defaults.fetch_format,
            subtype=defaults.subtype,
            import_as=options.importAs or defaults.import_as,
        ),
    )


def parse_json_object(data: bytes, name: str) -> dict[str, Any]:
    """The JSON object in a request or sidecar, from its bytes, as every input reads it (the
    drop folder and `submit`): UTF-8 with or without a BOM, or UTF-16/32 as `json` detects
    them; RequestError says where it is broken."""
    if len(data) > MAX_JSON_BYTES:
        raise _unreadable(f"{name} is larger than {MAX_JSON_BYTES} bytes: not a request")
    if not data.strip():
        raise _unreadable(f"{name} is empty (expected a JSON object)")
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise _unreadable(f"{name} is not valid JSON: {exc.msg} at {where}") from exc
    except UnicodeDecodeError as exc:
        raise _unreadable(f"{name} is not UTF-8 text (bad byte at offset {exc.start})") from exc
    except RecursionError as exc:
        raise _unreadable(f"{name} is nested too deeply to be a request") from exc
    except ValueError as exc:  # json's own limit on the digits of an integer
        raise _unreadable(
            f"{name} holds an integer of over {sys.get_int_max_str_digits()} digits; "
            "no field of a request takes one"
        ) from exc
    if not isinstance(value, dict):
        raise _unreadable(f"{name} must hold one JSON object {{...}}, not {_json_type(value)}")
    return value


def _unreadable(message: str) -> RequestError:
    return RequestError([Issue("", message)])


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "a list [...]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return "a number" if isinstance(value, int | float) else "a string"
