"""Request models for `POST /producer/audios` and their validation.

Validation is pure and runs before any network call; it gathers every problem at
once. Field names in messages are the API's own (camelCase), as in its documentation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from bridge.errors import Issue, RequestError

CREATE: Final = "create_music"
ACTIONS: Final = (
    CREATE,
    "extend_music",
    "replace_music",
    "cover_music",
    "swap_music_sound",
    "swap_music_vocals",
    "music_variation",
)
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
DOWNLOAD_FORMATS: Final = ("mp3", "m4a", "wav")
VIDEO_PRESETS: Final = ("modern", "player", "simple")

# (largest number of sounds, lowest strength, highest strength) per kind of action.
_CREATE_SOUNDS: Final = (4, -1.0, 1.0)
_EDIT_SOUNDS: Final = (1, 0.2, 1.0)

# Fields that belong to one action only: API name -> action.
_OWN_FIELDS: Final = {
    "continueAt": "extend_music",
    "extendDuration": "extend_music",
    "replaceStart": "replace_music",
    "replaceEnd": "replace_music",
    "coverStrength": "cover_music",
    "coverArtUrl": "cover_music",
}


@dataclass(frozen=True)
class Sound:
    """One style prompt. Negative strength (create only) asks the model to avoid it."""

    text: str
    strength: float
    time_start: float | None = None
    time_end: float | None = None

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"text": self.text, "strength": self.strength}
        if self.time_start is not None:
            body["timeStart"] = self.time_start
        if self.time_end is not None:
            body["timeEnd"] = self.time_end
        return body


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

    def to_body(self) -> dict[str, Any]:
        """The JSON body, in the API's names, without fields that are not set."""
        body: dict[str, Any] = {"action": self.action, "model": self.model}
        if self.sounds:
            body["sounds"] = [sound.to_body() for sound in self.sounds]
        for name, value in self._api_fields():
            if value is not None:
                body[name] = value
        body.update(self.extra)
        return body

    def _api_fields(self) -> tuple[tuple[str, Any], ...]:
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

    def validate(self, known_models: Sequence[str], *, needs_audio_id: bool = True) -> None:
        """Raise RequestError listing every problem. `needs_audio_id=False` checks a
        request whose audioId will come from an upload that has not happened yet."""
        issues = list(self.issues(known_models, needs_audio_id=needs_audio_id))
        if issues:
            raise RequestError(issues)

    def issues(self, known_models: Sequence[str], *, needs_audio_id: bool = True) -> list[Issue]:
        if self.action not in ACTIONS:
            return [Issue("action", f"must be one of {', '.join(ACTIONS)} (got {self.action!r})")]
        found: list[Issue] = []
        found += _model_issues(self.model, known_models)
        found += self._audio_id_issues(needs_audio_id)
        found += self._own_field_issues()
        found += _sound_issues(self.action, self.sounds)
        found += _common_issues(self)
        return found

    def _audio_id_issues(self, needs_audio_id: bool) -> list[Issue]:
        if self.action == CREATE:
            if self.audio_id is not None:
                return [Issue("audioId", "create_music takes no audio; leave audioId out")]
            return []
        if needs_audio_id and not self.audio_id:
            return [Issue("audioId", f"{self.action} needs the audioId of an uploaded clip")]
        return []

    def _own_field_issues(self) -> list[Issue]:
        found = [
            Issue(name, f"only {owner} takes {name} (this is {self.action})")
            for name, value in self._api_fields()
            if (owner := _OWN_FIELDS.get(name)) and owner != self.action and value is not None
        ]
        if self.action == "extend_music":
            found += _required(
                ("continueAt", self.continue_at), ("extendDuration", self.extend_duration)
            )
            found += _at_least("continueAt", self.continue_at, 0.0, inclusive=True)
            found += _at_least("extendDuration", self.extend_duration, 0.0, inclusive=False)
        elif self.action == "replace_music":
            found += _required(
                ("replaceStart", self.replace_start), ("replaceEnd", self.replace_end)
            )
            found += _at_least("replaceStart", self.replace_start, 0.0, inclusive=True)
            found += _ordered("replaceStart", self.replace_start, "replaceEnd", self.replace_end)
        elif self.action == "cover_music":
            found += _in_range("coverStrength", self.cover_strength, 0.0, 1.0)
            if self.cover_art_url is not None and not _is_http_url(self.cover_art_url):
                found.append(Issue("coverArtUrl", "must be an http(s) URL"))
        return found


def _model_issues(model: str, known_models: Sequence[str]) -> list[Issue]:
    if model in known_models:
        return []
    known = ", ".join(repr(name) for name in known_models)
    return [
        Issue(
            "model",
            f"unknown model {model!r}; known models: {known} (add more in config models.extra)",
        )
    ]


def _sound_issues(action: str, sounds: Sequence[Sound]) -> list[Issue]:
    most, low, high = _CREATE_SOUNDS if action == CREATE else _EDIT_SOUNDS
    found: list[Issue] = []
    if len(sounds) > most:
        found.append(
            Issue("sounds", f"{action} takes at most {most} sound prompt(s) (got {len(sounds)})")
        )
    for index, sound in enumerate(sounds):
        where = f"sounds[{index}]"
        found += _in_range(f"{where}.strength", sound.strength, low, high, f" for {action}")
        if not sound.text.strip() and action != "music_variation":
            found.append(
                Issue(
                    f"{where}.text", "must not be empty (only music_variation may leave it empty)"
                )
            )
        found += _time_range_issues(action, where, sound)
    return found


