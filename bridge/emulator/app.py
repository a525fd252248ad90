"""The emulator's HTTP routes: the Producer contract as PRODUCER_API.md documents it.

`provider` picks the twin: "mountsea-fuzz" reads `audios` bodies by `contract` (the seed's
seven actions), "mountsea-lyria" by `lyria` (2.0.0: create_music with "Lyria 3 Pro").
The Usage & Credits API (`usage`) is served on the same port under /api-user/.
Every POST answers 201 {"taskId"}; status by GET or POST /producer/tasks. A body the
contract (`contract`) refuses is HTTP 400 {statusCode, message, error, field, issues}:
`field` and `message` are its first problem, `issues` every one. Faults are injected in a middleware
before the route runs (429, 5xx, dropped connection) and latency after it, so a
slow answer still creates its task, as a slow real service would.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bridge.emulator import contract, lyria
from bridge.emulator.engine import Engine
from bridge.emulator.faults import FaultDice
from bridge.emulator.keeping import Recipe
from bridge.emulator.shapes import AudiosBody
from bridge.emulator.tasks import Task, TaskStore
from bridge.emulator.usage import Wallet
from bridge.errors import RequestError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def error(status: int, message: str, field: str | None = None, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"statusCode": status, "message": message}
    body["error"] = _REASONS.get(status, "Error")
    if field is not None:
        body["field"] = field
    return web.json_response({**body, **extra}, status=status)


def refusal(exc: RequestError) -> web.Response:
    """HTTP 400 naming the first problem, with every problem under `issues`."""
    first = exc.issues[0]
    issues = [{"field": issue.field, "message": issue.message} for issue in exc.issues]
    return error(400, first.message, first.field, issues=issues)


class EmulatorApp:
    def __init__(
        self,
        engine: Engine,
        tasks: TaskStore,
        dice: FaultDice,
        token: str,
        known_models: tuple[str, ...],
        *,
        provider: str = "mountsea-fuzz",
        wallet: Wallet | None = None,
    ) -> None:
        self.engine = engine
        self.tasks = tasks
        self.dice = dice
        self._token = token
        self._models = known_models
        self.provider = provider
        self.wallet = wallet or Wallet(0)
        self.requests: Counter[str] = Counter()
        self.keys_on_files = 0

    def error(self, status: int, message: str) -> web.Response:
        """An error answer in the twin's own shape (the acedata twin has another)."""
        return error(status, message)

    def task_ended(self, task: Task) -> None:
        """A task that did not complete is refunded (other resellers document it)."""
        if task.status != "completed":
            self.wallet.refund(
                task.id, task.trace_id, "stems" if task.kind == "stems" else "audios"
            )

    def build(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/producer/audios", self._audios)
        app.router.add_post("/producer/upload", self._upload)
        app.router.add_post("/producer/stems", self._stems)
        app.router.add_post("/producer/download", self._download)
        app.router.add_post("/producer/download-video", self._video)
        app.router.add_get("/producer/tasks", self._task)
        app.router.add_post("/producer/tasks", self._task)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/api-user/credits", self._credits)
        app.router.add_post("/api-user/points/search", self._points)
        app.router.add_get("/_emulator/stats", self._stats)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        endpoint = _endpoint(request.path)
        if endpoint is None:
            return await handler(request)
        self.requests[endpoint] += 1
        if endpoint.startswith("api-user/"):
            if not self._key_given(request):
                return self.error(401, "missing or invalid key in the X-API-Key header")
            return await handler(request)
        if endpoint != "files" and not self._authorised(request):
            return self.error(401, "missing or invalid Bearer token in the Authorization header")
        fault = self.dice.http_fault(endpoint)
        if fault == "drop":
            await request.read()
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("emulator: injected dropped connection")
        if fault == "429":
            limited = self.error(429, "rate limited (injected)")
            limited.headers["Retry-After"] = f"{self.dice.settings.retry_after:g}"
            return limited
        if fault == "5xx":
            return self.error(self.dice.server_error_code(), "injected server error")
        response = await handler(request)
        if self.dice.settings.latency > 0:
            await asyncio.sleep(self.dice.settings.latency)
        return response

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # The scheme name is case-insensitive (RFC 9110); the token is not.
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self._token.encode()
        )

    def _key_given(self, request: web.Request) -> bool:
        given = request.headers.get("X-API-Key") or request.query.get("key") or ""
        return hmac.compare_digest(given.strip().encode(), self._token.encode())

    def _start(
        self, request: web.Request, kind: str, op: str, args: dict[str, Any]
    ) -> web.Response:
        endpoint = _endpoint(request.path) or ""
        if not self.wallet.can_pay(endpoint):
            price = self.wallet.price(endpoint)
            return error(402, f"not enough credits: {endpoint} costs {price}")
        recipe = Recipe(op=op, base=str(request.url.origin()), args=args)
        task = self.tasks.create(kind, self.work_for(recipe), recipe)
        self.wallet.charge(endpoint, task.id, task.trace_id)
        return web.json_response({"taskId": task.id}, status=201)

    def work_for(self, recipe: Recipe) -> Callable[[], Awaitable[Any]]:
        """What a task does, from the request that started it (now, or in an earlier run)."""
        engine, base, args = self.engine, recipe.base, recipe.args
        if recipe.op == "generate":
            body = AudiosBody.model_validate_json(json.dumps(args["body"]))
            return lambda: engine.generate(base, body)
        if recipe.op == "upload":
            return lambda: engine.upload(base, args["url"])
        if recipe.op == "stems":
            return lambda: engine.stems(base, args["audioId"])
        if recipe.op == "download":
            return lambda: engine.download(base, args["audioId"], args["format"])
        return lambda: engine.video(base, args["audioId"], args["preset"])

    def _audios_body(self, given: object) -> AudiosBody:
        if self.provider == "mountsea-lyria":
            return lyria.audios(given)
        return contract.audios(given, self._models)

    async def _audios(self, request: web.Request) -> web.Response:
        try:
            body = self._audios_body(await _json(request))
        except RequestError as exc:
            return refusal(exc)
        dumped = body.model_dump(mode="json", by_alias=True, exclude_none=True)
        return self._start(request, body.action, "generate", {"body": dumped})

    async def _upload(self, request: web.Request) -> web.Response:
        try:
            url = contract.upload(await _json(request)).audio_url
        except RequestError as exc:
            return refusal(exc)
        return self._start(request, "upload", "upload", {"url": url})

    async def _stems(self, request: web.Request) -> web.Response:
        try:
            audio_id = contract.stems(await _json(request)).audio_id
        except RequestError as exc:
            return refusal(exc)
        return self._start(request, "stems", "stems", {"audioId": audio_id})

    async def _download(self, request: web.Request) -> web.Response:
        try:
            body = contract.download(await _json(request))
        except RequestError as exc:
            return refusal(exc)
        args = {"audioId": body.audio_id, "format": body.chosen}
        return self._start(request, "download", "download", args)

    async def _video(self, request: web.Request) -> web.Response:
        try:
            body = contract.video(await _json(request))
        except RequestError as exc:
            return refusal(exc)
        args = {"audioId": body.audio_id, "preset": body.chosen}
        return self._start(request, "download-video", "video", args)

    async def _task(self, request: web.Request) -> web.Response:
        given = await _json(request) if request.method == "POST" else dict(request.query)
        try:
            task_id = contract.task_id(given)
        except RequestError as exc:
            return refusal(exc)
        task = self.tasks.get(task_id)
        if task is None:
            return error(404, f"task {task_id} not found")
        return web.json_response(task.to_json())

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if "Authorization" in request.headers:
            self.keys_on_files += 1
        if self.engine.link_expired(request.query.get("exp")):
            return error(403, "this link has expired; ask /producer/download for a new one")
        found = await self.engine.files.get(request.match_info["name"])
        if found is None:
            return error(404, "no such file")
        data, content_type = found
        if not self.dice.truncate():
            return web.Response(body=data, content_type=content_type)
        response = web.StreamResponse(headers={"Content-Length": str(len(data))})
        response.content_type = content_type
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        if request.transport is not None:
            request.transport.close()
        return response

    async def _credits(self, request: web.Request) -> web.Response:
        return web.json_response({"credits": self.wallet.balance})

    async def _points(self, request: web.Request) -> web.Response:
        return web.json_response(self.wallet.search(await _json(request)))

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    def stats(self) -> dict[str, Any]:
        return {
            "tasks_created": dict(self.tasks.created),
            "requests": dict(self.requests),
            "faults": dict(self.dice.counts),
            "keys_on_files": self.keys_on_files,
            "provider": self.provider,
            "credits": self.wallet.balance,
        }


def _endpoint(path: str) -> str | None:
    if path.startswith("/producer/"):
        return path.removeprefix("/producer/")
    if path.startswith("/files/"):
        return "files"
    if path.startswith("/api-user/"):
        return path.removeprefix("/")
    return None


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"statusCode":400,"message":"the body must be JSON","error":"Bad Request"}',
            content_type="application/json",
        ) from None
