"""The Producer API client: every endpoint, retries, and error translation.

Requests are sorted into two kinds. Safe ones (status, download links, file
fetches) are repeated on 429, 5xx, connection errors and timeouts. Creating ones
(every POST that starts a task, and may be billed) are repeated only when the
service certainly did not act on them: the connection was never made, or the
service answered 429. A create that was sent but got no answer raises
SubmitUncertainError so the caller decides.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random as _random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bridge.api.contract import DOWNLOAD_FORMATS, Contract
from bridge.api.download import fetch_file
from bridge.api.learned import Learned, refused_kind, service_words
from bridge.api.polling import Clock, PollPlan, Sleep, StatusCallback, poll
from bridge.api.providers import MOUNTSEA_PROVIDER, Provider
from bridge.api.retry import Retryable, RetryPolicy, parse_retry_after, with_retries
from bridge.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConnectionFailed,
    NotFoundError,
    RateLimitedError,
    ServerError,
    SubmitUncertainError,
    TaskFailedError,
    UnexpectedResponse,
    register_secret,
)
from bridge.jobs.request import AudioRequest
from bridge.jobs.results import AudioClip, FileLink, TaskStatus, UploadResult
from bridge.jobs.rules import check_choice

log = logging.getLogger(__name__)

# httpx errors raised before any byte of the request left this machine.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ProducerClient:
    """Async client for the Producer API. The httpx client is passed in (see `http.py`)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        retry: RetryPolicy | None = None,
        poll_plan: PollPlan | None = None,
        provider: Provider = MOUNTSEA_PROVIDER,
        learned: Learned | None = None,
        now: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] = _random.random,
    ) -> None:
        register_secret(api_key)
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = provider.auth_headers(api_key)
        self.retry = retry or RetryPolicy()
        self.poll_plan = poll_plan or provider.polling
        self.provider = provider
        self.learned = learned  # where what the service accepts and refuses is kept
        # What every model shares (upload, stems, download, tasks); `audios` follows the model.
        self.contract: Contract = provider.common
        self._now = now
        self._sleep = sleep
        self._random = random
        self._lookup = 0  # which of the contract's status lookups the service takes
        self._finished: dict[str, TaskStatus] = {}  # creates that answered their result

    @property
    def base_url(self) -> str:
        return self._base

    # Endpoints that create tasks -------------------------------------------------

    async def create_audio(
        self,
        request: AudioRequest,
        contract: str | None = None,
        provider: str | None = None,
        *,
        uploaded: bool = False,
    ) -> str:
        """Start an `audios` task in the contract a journaled job was judged for (or the one
        its model speaks); `uploaded`: its audioId is an upload's, not a generated clip's.
        Validate the request first (`jobs.rules`, `jobs.offers`)."""
        chosen = self.provider.judged(provider, contract, request.model)
        try:
            task_id = await self._create("audios", chosen.audio_body(request, uploaded=uploaded))
        except BadRequestError as exc:
            self._learn(request, exc)
            raise
        self._learn(request, None)
        return task_id

    def _learn(self, request: AudioRequest, refusal: BadRequestError | None) -> None:
        """Keep what the service said of this action with this model (`api.learned`)."""
        if self.learned is None:
            return
        kind = None if refusal is None else refused_kind(refusal, request.action, request.model)
        if refusal is not None and kind is None:
            return  # a value was refused, not the action or the model
        words = "" if refusal is None else service_words(refusal)
        where = (self.provider.name, self._base)
        self.learned.remember(*where, request.action, request.model, kind, words)

    async def upload(self, audio_url: str) -> str:
        return await self._create(*self.contract.upload_request(audio_url))

    async def stems(self, audio_id: str) -> str:
        return await self._create(*self.contract.stems_request(audio_id))

    async def download(self, audio_id: str, fmt: str = "wav") -> str:
        check_choice("format", fmt, DOWNLOAD_FORMATS)
        return await self._create(*self.contract.download_request(audio_id, fmt))

    # Status and waiting -----------------------------------------------------------

    async def task(self, task_id: str) -> TaskStatus:
        """One status look-up, the contract's way; a lookup refused with 404/405 gives way
        to the next one, which is kept for later look-ups once it has answered."""
        done = self._finished.get(task_id)
        if done is not None:
            return done
        lookups = self.contract.lookups(task_id)
        index = min(self._lookup, len(lookups) - 1)
        while True:
            lookup = lookups[index]
            try:
                data = await self._safe(
                    lookup.method,
                    "tasks",
                    body=lookup.body,
                    params=lookup.params or None,
                    task_id=task_id,
                )
            except ApiError as exc:
                if exc.status_code not in (404, 405) or index >= len(lookups) - 1:
                    raise
                log.info("%s /producer/tasks answered %s; trying the next way", lookup.method,
                         exc.status_code)  # fmt: skip
                index += 1
                continue
            self._lookup = index
            return self.contract.task_status(data, task_id)

    async def wait(self, task_id: str, on_status: StatusCallback | None = None) -> TaskStatus:
        """Poll until the task ends; raise TaskFailedError unless it completed."""
        status = await poll(
            lambda: self.task(task_id),
            self.poll_plan,
            task_id=task_id,
            now=self._now,
            sleep=self._sleep,
            on_status=on_status,
        )
        if status.status != "completed":
            raise TaskFailedError(
                status.error_message or "the service gave no reason",
                status=status.status,
                error_code=status.error_code,
                task_id=task_id,
                trace_id=status.trace_id,
            )
        return status

    async def wait_clips(
        self, task_id: str, on_status: StatusCallback | None = None
    ) -> list[AudioClip]:
        return self.contract.clips((await self.wait(task_id, on_status)).result, task_id)

    async def wait_upload(
        self, task_id: str, on_status: StatusCallback | None = None
    ) -> UploadResult:
        return self.contract.upload((await self.wait(task_id, on_status)).result, task_id)

    async def wait_stems(
        self, task_id: str, on_status: StatusCallback | None = None
    ) -> dict[str, str]:
        return self.contract.stems((await self.wait(task_id, on_status)).result, task_id)

    async def wait_download(
        self, task_id: str, on_status: StatusCallback | None = None
    ) -> FileLink:
        result = (await self.wait(task_id, on_status)).result
        return self.contract.file_link(result, task_id)

    async def fetch(
        self, url: str, dest: Path, on_bytes: Callable[[int, int | None], None] | None = None
    ) -> int:
        """Stream a result file to `dest` (never sends the API key to file hosts)."""
        return await fetch_file(
            self._http,
            url,
            dest,
            retry=self.retry,
            sleep=self._sleep,
            random=self._random,
            now=self._now,
            on_bytes=on_bytes,
        )

    # Transport --------------------------------------------------------------------

    async def _create(self, endpoint: str, body: dict[str, Any]) -> str:
        data = await self._send(
            "POST", endpoint, body=body, params=None, task_id=None, creates=True
        )
        task_id = self.contract.task_id(data)
        if task_id is None:
            raise UnexpectedResponse(f"no taskId in the answer: {data!r:.200}", endpoint=endpoint)
        log.info("POST /producer/%s -> task %s", endpoint, task_id)
        done = self.contract.finished(data, task_id)
        if done is not None:
            self._finished[task_id] = done
        return task_id

    async def _safe(
        self,
        method: str,
        endpoint: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        task_id: str | None,
    ) -> Any:
        return await self._send(
            method, endpoint, body=body, params=params, task_id=task_id, creates=False
        )

    async def _send(
        self,
        method: str,
        endpoint: str,
        *,
        body: dict[str, Any] | None,
        params: dict[str, str] | None,
        task_id: str | None,
        creates: bool,
    ) -> Any:
        url = _url(self._base, endpoint, tuple(params.items()) if params else ())
        return await with_retries(
            lambda: self._attempt(method, url, endpoint, body, task_id, creates),
            self.retry,
            what=f"{method} /producer/{endpoint}",
            sleep=self._sleep,
            random=self._random,
            now=self._now,
            gave_up=self._gave_up,
        )

    def _gave_up(self, again: Retryable, attempts: int) -> Exception:
        if not again.rate_limited:
            return again.error
        message = (
            f"the service kept answering 429 (rate limited) for {self.retry.patience:g} s, "
            f"{attempts} attempts; the job can be retried later"
        )
        return RateLimitedError(message, **_ids_of(again.error))

    async def _attempt(
        self,
        method: str,
        url: httpx.URL,
        endpoint: str,
        body: dict[str, Any] | None,
        task_id: str | None,
        creates: bool,
    ) -> Any:
        ids: dict[str, Any] = {"endpoint": endpoint, "task_id": task_id}
        try:
            response = await self._http.request(method, url, json=body, headers=self._auth)
        except _NEVER_SENT as exc:
            error = ConnectionFailed(f"cannot reach {self._base}: {_describe(exc)}", **ids)
            raise Retryable(error) from exc
        except httpx.WriteError as exc:
            # The request's bytes could not all be written (a kept-alive connection the
            # service had closed): no service acts on half a request, so even a create
            # is repeated.
            error = ConnectionFailed(
                f"the connection to {self._base} closed before the request was written: "
                f"{_describe(exc)}",
                **ids,
            )
            raise Retryable(error) from exc
        except httpx.TransportError as exc:
            if creates:
                raise SubmitUncertainError(
                    f"{method} /producer/{endpoint} was sent but no answer came "
                    f"({_describe(exc)}); the task may "
                    "exist and repeating it may pay twice, so it was not repeated",
                    **ids,
                ) from exc
            error = ConnectionFailed(f"no answer from {self._base}: {_describe(exc)}", **ids)
            raise Retryable(error) from exc
        return _interpret(response, endpoint, task_id, creates, self.provider.name)


