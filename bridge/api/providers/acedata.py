"""AceData Cloud, a second reseller of the FUZZ service: one contract, every action.

Read from its public `producer/docs/` (audios, tasks, upload, wav) and PRODUCER_API.md,
section 3. Bodies are snake_case; `POST /producer/audios` takes `action` (`generate`,
`extend`/`upload_extend`, `replace_section`, `cover`/`upload_cover`, `swap_vocals`,
`swap_instrumentals`, `variation`, `stems`), `prompt` (inspiration mode) or `custom: true`
with `lyric` and `title`, and `async: true` to answer at once with `task_id`. Every answer
is `{"success", "task_id", "trace_id", "data"}`; an error is `{"success": false, "error":
{"code", "message"}, "trace_id"}`. A task is asked with `POST /producer/tasks {"id",
"action": "retrieve"}` and answers `{"id", "state", "response": <the envelope>}`.

Where its pages are silent or disagree, the bridge picks (and the README says so):
- uploads are sent without `async` (the upload page shows a synchronous answer with the
  `audio_id` in `data`); that answer is the finished task, so it is not polled;
- a task has finished when its `response` is there: `success: true` is completed unless
  `state` says it is still running (a running task's `audio_url`s are previews), and
  `success: false` or `state: "failed"` is failed;
- a replaced section of an uploaded clip is sent as `upload_replace_section`, as the
  paragraph on replacing a section of "a song you uploaded yourself" says, though the
  list of actions does not name it; swaps and variation have no `upload_` variant and
  are sent under their own names whatever the song;
- in custom mode the style prompt still travels as `prompt` (no other field is named);
- stems come as one zip (`stems_url`) of "vocal and instrumental separation": its members
  are read as `vocals` and `instrumental` (`api.download`, a `#member` on the link);
- its only download endpoint is `/producer/wav`: every result is fetched as WAV.
"""

from __future__ import annotations

import logging
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bridge.api.contract import Lookup
from bridge.config.connections import ACEDATA_API_URL
from bridge.errors import UnexpectedResponse
from bridge.jobs.offers import ACEDATA_SHAPE
from bridge.jobs.request import AudioRequest
from bridge.jobs.results import AudioClip, FileLink, TaskStatus, UploadResult

log = logging.getLogger(__name__)

BASE_URL: Final = ACEDATA_API_URL
# The core's actions, as AceData names them: (on a generated clip, on an uploaded one).
ACTIONS: Final = {
    "create_music": ("generate", "generate"),
    "extend_music": ("extend", "upload_extend"),
    "replace_music": ("replace_section", "upload_replace_section"),
    "cover_music": ("cover", "upload_cover"),
    "swap_music_vocals": ("swap_vocals", "swap_vocals"),
    "swap_music_sound": ("swap_instrumentals", "swap_instrumentals"),
    "music_variation": ("variation", "variation"),
}
# Core field -> AceData field, for the fields that travel under another name.
FIELDS: Final = {
    "audio_id": "audio_id",
    "lyrics_strength": "lyrics_strength",
    "weirdness": "weirdness",
    "make_instrumental": "instrumental",
    "continue_at": "continue_at",
    "replace_start": "replace_section_start",
    "replace_end": "replace_section_end",
    "cover_strength": "cover_strength",
}
STEMS: Final = ("vocals", "instrumental")
M = TypeVar("M", bound=BaseModel)
RUNNING: Final = frozenset({"pending", "processing", "running", "queued"})


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Envelope(_Answer):
    success: bool | None = None
    task_id: str | None = None
    trace_id: str | None = None
    data: Any = None
    error: dict[str, Any] | None = None


class TaskRecord(_Answer):
    id: str | None = None
    state: str | None = None
    trace_id: str | None = None
    created_at: float | str | None = None
    finished_at: float | str | None = None
    response: Envelope | None = None


class Clip(_Answer):
    id: str
    title: str | None = None
    audio_url: str | None = None
    duration: float | str | None = None  # a string in every example ("181.3014058956916")
    state: str | None = None


class Uploaded(_Answer):
    audio_id: str
    audio_url: str | None = None
    lyric: str | None = None


