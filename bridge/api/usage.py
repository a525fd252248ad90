"""The provider's Usage & Credits API: the balance, and the credit changes in a time range.

PRODUCER_API.md, section 2: `GET /api-user/credits` -> `{"credits": n}`; `POST
/api-user/points/search` with `{"dateRange": {"start": ms, "end": ms}, "page", "limit"}`
-> credit changes with the amount moved. The key goes in `X-API-Key`, not as a Bearer.
The shape of a credit change is not published: records are looked for under `records`,
`list`, `items` or `data`, and an amount under `amount`, `points` or `credits`; a record
names its task by `taskId` or `traceId` when it does. Every failure is an ApiError, which
callers turn into a warning: the balance is never a reason to fail a job.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from bridge.errors import AuthError, ConnectionFailed, UnexpectedResponse, register_secret

log = logging.getLogger(__name__)

PAGE: Final = 100
MAX_PAGES: Final = 20


class CreditsAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    credits: float = Field(allow_inf_nan=False)


class CreditChange(BaseModel):
    """One credit change; every field may be missing (its shape is not published)."""

    model_config = ConfigDict(extra="ignore")

    amount: float | None = Field(
        None, validation_alias=AliasChoices("amount", "points", "credits"), allow_inf_nan=False
    )
    task_id: str | None = Field(None, validation_alias=AliasChoices("taskId", "task_id"))
    trace_id: str | None = Field(None, validation_alias=AliasChoices("traceId", "trace_id"))
    kind: str | None = Field(None, validation_alias=AliasChoices("type", "kind"))


class UsageClient:
    """The usage API of one provider, with the key it is asked with."""

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, headers: dict[str, str]) -> None:
        for value in headers.values():
            register_secret(value)
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = headers

    async def credits(self) -> float:
        data = await self._ask("GET", "credits", None)
        try:
            return CreditsAnswer.model_validate(data).credits
        except ValidationError as exc:
            raise UnexpectedResponse(f"no credits in {str(data)[:200]!r}") from exc

    async def changes(self, start_ms: int, end_ms: int) -> list[CreditChange]:
        """Every credit change between the two times (ms since the epoch)."""
        found: list[CreditChange] = []
        for page in range(1, MAX_PAGES + 1):
            body = {"dateRange": {"start": start_ms, "end": end_ms}, "page": page, "limit": PAGE}
            records = _records(await self._ask("POST", "points/search", body))
            found += [_change(record) for record in records]
            if len(records) < PAGE:
                break
        return found

    async def _ask(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        url = f"{self._base}/api-user/{path}"
        try:
            response = await self._http.request(method, url, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"the usage API at {self._base} did not answer: {exc}") from exc
        if response.status_code in (401, 403):
            raise AuthError(
                f"the usage API at {self._base} refused the key (HTTP {response.status_code})",
                status_code=response.status_code,
            )
        if response.status_code >= 300:
            raise UnexpectedResponse(
                f"the usage API answered HTTP {response.status_code} to {path}",
                status_code=response.status_code,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise UnexpectedResponse(f"the usage API's answer to {path} is not JSON") from exc


def _records(data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        return []
    for name in ("records", "list", "items", "data"):
        value = data.get(name)
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            return _records(value)
    return []


def _change(record: Any) -> CreditChange:
    try:
        return CreditChange.model_validate(record)
    except ValidationError:
        log.info("a credit change the bridge cannot read: %.200r", record)
        return CreditChange.model_validate({})
