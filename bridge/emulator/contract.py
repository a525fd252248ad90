"""The emulator's contract: what each endpoint accepts, by the rules PRODUCER_API.md gives.

A body goes through two steps: its shape (JSON types, `shapes`), then the rules below.
Each step reports every problem it finds at once, each naming its field; a refusal is a
RequestError, which the app answers as HTTP 400 `{statusCode, message, error, field}`.
This module is written from the documentation, on its own: it shares no code with the
bridge's client, so a test that sets the two side by side can tell when one is wrong.

The rules of `POST /producer/audios` (PRODUCER_API.md, "`POST /producer/audios` actions"):
- `action` is one of the seven actions and `model` one of the models the emulator knows
  (the documented eight, and those configuration adds);
- create_music takes no audio; every other action needs an `audioId`;
- `continueAt`/`extendDuration` belong to extend_music, `replaceStart`/`replaceEnd` to
  replace_music, `coverStrength`/`coverArtUrl` to cover_music; no other action takes them;
- `sounds`: at most 4 for create_music, strength -1..1, each with an optional time range;
  at most 1 for the others, strength 0.2..1, no time range; only music_variation may send
  an empty text;
- `title` at most 80 characters; `lyricsStrength`, `weirdness`, `coverStrength` 0..1.

Picked where the documentation is silent (PRODUCER_API.md asks the emulator to say so):
- an unknown action is the only problem reported: which rules apply depends on it;
- extend_music requires both its fields and replace_music both of its own: an extension
  without a start and a length, or a replacement without a section, asks for nothing;
- times are seconds from the start of the clip: `continueAt` >= 0, `extendDuration` > 0,
  `replaceStart` >= 0 and `replaceEnd` after it; a sound's `timeStart` >= 0 and its
  `timeEnd` after its start (after 0 when it has none);
- a seed is >= 0; a text of white space only is empty; `sounds` may be left out by every
  action; a URL (`coverArtUrl`, `audioUrl`) is http(s) with a host.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from bridge.emulator.shapes import (
    AudiosBody,
    DownloadBody,
    SoundPrompt,
    StemsBody,
    TaskQuery,
    UploadBody,
    VideoBody,
    read,
)
from bridge.errors import Issue, RequestError

CREATE: Final = "create_music"
DOCUMENTED_MODELS: Final = (
    "FUZZ-2.0 Pro",
    "FUZZ-2.0",
    "FUZZ-2.0 Raw",
    "FUZZ-1.1 Pro",
    "FUZZ-1.1",
    "FUZZ-1.0 Pro",
    "FUZZ-1.0",
    "FUZZ-0.8",
)
TITLE_MAX_CHARS: Final = 80


@dataclass(frozen=True)
class ActionRule:
    """What one action takes: an audio or none, its own fields (and which of them it
    requires), and its sounds: how many, their strength range, time ranges, empty texts."""

    needs_audio: bool = True
    own_fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    most_sounds: int = 1
    strength: tuple[float, float] = (0.2, 1.0)
    time_ranges: bool = False
    empty_text: bool = False


_EXTEND: Final = ("continueAt", "extendDuration")
_REPLACE: Final = ("replaceStart", "replaceEnd")
ACTION_RULES: Final[Mapping[str, ActionRule]] = {
    CREATE: ActionRule(needs_audio=False, most_sounds=4, strength=(-1.0, 1.0), time_ranges=True),
    "extend_music": ActionRule(own_fields=_EXTEND, required=_EXTEND),
    "replace_music": ActionRule(own_fields=_REPLACE, required=_REPLACE),
    "cover_music": ActionRule(own_fields=("coverStrength", "coverArtUrl")),
    "swap_music_sound": ActionRule(),
    "swap_music_vocals": ActionRule(),
    "music_variation": ActionRule(empty_text=True),
}
ACTIONS: Final = tuple(ACTION_RULES)
_OWNER: Final = {name: action for action, rule in ACTION_RULES.items() for name in rule.own_fields}


@dataclass(frozen=True)
class Bounds:
    """The numbers a field allows: from `low` (itself allowed unless `open_low`) to `high`."""

    low: float
    high: float = math.inf
    open_low: bool = False

    def problem(self, value: float) -> str | None:
        too_low = value <= self.low if self.open_low else value < self.low
        if not too_low and value <= self.high:
            return None
        if self.high < math.inf:
            return f"must be between {self.low:g} and {self.high:g} (got {_number(value)})"
        return f"must be {'>' if self.open_low else '>='} {self.low:g} (got {_number(value)})"


def _number(value: float) -> str:
    """A number as a message shows it; a whole number (a seed) in full, however long."""
    return str(value) if isinstance(value, int) else f"{value:g}"


_BOUNDS: Final = {
    "lyricsStrength": Bounds(0.0, 1.0),
    "weirdness": Bounds(0.0, 1.0),
    "coverStrength": Bounds(0.0, 1.0),
    "seed": Bounds(0.0),
    "continueAt": Bounds(0.0),
    "extendDuration": Bounds(0.0, open_low=True),
    "replaceStart": Bounds(0.0),
}


def known_models(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The documented models, then the ones configuration adds, each once."""
    return tuple(dict.fromkeys((*DOCUMENTED_MODELS, *extra)))