class AceDataContract:
    name = ACEDATA_SHAPE.name
    shape = ACEDATA_SHAPE

    def task_id(self, answer: Any) -> str | None:
        found = answer.get("task_id") if isinstance(answer, dict) else None
        return found if isinstance(found, str) and found else None

    def lookups(self, task_id: str) -> tuple[Lookup, ...]:
        return (Lookup("POST", body={"id": task_id, "action": "retrieve"}),)

    def audio_body(self, request: AudioRequest, *, uploaded: bool = False) -> dict[str, Any]:
        # Intake has refused what this body cannot carry (jobs.offers: ACEDATA_SHAPE).
        action = ACTIONS[request.action][1 if uploaded else 0]
        body: dict[str, Any] = {"action": action, "model": request.model, "async": True}
        if request.sounds:
            body["prompt"] = request.sounds[0].text
            body["sound_strength"] = request.sounds[0].strength
        if request.lyrics is not None or request.title is not None:
            body["custom"] = True
            body.update(
                {k: v for k, v in (("lyric", request.lyrics), ("title", request.title)) if v}
            )
        for name, wire in FIELDS.items():
            if (value := getattr(request, name)) is not None:
                body[wire] = value
        return body

    def upload_request(self, audio_url: str) -> tuple[str, dict[str, Any]]:
        return "upload", {"audio_url": audio_url}

    def stems_request(self, audio_id: str) -> tuple[str, dict[str, Any]]:
        return "audios", {"action": "stems", "audio_id": audio_id, "async": True}

    def download_request(self, audio_id: str, fmt: str) -> tuple[str, dict[str, Any]]:
        if fmt != "wav":
            log.info("acedata downloads WAV only; fetching %s as WAV", audio_id)
        return "wav", {"audio_id": audio_id, "async": True}

    def finished(self, answer: Any, task_id: str) -> TaskStatus | None:
        """A synchronous answer (an upload) carries its result in `data`."""
        envelope = _read(Envelope, answer, task_id, "answer")
        if envelope.success is not True or envelope.data is None:
            return None
        return TaskStatus(task_id, "completed", result=answer, trace_id=envelope.trace_id)

    def task_status(self, data: Any, task_id: str) -> TaskStatus:
        record = _read(TaskRecord, data, task_id, "task")
        response, state = record.response, (record.state or "").strip().lower()
        error = (response.error if response else None) or {}
        if state == "failed" or (response is not None and response.success is False):
            status = "failed"
        elif response is not None and response.success and state not in RUNNING:
            status = "completed"
        else:
            status = state if state in RUNNING else "processing"
        return TaskStatus(
            task_id=record.id or task_id,
            status=status,
            result=response.model_dump() if response is not None else None,
            error_message=_opt(error.get("message")),
            error_code=_opt(error.get("code")),
            trace_id=record.trace_id or (response.trace_id if response else None),
            created_at=_opt(record.created_at),
            finished_at=_opt(record.finished_at),
        )

    def clips(self, result: Any, task_id: str) -> list[AudioClip]:
        items = _data_list(result, task_id)
        clips = [_clip(_read(Clip, item, task_id, "audio"), item) for item in items]
        if not clips:
            raise UnexpectedResponse("completed task carries no audio", task_id=task_id)
        return clips

    def upload(self, result: Any, task_id: str) -> UploadResult:
        data = _read(Envelope, result, task_id, "upload").data
        if isinstance(data, list) and data:
            data = data[0]
        found = _read(Uploaded, data, task_id, "upload")
        return UploadResult(found.audio_id, found.audio_url, found.lyric, is_flagged=None)

    def stems(self, result: Any, task_id: str) -> dict[str, str]:
        first = _data_list(result, task_id)[0]
        url = first.get("stems_url") if isinstance(first, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UnexpectedResponse(f"stems result without stems_url: {first!r:.200}",
                                     task_id=task_id)  # fmt: skip
        return {name: f"{url}#{name}" for name in STEMS}

    def file_link(self, result: Any, task_id: str) -> FileLink:
        first = _data_list(result, task_id)[0]
        url = first.get("file_url") if isinstance(first, dict) else None
        if not isinstance(url, str) or not url:
            raise UnexpectedResponse(f"wav result without file_url: {first!r:.200}",
                                     task_id=task_id)  # fmt: skip
        return FileLink(url=url, format="wav")


def _clip(clip: Clip, item: Any) -> AudioClip:
    try:
        duration = None if clip.duration is None else float(clip.duration)
    except ValueError:
        duration = None
    known = {"id", "title", "audio_url", "duration"}
    extra = {k: v for k, v in item.items() if k not in known}
    return AudioClip(clip.id, clip.audio_url, duration, clip.title, extra)


def _data_list(result: Any, task_id: str) -> list[Any]:
    data = _read(Envelope, result, task_id, "result").data
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    if not items:
        raise UnexpectedResponse(f"a result without data: {result!r:.200}", task_id=task_id)
    return items


def _read(model: type[M], data: Any, task_id: str, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UnexpectedResponse(
            f"{what} the bridge cannot read: {data!r:.200}", task_id=task_id
        ) from exc


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


ACEDATA_CONTRACT: Final = AceDataContract()
