"""The shapes of the bodies the emulator accepts: JSON types, as pydantic models.

Written from PRODUCER_API.md and the service's introduction (its "Common Parameters"
and "Sound Item Properties" tables), in the API's own camelCase names. This is the first
of the two steps a body goes through; the documented rules (ranges, which fields belong
to which action) are the second, in `contract`. Every shape problem is reported at once,
each at its field (`sounds[1].strength`).

Where the documentation is silent, the emulator picks one behaviour and says so here:
- null is the same as leaving a field out;
- fields it does not name are ignored (the reseller's Lyria variant of the same endpoint
  adds `soundPrompt` and `imageUrl`), also inside a sound;
- a number is a JSON number, never a string or true/false, and finite: JSON has no NaN or
  Infinity, so a body that carries them is refused at their field;
- a seed is a whole number; 7.0 is the same JSON number as 7 and counts as one.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypeVar, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from bridge.errors import Issue, RequestError

Format = Literal["mp3", "m4a", "wav"]
Preset = Literal["modern", "player", "simple"]
DOWNLOAD_FORMATS: Final[tuple[str, ...]] = get_args(Format)
VIDEO_PRESETS: Final[tuple[str, ...]] = get_args(Preset)


def _whole(value: object) -> object:
    """A float with a whole value (7.0) as the int it stands for; anything else as given."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Number = Annotated[float, Field(allow_inf_nan=False)]
WholeNumber = Annotated[int, BeforeValidator(_whole)]
Text = Annotated[str, Field(min_length=1)]


class _Shape(BaseModel):
    # Only the API's camelCase names are read: `audio_id` is an unknown field, not audioId.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, alias_generator=to_camel)


class SoundPrompt(_Shape):
    """One item of `sounds`: a style prompt, its strength, and an optional time range."""

    text: str
    strength: Number
    time_start: Number | None = None
    time_end: Number | None = None


class AudiosBody(_Shape):
    """`POST /producer/audios`: the common fields and every action's own fields."""

    action: str
    model: str
    sounds: list[SoundPrompt] | None = None
    audio_id: str | None = None
    lyrics: str | None = None
    title: str | None = None
    lyrics_strength: Number | None = None
    weirdness: Number | None = None
    seed: WholeNumber | None = None
    make_instrumental: bool | None = None
    continue_at: Number | None = None
    extend_duration: Number | None = None
    replace_start: Number | None = None
    replace_end: Number | None = None
    cover_strength: Number | None = None
    cover_art_url: str | None = None

    @property
    def prompts(self) -> tuple[SoundPrompt, ...]:
        return tuple(self.sounds or ())

    def wire_values(self) -> dict[str, Any]:
        """The fields that were given (not null), by their API names."""
        return self.model_dump(by_alias=True, exclude_none=True)


class UploadBody(_Shape):
    """`POST /producer/upload`: JSON with the URL the service fetches, not multipart."""

    audio_url: Text


class StemsBody(_Shape):
    audio_id: Text


class DownloadBody(_Shape):
    audio_id: Text
    format: Format | None = None

    @property
    def chosen(self) -> str:
        """The format asked for; m4a when none is (the documented default)."""
        return self.format or "m4a"


class VideoBody(_Shape):
    audio_id: Text
    preset: Preset | None = None

    @property
    def chosen(self) -> str:
        """The preset asked for; modern when none is (the documented default)."""
        return self.preset or "modern"


class TaskQuery(_Shape):
    """`GET /producer/tasks?taskId=` or `POST /producer/tasks` with `{"taskId"}`."""

    task_id: Text


Shape = TypeVar("Shape", bound=BaseModel)


def read(shape: type[Shape], body: object) -> Shape:
    """`body` as `shape`, or RequestError naming every field whose JSON type is wrong."""
    try:
        return shape.model_validate(body)
    except ValidationError as exc:
        raise RequestError([_issue(error) for error in exc.errors()]) from None


_MESSAGES: Final = {
    "missing": "is required",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "float_type": "must be a number",
    "finite_number": "must be a finite number (JSON has no NaN or Infinity)",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be a JSON object",
}


def _issue(error: ErrorDetails) -> Issue:
    where = field_name(error["loc"])
    kind = error["type"]
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return Issue(where, f"must be one of {expected} (got {error['input']!r:.40})")
    message = _MESSAGES.get(kind, error["msg"])
    if kind == "model_type" and not where:
        message = "the body must be a JSON object"
    return Issue(where, message)


def field_name(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as the API's field path: ("sounds", 0, "text") -> sounds[0].text."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else part
    return name