def audios(body: object, models: Collection[str]) -> AudiosBody:
    """An `audios` body the service would accept, or RequestError listing its problems."""
    request = read(AudiosBody, body)
    found = audio_issues(request, models)
    if found:
        raise RequestError(found)
    return request


def audio_issues(request: AudiosBody, models: Collection[str]) -> list[Issue]:
    rule = ACTION_RULES.get(request.action)
    if rule is None:
        actions = ", ".join(ACTIONS)
        return [Issue("action", f"unknown action {request.action!r}; the actions: {actions}")]
    values = request.wire_values()
    found = _model_issues(request.model, models)
    found += _audio_id_issues(request.action, rule, values.get("audioId"))
    found += _own_field_issues(request.action, rule, values)
    found += _sounds_issues(request.action, rule, request.prompts)
    found += _value_issues(request.action, values)
    return found


def _model_issues(model: str, models: Collection[str]) -> list[Issue]:
    if model in models:
        return []
    names = ", ".join(repr(name) for name in models)
    return [Issue("model", f"unknown model {model!r}; the emulator knows {names}")]


def _audio_id_issues(action: str, rule: ActionRule, audio_id: str | None) -> list[Issue]:
    if not rule.needs_audio:
        if audio_id is None:
            return []
        return [Issue("audioId", f"{action} makes a new song from no audio; leave audioId out")]
    if audio_id:
        return []
    return [Issue("audioId", f"{action} needs the audioId of an uploaded or generated clip")]


def _own_field_issues(action: str, rule: ActionRule, values: Mapping[str, Any]) -> list[Issue]:
    found = [
        Issue(name, f"belongs to {owner}, not to {action}")
        for name, owner in _OWNER.items()
        if name in values and owner != action
    ]
    found += [
        Issue(name, f"is required by {action}") for name in rule.required if name not in values
    ]
    start, end = (values.get(name) for name in _REPLACE)
    if action == "replace_music" and start is not None and end is not None and end <= start:
        found.append(Issue("replaceEnd", f"must be after replaceStart ({start:g} s), got {end:g}"))
    url = values.get("coverArtUrl")
    if action == "cover_music" and url is not None and not is_http_url(url):
        found.append(Issue("coverArtUrl", "must be the http(s) URL of an image"))
    return found


def _sounds_issues(action: str, rule: ActionRule, prompts: tuple[SoundPrompt, ...]) -> list[Issue]:
    found = []
    if len(prompts) > rule.most_sounds:
        found.append(
            Issue("sounds", f"{action} takes at most {rule.most_sounds} (got {len(prompts)})")
        )
    for index, prompt in enumerate(prompts):
        found += _prompt_issues(f"sounds[{index}]", action, rule, prompt)
    return found


def _prompt_issues(where: str, action: str, rule: ActionRule, prompt: SoundPrompt) -> list[Issue]:
    found = []
    if not prompt.text.strip() and not rule.empty_text:
        found.append(Issue(f"{where}.text", "must say something (only music_variation may not)"))
    low, high = rule.strength
    if not low <= prompt.strength <= high:
        found.append(
            Issue(
                f"{where}.strength",
                f"must be between {low:g} and {high:g} for {action} (got {prompt.strength:g})",
            )
        )
    times = {"timeStart": prompt.time_start, "timeEnd": prompt.time_end}
    if not rule.time_ranges:
        return found + [
            Issue(f"{where}.{name}", f"only create_music takes a time range, not {action}")
            for name, value in times.items()
            if value is not None
        ]
    start, end = prompt.time_start, prompt.time_end
    if start is not None and start < 0:
        found.append(Issue(f"{where}.timeStart", f"must be >= 0 s (got {start:g})"))
    if end is not None and end <= max(start or 0.0, 0.0):
        found.append(Issue(f"{where}.timeEnd", f"must be after timeStart and 0 s (got {end:g})"))
    return found


def _value_issues(action: str, values: Mapping[str, Any]) -> list[Issue]:
    found = [
        Issue(name, problem)
        for name, bounds in _BOUNDS.items()
        if name in values and _OWNER.get(name, action) == action
        if (problem := bounds.problem(values[name])) is not None
    ]
    title = values.get("title")
    if title is not None and len(title) > TITLE_MAX_CHARS:
        found.append(
            Issue("title", f"must be at most {TITLE_MAX_CHARS} characters (got {len(title)})")
        )
    return found


def is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def upload(body: object) -> UploadBody:
    request = read(UploadBody, body)
    if not is_http_url(request.audio_url):
        raise RequestError([Issue("audioUrl", "must be the http(s) URL of an audio file")])
    return request


def stems(body: object) -> StemsBody:
    return read(StemsBody, body)


def download(body: object) -> DownloadBody:
    return read(DownloadBody, body)


def video(body: object) -> VideoBody:
    return read(VideoBody, body)


def task_id(given: object) -> str:
    """The task id of a status request: the query of a GET or the body of a POST."""
    return read(TaskQuery, given).task_id
