"""The request vocabulary: what the service can be asked, in the core's own terms.

Actions, style prompts, section times and the models table belong to the job core; a
provider adapter in `bridge.api` turns them into its wire format. The field names are the
seed contract's (camelCase, PRODUCER_API.md), which is also how messages name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from bridge.errors import RequestError
from bridge.errors.describe import describe_errors
from bridge.jobs.names import ACTIONS as ACTIONS
from bridge.jobs.names import CREATE as CREATE
from bridge.jobs.names import ActionName as ActionName

# Short names a controller, preset or MIDI map may use for an action ("stems" stands for the
# bridge's own stems_only job, which generates nothing).
ACTION_ALIASES: Final = {
    "stems": "stems_only",
    "create": "create_music",
    "extend": "extend_music",
    "replace": "replace_music",
    "cover": "cover_music",
    "swap_sound": "swap_music_sound",
    "swap_instrumental": "swap_music_sound",
    "swap_vocals": "swap_music_vocals",
    "variation": "music_variation",
}
TITLE_MAX_CHARS: Final = 80
# The longest audio `upload` accepts (PRODUCER_API.md: "At most 4 minutes").
MAX_UPLOAD_SECONDS: Final = 240.0


@dataclass(frozen=True)
class Sound:
    """One style prompt. Negative strength (create only) asks the model to avoid it."""

    text: str
    strength: float
    time_start: float | None = None
    time_end: float | None = None


@dataclass(frozen=True)
class AudioRequest:
    """The body of `POST /producer/audios`, in Python names."""

    action: str
    model: str
    sounds: tuple[Sound, ...] = ()
    audio_id: str | None = None
    lyrics: str | None = None
    title: str | None = None
    lyrics_strength: float | None = None
    weirdness: float | None = None
    seed: int | None = None
    make_instrumental: bool | None = None
    continue_at: float | None = None
    extend_duration: float | None = None
    replace_start: float | None = None
    replace_end: float | None = None
    cover_strength: float | None = None
    cover_art_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The request as a document, in the seed contract's names, without fields that are
        not set (what the journal keeps; `from_json` reads it back)."""
        return self.document().model_dump(mode="json", exclude_none=True)

    def document(self) -> AudioDocument:
        sounds = [
            SoundDocument(
                text=s.text, strength=s.strength, timeStart=s.time_start, timeEnd=s.time_end
            )
            for s in self.sounds
        ]
        return AudioDocument.model_validate(
            {
                **self.extra,
                "action": self.action,
                "model": self.model,
                "sounds": sounds or None,
                **dict(self.api_fields()),
            }
        )

    def api_fields(self) -> tuple[tuple[str, Any], ...]:
        return (
            ("audioId", self.audio_id),
            ("lyrics", self.lyrics),
            ("title", self.title),
            ("lyricsStrength", self.lyrics_strength),
            ("weirdness", self.weirdness),
            ("seed", self.seed),
            ("makeInstrumental", self.make_instrumental),
            ("continueAt", self.continue_at),
            ("extendDuration", self.extend_duration),
            ("replaceStart", self.replace_start),
            ("replaceEnd", self.replace_end),
            ("coverStrength", self.cover_strength),
            ("coverArtUrl", self.cover_art_url),
        )

    @classmethod
    def from_json(cls, data: Any) -> AudioRequest:
        """Read what `to_json` wrote, checking JSON types (the rules are `jobs.rules`')."""
        try:
            doc = AudioDocument.model_validate(data)
        except ValidationError as exc:
            raise RequestError(describe_errors(exc, AudioDocument, {})) from None
        return cls.from_document(doc)

    @classmethod
    def from_document(cls, doc: AudioDocument) -> AudioRequest:
        values = {name: getattr(doc, name) for name in _FIELDS}
        sounds = tuple(Sound(s.text, s.strength, s.timeStart, s.timeEnd) for s in doc.sounds or ())
        return cls(
            action=doc.action,
            model=doc.model,
            sounds=sounds,
            extra=dict(doc.model_extra or {}),
            **{attr: values[name] for name, attr in _FIELDS.items()},
        )


def _whole(value: Any) -> Any:
    # JSON does not tell 7 from 7.0; a whole number written either way is the same seed.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A whole number of any size (a seed), given as 7 or 7.0.
WholeNumber = Annotated[int, BeforeValidator(_whole)]


class SoundDocument(BaseModel):
    # JSON has no NaN or Infinity: a number that is not finite is no number here.
    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    text: str
    strength: float
    timeStart: float | None = None
    timeEnd: float | None = None


class AudioDocument(BaseModel):
    """`AudioRequest.to_json`'s document; fields the vocabulary does not know are kept."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)

    action: str
    model: str
    sounds: list[SoundDocument] | None = None
    audioId: str | None = None
    lyrics: str | None = None
    title: str | None = None
    lyricsStrength: float | None = None
    weirdness: float | None = None
    seed: WholeNumber | None = None
    makeInstrumental: bool | None = None
    continueAt: float | None = None
    extendDuration: float | None = None
    replaceStart: float | None = None
    replaceEnd: float | None = None
    coverStrength: float | None = None
    coverArtUrl: str | None = None


# Document name -> AudioRequest attribute, for every optional field.
_FIELDS: Final = {
    "audioId": "audio_id",
    "lyrics": "lyrics",
    "title": "title",
    "lyricsStrength": "lyrics_strength",
    "weirdness": "weirdness",
    "seed": "seed",
    "makeInstrumental": "make_instrumental",
    "continueAt": "continue_at",
    "extendDuration": "extend_duration",
    "replaceStart": "replace_start",
    "replaceEnd": "replace_end",
    "coverStrength": "cover_strength",
    "coverArtUrl": "cover_art_url",
}
