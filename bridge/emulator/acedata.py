"""The emulator's twin of AceData Cloud's contract ("acedata"): what its bodies may hold.

Read from AceData's public `producer/docs/` (producer_audios, producer_tasks, producer_upload,
producer_wav) on their own, never from the bridge's client. `POST /producer/audios` takes
snake_case fields: `action`, `model` (the eight FUZZ names), `prompt` (inspiration mode) or
`custom: true` with `lyric` and `title`, `audio_id`, `continue_at`, `replace_section_start`/
`replace_section_end`, `lyrics_strength` (0..1), `sound_strength` (0.2..1), `cover_strength`
(0.2..1), `weirdness` (0..1), `instrumental`, `callback_url`, `async`.

Picked where the pages are silent (each one said here, as the twin's own reading):
- the actions are the documented list (generate, cover, extend, upload_cover, upload_extend,
  replace_section, swap_vocals, swap_instrumentals, variation), `stems` (its own section)
  and `upload_replace_section` (named in one paragraph); any other is refused;
- every action but `generate` needs `audio_id`; the `upload_` ones take only an uploaded
  song's id and extend, cover and replace_section only a generated one's, when the twin
  knows the id; swaps, variation and stems take either;
- `generate` needs a `prompt`, or `custom: true` with a `lyric`; `extend` needs
  `continue_at`, a replacement both of its ends (the end after the start);
- `model` may be left out by `stems` only (its example sends none);
- an extension has no length field: the twin continues for `emulator.create_seconds`;
- a refusal is HTTP 400 `{"success": false, "error": {"code": "token_mismatched",
  "message"}, "trace_id"}` (the docs give that code to "missing or invalid parameters"),
  its message naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from bridge.emulator.shapes import AudiosBody, read
from bridge.errors import Issue, RequestError

# Their action -> the engine's, and the song it takes: an uploaded one (True), a generated
# one (False), either (None: swaps and variation name no upload_ variant).
ACTIONS: Final[dict[str, tuple[str, bool | None]]] = {
    "generate": ("create_music", None),
    "extend": ("extend_music", False),
    "upload_extend": ("extend_music", True),
    "replace_section": ("replace_music", False),
    "upload_replace_section": ("replace_music", True),
    "cover": ("cover_music", False),
    "upload_cover": ("cover_music", True),
    "swap_vocals": ("swap_music_vocals", None),
    "swap_instrumentals": ("swap_music_sound", None),
    "variation": ("music_variation", None),
}
STEMS: Final = "stems"
DEFAULT_SOUND_STRENGTH: Final = 0.7  # the docs' default
Number = Annotated[float, Field(allow_inf_nan=False)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)


class AceAudios(_Body):
    action: str
    model: str | None = None
    prompt: str | None = None
    custom: bool | None = None
    lyric: str | None = None
    title: str | None = None
    audio_id: str | None = None
    continue_at: Number | None = None
    replace_section_start: Number | None = None
    replace_section_end: Number | None = None
    lyrics_strength: Number | None = None
    sound_strength: Number | None = None
    cover_strength: Number | None = None
    weirdness: Number | None = None
    instrumental: bool | None = None
    callback_url: str | None = None
    run_async: bool | None = Field(None, alias="async")

    @property
    def at_once(self) -> bool:
        """Answer the task id at once (`async` or a callback) rather than wait for it."""
        return bool(self.run_async or self.callback_url)


class AceUpload(_Body):
    audio_url: str


class AceWav(_Body):
    audio_id: str
    callback_url: str | None = None
    run_async: bool | None = Field(None, alias="async")


class AceTaskQuery(_Body):
    id: str | None = None
    ids: list[str] | None = None
    action: str = "retrieve"


_RANGES: Final = {
    "lyrics_strength": (0.0, 1.0),
    "sound_strength": (0.2, 1.0),
    "cover_strength": (0.2, 1.0),
    "weirdness": (0.0, 1.0),
}


def audios(
    body: object, models: Collection[str], is_upload: Callable[[str], bool | None]
) -> AceAudios:
    """A body the service would accept, or RequestError naming every problem.
    `is_upload(audio_id)`: whether the twin uploaded it (None: it does not know the id)."""
    request = read(AceAudios, body)
    if request.action != STEMS and request.action not in ACTIONS:
        known = ", ".join([*ACTIONS, STEMS])
        message = f"unknown action {request.action!r}; the actions: {known}"
        raise RequestError([Issue("action", message)])
    found = _model_issues(request, models) + _audio_issues(request, is_upload)
    found += _own_issues(request)
    found += [
        Issue(name, f"must be between {low:g} and {high:g} (got {value:g})")
        for name, (low, high) in _RANGES.items()
        if (value := getattr(request, name)) is not None and not low <= value <= high
    ]
    if found:
        raise RequestError(found)
    return request


def _model_issues(request: AceAudios, models: Collection[str]) -> list[Issue]:
    if request.model is None:
        return [] if request.action == STEMS else [Issue("model", "is required")]
    if request.model in models:
        return []
    return [Issue("model", f"unknown model {request.model!r}; known: {', '.join(models)}")]


def _audio_issues(request: AceAudios, is_upload: Callable[[str], bool | None]) -> list[Issue]:
    action, audio_id = request.action, request.audio_id
    if action == "generate":
        leave_out = Issue("audio_id", "generate makes a new song; leave audio_id out")
        return [leave_out] if audio_id else []
    if not audio_id:
        return [Issue("audio_id", f"{action} needs the audio_id of a song")]
    uploaded, wants = is_upload(audio_id), ACTIONS.get(action, ("", None))[1]
    if uploaded is None or wants is None or uploaded == wants:
        return []
    if uploaded:
        return [Issue("action", f"{audio_id} is an uploaded song: use upload_{action}")]
    other = action.removeprefix("upload_")
    return [Issue("action", f"{audio_id} is not an uploaded song: use {other}")]


def _own_issues(request: AceAudios) -> list[Issue]:
    found: list[Issue] = []
    action = request.action
    lyric = bool(request.custom and (request.lyric or "").strip())
    if action == "generate" and not (request.prompt or "").strip() and not lyric:
        found.append(Issue("prompt", "generate needs a prompt, or custom: true with a lyric"))
    if action.endswith("extend") and request.continue_at is None:
        found.append(Issue("continue_at", f"{action} needs continue_at (seconds)"))
    if action.endswith("replace_section"):
        start, end = request.replace_section_start, request.replace_section_end
        if start is None or end is None:
            found.append(Issue("replace_section_start", f"{action} needs both ends of the section"))
        elif start < 0 or end <= start:
            message = f"must be after replace_section_start ({start:g} s) and 0"
            found.append(Issue("replace_section_end", message))
    return found


def engine_body(request: AceAudios, extend_seconds: float) -> AudiosBody:
    """The engine's request for an AceData body the twin accepted."""
    action = ACTIONS[request.action][0]
    strength = request.sound_strength or DEFAULT_SOUND_STRENGTH
    sounds = [{"text": request.prompt, "strength": strength}] if request.prompt else []
    values: dict[str, Any] = {
        "action": action,
        "model": request.model or "",
        "sounds": sounds,
        "audioId": request.audio_id,
        "lyrics": request.lyric if request.custom else None,
        "title": request.title,
        "lyricsStrength": request.lyrics_strength,
        "weirdness": request.weirdness,
        "makeInstrumental": request.instrumental,
        "continueAt": request.continue_at,
        "extendDuration": extend_seconds if action == "extend_music" else None,
        "replaceStart": request.replace_section_start,
        "replaceEnd": request.replace_section_end,
        "coverStrength": request.cover_strength,
    }
    return AudiosBody.model_validate({k: v for k, v in values.items() if v is not None})
