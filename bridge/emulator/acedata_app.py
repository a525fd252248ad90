"""The acedata twin's routes: AceData Cloud's envelope, tasks and errors over the engine.

Every answer is `{"success", "task_id", "trace_id", "data"}`: `data` a list of songs for
`audios` (`duration` a string, as in every example), `{"audio_id", "lyric", "audio_url"}`
for `upload`, `[{"title", "file_url"}]` for `wav`, `[{"stems_url"}]` (a zip) for the
`stems` action. A call waits for its task unless it sends `async: true` or a
`callback_url`; then it answers `{"success": true, "task_id", "trace_id"}` at once (the
twin calls no callback). `POST /producer/tasks {"id", "action": "retrieve"}` answers
`{"id", "trace_id", "type", "created_at", "request", "state"}` and, once the task ended,
`finished_at`, `elapsed` and `response` (the envelope). `state` is `pending`,
`processing`, `complete` or `failed` (ProducerMCP's words); `retrieve_batch` with `ids`
answers `{"items", "count"}`. No usage API is served: the docs give none.
Faults come from the same dice as the other twins; errors have AceData's shape.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from bridge.emulator import acedata
from bridge.emulator.app import EmulatorApp, _json
from bridge.emulator.keeping import Recipe
from bridge.emulator.shapes import AudiosBody, read
from bridge.emulator.tasks import Task
from bridge.errors import RequestError

_CODES: Final = {400: "token_mismatched", 401: "invalid_token", 404: "not_found",
                 429: "too_many_requests"}  # fmt: skip
_STATES: Final = {"pending": "pending", "processing": "processing", "completed": "complete"}


def ace_error(status: int, message: str, trace_id: str = "") -> web.Response:
    code = _CODES.get(status, "api_error")
    body = {"success": False, "error": {"code": code, "message": message}, "trace_id": trace_id}
    return web.json_response(body, status=status)


class AceDataApp(EmulatorApp):
    """The engine, tasks and fault dice of the other twins behind AceData's contract."""

    uploads: set[str]

    def build(self) -> web.Application:
        self.uploads = set()
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/producer/audios", self._ace_audios)
        app.router.add_post("/producer/upload", self._ace_upload)
        app.router.add_post("/producer/wav", self._ace_wav)
        app.router.add_post("/producer/tasks", self._ace_task)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/_emulator/stats", self._stats)
        return app

    def error(self, status: int, message: str) -> web.Response:
        return ace_error(status, message)

    def _refused(self, exc: RequestError) -> web.Response:
        return ace_error(400, "; ".join(f"{i.field}: {i.message}" for i in exc.issues))

    def _is_upload(self, audio_id: str) -> bool | None:
        if audio_id in self.uploads:
            return True
        return False if audio_id in self.engine.audios else None

    def work_for(self, recipe: Recipe) -> Callable[[], Awaitable[Any]]:
        engine, base, args = self.engine, recipe.base, recipe.args
        if recipe.op == "ace-generate":
            body = AudiosBody.model_validate_json(json.dumps(args["body"]))
            return lambda: self._songs(engine.generate(base, body), body)
        if recipe.op == "ace-upload":
            return lambda: self._uploaded(engine.upload(base, args["url"]))
        if recipe.op == "ace-stems":
            return lambda: _stems(engine.stems_archive(base, args["audio_id"]))
        if recipe.op == "ace-wav":
            return lambda: _wav(engine.download(base, args["audio_id"], "wav"))
        return super().work_for(recipe)

    async def _songs(self, made: Awaitable[Any], body: AudiosBody) -> list[dict[str, Any]]:
        clips = await made
        return [_song(clip, body) for clip in (clips if isinstance(clips, list) else [clips])]

    async def _uploaded(self, made: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        found = await made
        self.uploads.add(found["id"])
        return {"audio_id": found["id"], "lyric": found["lyrics"], "audio_url": found["url"]}

    async def _ace_audios(self, request: web.Request) -> web.Response:
        given = await _json(request)
        try:
            body = acedata.audios(given, self._models, self._is_upload)
        except RequestError as exc:
            return self._refused(exc)
        if body.action == acedata.STEMS:
            args: dict[str, Any] = {"audio_id": body.audio_id}
            return await self._ace_start(request, "stems", "ace-stems", args, body.at_once,
                                         given)  # fmt: skip
        engine_body = acedata.engine_body(body, self.engine.settings.create_seconds)
        dumped = engine_body.model_dump(mode="json", by_alias=True, exclude_none=True)
        kind = engine_body.action
        return await self._ace_start(request, kind, "ace-generate", {"body": dumped},
                                     body.at_once, given)  # fmt: skip

    async def _ace_upload(self, request: web.Request) -> web.Response:
        try:
            url = read(acedata.AceUpload, await _json(request)).audio_url
        except RequestError as exc:
            return self._refused(exc)
        return await self._ace_start(request, "upload", "ace-upload", {"url": url}, False)

    async def _ace_wav(self, request: web.Request) -> web.Response:
        try:
            body = read(acedata.AceWav, await _json(request))
        except RequestError as exc:
            return self._refused(exc)
        args = {"audio_id": body.audio_id}
        return await self._ace_start(request, "download", "ace-wav", args,
                                     bool(body.run_async or body.callback_url))  # fmt: skip

    async def _ace_start(
        self,
        request: web.Request,
        kind: str,
        op: str,
        args: dict[str, Any],
        at_once: bool,
        given: Any = None,
    ) -> web.Response:
        recipe = Recipe(op=op, base=str(request.url.origin()), args={**args, "request": given})
        task = self.tasks.create(kind, self.work_for(recipe), recipe)
        if at_once:
            return web.json_response(
                {"success": True, "task_id": task.id, "trace_id": task.trace_id}
            )
        await self.tasks.ended(task)
        response = _response(task)
        return web.json_response(response, status=200 if response["success"] else 500)

    async def _ace_task(self, request: web.Request) -> web.Response:
        try:
            query = read(acedata.AceTaskQuery, await _json(request))
        except RequestError as exc:
            return self._refused(exc)
        if query.action == "retrieve_batch":
            items = [self._record(task) for i in query.ids or [] if (task := self.tasks.get(i))]
            return web.json_response({"items": items, "count": len(items)})
        task = self.tasks.get(query.id or "")
        if task is None:
            return ace_error(404, f"task {query.id} not found")
        return web.json_response(self._record(task))

    def _record(self, task: Task) -> dict[str, Any]:
        created = _epoch(task.created_at)
        recipe = self.tasks.recipe(task.id)
        record: dict[str, Any] = {
            "id": task.id,
            "trace_id": task.trace_id,
            "type": "audios",
            "created_at": created,
            "request": None if recipe is None else recipe.args.get("request"),
            "state": _STATES.get(task.status, "failed"),
        }
        if task.finished_at is not None:
            finished = _epoch(task.finished_at)
            record |= {"finished_at": finished, "elapsed": round(finished - created, 3)}
            record["response"] = _response(task)
        return record


def _response(task: Task) -> dict[str, Any]:
    if task.status == "completed":
        return {"success": True, "task_id": task.id, "trace_id": task.trace_id,
                "data": task.result}  # fmt: skip
    code = "api_error" if task.status == "failed" else task.status
    message = task.error_message or task.status
    return {"success": False, "task_id": task.id, "trace_id": task.trace_id,
            "error": {"code": code, "message": message}}  # fmt: skip


def _song(clip: dict[str, Any], body: AudiosBody) -> dict[str, Any]:
    return {
        "id": clip["audioId"],
        "title": clip["title"],
        "image_url": None,
        "lyric": body.lyrics or "[Instrumental]",
        "audio_url": clip["audioUrl"],
        "video_url": None,
        "sound": body.prompts[0].text if body.prompts else "",
        "model": body.model,
        "progress": "100%",
        "state": "succeeded",
        "duration": str(clip["duration"]),
    }


async def _stems(made: Awaitable[str]) -> list[dict[str, Any]]:
    url = await made
    return [{"title": "", "lyric": "", "stems_url": url, "model": "", "progress": "100%",
             "state": "succeeded"}]  # fmt: skip


async def _wav(made: Awaitable[dict[str, str]]) -> list[dict[str, Any]]:
    found = await made
    return [{"title": "", "file_url": found["url"]}]


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
