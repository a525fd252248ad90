"""The service's rules for a request, checked before anything is staged or paid.

Pure; every problem is gathered in one pass. Field names are the API's own (camelCase),
as in its documentation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

from bridge.errors import Issue, RequestError
from bridge.jobs.request import ACTIONS, CREATE, TITLE_MAX_CHARS, AudioRequest, Sound

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


def validate_audio(
    request: AudioRequest, known_models: Sequence[str], *, needs_audio_id: bool = True
) -> None:
    """Raise RequestError listing every problem. `needs_audio_id=False` checks a
    request whose audioId will come from an upload that has not happened yet."""
    issues = list(audio_issues(request, known_models, needs_audio_id=needs_audio_id))
    if issues:
        raise RequestError(issues)


def audio_issues(
    request: AudioRequest, known_models: Sequence[str], *, needs_audio_id: bool = True
) -> list[Issue]:
    """Every problem with `request` under the service's rules, each naming its field."""
    if request.action not in ACTIONS:
        return [Issue("action", f"must be one of {', '.join(ACTIONS)} (got {request.action!r})")]
    found: list[Issue] = []
    found += _model_issues(request.model, known_models)
    found += _audio_id_issues(request, needs_audio_id)
    found += _own_field_issues(request)
    found += _sound_issues(request.action, request.sounds)
    found += _common_issues(request)
    return found


def _audio_id_issues(request: AudioRequest, needs_audio_id: bool) -> list[Issue]:
    if request.action == CREATE:
        if request.audio_id is not None:
            return [Issue("audioId", "create_music takes no audio; leave audioId out")]
        return []
    if needs_audio_id and not request.audio_id:
        return [Issue("audioId", f"{request.action} needs the audioId of an uploaded clip")]
    return []


def _own_field_issues(request: AudioRequest) -> list[Issue]:
    found = [
        Issue(name, f"only {owner} takes {name} (this is {request.action})")
        for name, value in request.api_fields()
        if (owner := _OWN_FIELDS.get(name)) and owner != request.action and value is not None
    ]
    if request.action == "extend_music":
        found += _required(
            ("continueAt", request.continue_at), ("extendDuration", request.extend_duration)
        )
        found += _at_least("continueAt", request.continue_at, 0.0, inclusive=True)
        found += _at_least("extendDuration", request.extend_duration, 0.0, inclusive=False)
    elif request.action == "replace_music":
        found += _required(
            ("replaceStart", request.replace_start), ("replaceEnd", request.replace_end)
        )
        found += _at_least("replaceStart", request.replace_start, 0.0, inclusive=True)
        found += _ordered("replaceStart", request.replace_start, "replaceEnd", request.replace_end)
    elif request.action == "cover_music":
        found += _in_range("coverStrength", request.cover_strength, 0.0, 1.0)
        if request.cover_art_url is not None and not _is_http_url(request.cover_art_url):
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