@functools.lru_cache(maxsize=256)
def _url(base: str, endpoint: str, params: tuple[tuple[str, str], ...]) -> httpx.URL:
    """An endpoint's URL, parsed once for all the polls of a task (httpx parses URLs in
    Python: about a quarter of a poll's CPU when done for every request)."""
    return httpx.URL(f"{base}/producer/{endpoint}", params=params or None)


def _interpret(
    response: httpx.Response, endpoint: str, task_id: str | None, creates: bool, provider: str
) -> Any:
    code = response.status_code
    if 200 <= code < 300:
        try:
            return response.json()
        except ValueError as exc:
            raise UnexpectedResponse(
                f"answer is not JSON: {response.text[:200]!r}",
                status_code=code,
                endpoint=endpoint,
                task_id=task_id,
            ) from exc
    detail, trace_id = _error_detail(response)
    ids: dict[str, Any] = {
        "status_code": code,
        "endpoint": endpoint,
        "task_id": task_id,
        "trace_id": trace_id,
    }
    if code == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        limited = RateLimitedError(f"rate limited: {detail}", **ids)
        raise Retryable(limited, retry_after, rate_limited=True)
    if code >= 500:
        error = ServerError(f"service error: {detail}", **ids)
        if creates:
            raise error
        raise Retryable(error, parse_retry_after(response.headers.get("Retry-After")))
    if code in (401, 403):
        raise AuthError(
            f"the API key was refused ({detail}); check {provider}'s key: "
            f"PRODUCER_API_KEY_{provider.upper()} or api.providers.{provider}.key, or, "
            f"when {provider} is api.provider, PRODUCER_API_KEY or api.key",
            **ids,
        )
    if code == 404:
        raise NotFoundError(f"not found: {detail}", **ids)
    if code in (400, 422):
        raise BadRequestError(f"the service refused the request: {detail}", **ids)
    raise ApiError(f"unexpected HTTP {code}: {detail}", **ids)


def _error_detail(response: httpx.Response) -> tuple[str, str | None]:
    """The service's own words from an error body, which may or may not be JSON."""
    try:
        data = response.json()
    except ValueError:
        return (response.text.strip()[:200] or response.reason_phrase), None
    if not isinstance(data, dict):
        return repr(data)[:200], None
    error = data.get("error")
    if isinstance(error, dict):  # {"success": false, "error": {"code", "message"}} (AceData)
        error = ": ".join(str(error[key]) for key in ("code", "message") if error.get(key))
    message = data.get("message") or data.get("errorMessage") or error or repr(data)[:200]
    if isinstance(message, list):
        message = "; ".join(str(part) for part in message)
    where = data.get("field")
    trace = data.get("traceId") or data.get("trace_id")
    text = f"{where}: {message}" if where else str(message)
    return text, str(trace) if trace else None


def _ids_of(error: Exception) -> dict[str, Any]:
    if not isinstance(error, ApiError):
        return {}
    names = ("status_code", "endpoint", "task_id", "trace_id")
    return {name: getattr(error, name, None) for name in names}


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