def _time_range_issues(action: str, where: str, sound: Sound) -> list[Issue]:
    if sound.time_start is None and sound.time_end is None:
        return []
    if action != CREATE:
        given = {"timeStart": sound.time_start, "timeEnd": sound.time_end}
        return [
            Issue(f"{where}.{name}", f"time ranges apply to create_music only (this is {action})")
            for name, value in given.items()
            if value is not None
        ]
    found = _at_least(f"{where}.timeStart", sound.time_start, 0.0, inclusive=True)
    found += _at_least(f"{where}.timeEnd", sound.time_end, 0.0, inclusive=False)
    found += _ordered(f"{where}.timeStart", sound.time_start, f"{where}.timeEnd", sound.time_end)
    return found


def _common_issues(request: AudioRequest) -> list[Issue]:
    found: list[Issue] = []
    if request.title is not None and len(request.title) > TITLE_MAX_CHARS:
        found.append(
            Issue(
                "title", f"must be at most {TITLE_MAX_CHARS} characters (got {len(request.title)})"
            )
        )
    found += _in_range("lyricsStrength", request.lyrics_strength, 0.0, 1.0)
    found += _in_range("weirdness", request.weirdness, 0.0, 1.0)
    if request.seed is not None and (isinstance(request.seed, bool) or request.seed < 0):
        found.append(Issue("seed", f"must be a whole number >= 0 (got {request.seed!r})"))
    return found


def _required(*pairs: tuple[str, object]) -> list[Issue]:
    return [Issue(name, "is required for this action") for name, value in pairs if value is None]


def _in_range(
    name: str, value: float | None, low: float, high: float, why: str = ""
) -> list[Issue]:
    if value is None or low <= value <= high:
        return []
    return [Issue(name, f"must be between {_num(low)} and {_num(high)}{why} (got {_num(value)})")]


def _at_least(name: str, value: float | None, low: float, *, inclusive: bool) -> list[Issue]:
    if value is None or value > low or (inclusive and value == low):
        return []
    relation = ">=" if inclusive else ">"
    return [Issue(name, f"must be {relation} {_num(low)} seconds (got {_num(value)})")]


def _ordered(first: str, start: float | None, second: str, end: float | None) -> list[Issue]:
    if start is None or end is None or start < end:
        return []
    return [Issue(second, f"must be after {first} ({_num(start)} s), got {_num(end)} s")]


def _num(value: float) -> str:
    return f"{value:g}"


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_choice(name: str, value: str, allowed: Iterable[str]) -> None:
    """Raise RequestError unless `value` is one of `allowed`."""
    options = tuple(allowed)
    if value not in options:
        raise RequestError([Issue(name, f"must be one of {', '.join(options)} (got {value!r})")])


# Wire names of AudioRequest fields, and the JSON type each must have.
_WIRE: Final = {
    "audioId": ("audio_id", str),
    "lyrics": ("lyrics", str),
    "title": ("title", str),
    "lyricsStrength": ("lyrics_strength", float),
    "weirdness": ("weirdness", float),
    "seed": ("seed", int),
    "makeInstrumental": ("make_instrumental", bool),
    "continueAt": ("continue_at", float),
    "extendDuration": ("extend_duration", float),
    "replaceStart": ("replace_start", float),
    "replaceEnd": ("replace_end", float),
    "coverStrength": ("cover_strength", float),
    "coverArtUrl": ("cover_art_url", str),
}


def request_from_body(body: Any) -> AudioRequest:
    """Read an `audios` JSON body (the inverse of `to_body`), checking JSON types.

    Only types are checked here; `AudioRequest.validate` checks the rules."""
    if not isinstance(body, dict):
        raise RequestError([Issue("", "the body must be a JSON object")])
    found: list[Issue] = []
    action = _typed(body, "action", str, found, required=True)
    model = _typed(body, "model", str, found, required=True)
    values = {attr: _typed(body, name, kind, found) for name, (attr, kind) in _WIRE.items()}
    sounds = _sounds_from_body(body.get("sounds"), found)
    if found:
        raise RequestError(found)
    extra = {
        k: v for k, v in body.items() if k not in _WIRE and k not in {"action", "model", "sounds"}
    }
    return AudioRequest(action=action, model=model, sounds=sounds, extra=extra, **values)


def _sounds_from_body(raw: Any, found: list[Issue]) -> tuple[Sound, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        found.append(Issue("sounds", "must be a list of {text, strength} objects"))
        return ()
    sounds = []
    for index, item in enumerate(raw):
        where = f"sounds[{index}]"
        if not isinstance(item, dict):
            found.append(Issue(where, "must be an object with text and strength"))
            continue
        text = _typed(item, "text", str, found, required=True, where=where)
        strength = _typed(item, "strength", float, found, required=True, where=where)
        start = _typed(item, "timeStart", float, found, where=where)
        end = _typed(item, "timeEnd", float, found, where=where)
        sounds.append(Sound(text or "", strength or 0.0, start, end))
    return tuple(sounds)


def _typed(
    data: dict[str, Any],
    name: str,
    kind: type,
    found: list[Issue],
    *,
    required: bool = False,
    where: str = "",
) -> Any:
    label = f"{where}.{name}" if where else name
    value = data.get(name)
    if value is None:
        if required:
            found.append(Issue(label, "is required"))
        return None
    numeric = (
        kind in (int, float) and isinstance(value, int | float) and not isinstance(value, bool)
    )
    if kind is int and numeric and (isinstance(value, int) or value.is_integer()):
        return int(value)
    if kind is float and numeric and _finite(value):
        return float(value)
    if kind in (str, bool) and isinstance(value, kind):
        return value
    names = {str: "a string", bool: "true or false", int: "a whole number", float: "a number"}
    found.append(Issue(label, f"must be {names[kind]} (got {value!r:.40})"))
    return None


def _finite(value: float) -> bool:
    """JSON has no NaN or Infinity, and an integer too large for a float is no number here."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
