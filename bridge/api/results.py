"""Task statuses and results, parsed tolerantly.

The service documents one shape per result but some facts are unknown (whether
`audios` answers one clip or a list). Parsers accept every plausible shape, keep
fields they do not know in `extra`, and raise UnexpectedResponse only when a field
the bridge cannot do without is missing.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from bridge.errors import UnexpectedResponse
from bridge.jobs.results import TERMINAL, AudioClip, FileLink, TaskStatus, UploadResult

log = logging.getLogger(__name__)

STEM_NAMES: Final = ("vocals", "drums", "bass", "other")
# Statuses of a task still running, as the service names them.
IN_PROGRESS: Final = frozenset({"pending", "ready", "assigned", "processing"})


def parse_status(data: Any, task_id: str) -> TaskStatus:
    """A task's status in any of the shapes the service answers."""
    data = _unwrap(data)
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise UnexpectedResponse(
            f"task status without a 'status' field: {_preview(data)}", task_id=task_id
        )
    status = data["status"].strip().lower()
    if status not in TERMINAL | IN_PROGRESS:
        log.warning("task %s: unknown status %r, polling on", task_id, status)
    known = {"taskId", "status", "result", "errorMessage", "errorCode", "traceId"}
    return TaskStatus(
        task_id=str(data.get("taskId") or task_id),
        status=status,
        result=data.get("result"),
        error_message=_opt_str(data.get("errorMessage")),
        error_code=data.get("errorCode"),
        trace_id=_opt_str(data.get("traceId")),
        created_at=_opt_str(data.get("createdAt")),
        finished_at=_opt_str(data.get("finishedAt")),
        extra={k: v for k, v in data.items() if k not in known | {"createdAt", "finishedAt"}},
    )




def parse_clips(result: Any, task_id: str) -> list[AudioClip]:
    """`audios` results: one object, a list, or a list under a wrapping key."""
    items = _as_list(_unwrap(result), ("clips", "audios", "items", "data"))
    clips = [_clip(item, task_id) for item in items]
    if not clips:
        raise UnexpectedResponse("completed task carries no audio", task_id=task_id)
    return clips


def _clip(item: Any, task_id: str) -> AudioClip:
    if not isinstance(item, dict):
        raise UnexpectedResponse(
            f"audio result is not an object: {_preview(item)}", task_id=task_id
        )
    audio_id = item.get("audioId") or item.get("id")
    if not audio_id:
        raise UnexpectedResponse(f"audio result without audioId: {_preview(item)}", task_id=task_id)
    known = {"audioId", "id", "audioUrl", "url", "duration", "title"}
    return AudioClip(
        audio_id=str(audio_id),
        audio_url=_opt_str(item.get("audioUrl") or item.get("url")),
        duration=_opt_float(item.get("duration")),
        title=_opt_str(item.get("title")),
        extra={k: v for k, v in item.items() if k not in known},
    )


def parse_upload(result: Any, task_id: str) -> UploadResult:
    data = _first_object(result, task_id, "upload")
    audio_id = data.get("id") or data.get("audioId")
    if not audio_id:
        raise UnexpectedResponse(f"upload result without id: {_preview(data)}", task_id=task_id)
    known = {"id", "audioId", "url", "lyrics", "isFlagged"}
    return UploadResult(
        audio_id=str(audio_id),
        url=_opt_str(data.get("url")),
        lyrics=_opt_str(data.get("lyrics")),
        is_flagged=bool(data["isFlagged"]) if "isFlagged" in data else None,
        extra={k: v for k, v in data.items() if k not in known},
    )


def parse_stems(result: Any, task_id: str) -> dict[str, str]:
    """The four stem URLs, by name. Extra stems the service may add are kept too."""
    data = _first_object(result, task_id, "stems")
    stems = {
        name: url for name, url in data.items() if isinstance(url, str) and _looks_like_url(url)
    }
    missing = [name for name in STEM_NAMES if name not in stems]
    if missing:
        raise UnexpectedResponse(
            f"stems result lacks {', '.join(missing)}: {_preview(data)}", task_id=task_id
        )
    return stems


def parse_file_link(result: Any, task_id: str, url_keys: tuple[str, ...]) -> FileLink:
    data = _first_object(result, task_id, "download")
    url = next((data[key] for key in url_keys if isinstance(data.get(key), str)), None)
    if not url:
        raise UnexpectedResponse(
            f"download result without a URL: {_preview(data)}", task_id=task_id
        )
    fmt = data.get("format") or data.get("preset")
    return FileLink(
        url=url,
        format=_opt_str(fmt),
        extra={k: v for k, v in data.items() if k not in {*url_keys, "format"}},
    )


def _first_object(result: Any, task_id: str, what: str) -> dict[str, Any]:
    items = _as_list(_unwrap(result), ("data", "items"))
    if not items or not isinstance(items[0], dict):
        raise UnexpectedResponse(
            f"{what} result is not an object: {_preview(result)}", task_id=task_id
        )
    first: dict[str, Any] = items[0]
    return first


def _unwrap(data: Any) -> Any:
    """Some gateways wrap every answer as {"code", "data": {...}}; look inside."""
    if (
        isinstance(data, dict)
        and set(data) <= {"code", "msg", "message", "data"}
        and "data" in data
    ):
        return data["data"]
    return data


def _as_list(data: Any, wrapping_keys: tuple[str, ...]) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in wrapping_keys:
            if isinstance(data.get(key), list):
                inner: list[Any] = data[key]
                return inner
        return [data]
    return []


def _looks_like_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _preview(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 200 else text[:200] + "..."
