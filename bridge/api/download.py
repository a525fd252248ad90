"""Streaming a result file to disk: constant memory, a temporary name, whole or nothing.

The file is written under a hidden temporary name in the destination folder,
checked against Content-Length, flushed to disk, then renamed. A file that is
already at the destination is never replaced. File hosts get no API key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx

from bridge.api.polling import Sleep
from bridge.api.retry import RetryPolicy, parse_retry_after
from bridge.errors import DownloadError
from bridge.files import publish

log = logging.getLogger(__name__)

CHUNK = 1 << 16
ProgressFn = Callable[[int, int | None], None]


class _Incomplete(Exception):
    """One attempt failed in a way that another attempt may fix."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


async def fetch_file(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    retry: RetryPolicy,
    sleep: Sleep,
    random: Callable[[], float],
    on_bytes: ProgressFn | None = None,
) -> int:
    """Download `url` to `dest`; return the number of bytes written."""
    part = _prepare(dest)
    attempt = 0
    try:
        while True:
            attempt += 1
            try:
                size = await _stream_once(http, url, part, on_bytes)
                break
            except _Incomplete as exc:
                if retry.gives_up_after(attempt):
                    raise DownloadError(
                        f"download of {_short(url)} failed after {attempt} attempts: {exc}"
                    ) from exc
                delay = retry.delay(attempt, random, exc.retry_after)
                log.warning("download %s: %s; again in %.1f s", _short(url), exc, delay)
                await sleep(delay)
        try:
            publish(part, dest)
        except FileExistsError as exc:
            # `_prepare` found the name free: whatever is there came during the download.
            raise DownloadError(
                f"{dest} appeared while downloading; it is never overwritten"
            ) from exc
        return size
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


async def _stream_once(
    http: httpx.AsyncClient, url: str, part: Path, on_bytes: ProgressFn | None
) -> int:
    try:
        async with http.stream("GET", url) as response:
            _check_status(response, url)
            expected = _content_length(response)
            with part.open("wb") as out:
                async for chunk in response.aiter_raw(CHUNK):
                    out.write(chunk)
                    if on_bytes is not None:
                        on_bytes(response.num_bytes_downloaded, expected)
                out.flush()
                os.fsync(out.fileno())
            received = response.num_bytes_downloaded
    except httpx.TransportError as exc:
        raise _Incomplete(f"{type(exc).__name__}: {exc}") from exc
    if expected is not None and received != expected:
        raise _Incomplete(f"got {received} of {expected} bytes")
    return received


def _prepare(dest: Path) -> Path:
    """Check the destination is free and return the temporary name beside it."""
    if dest.exists():
        raise DownloadError(f"{dest} already exists; it is never overwritten")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")


def _check_status(response: httpx.Response, url: str) -> None:
    code = response.status_code
    if code == 200:
        return
    if code == 429 or code >= 500:
        raise _Incomplete(f"HTTP {code}", parse_retry_after(response.headers.get("Retry-After")))
    hint = "; the link may have expired: ask for a new one" if code in (403, 404, 410) else ""
    raise DownloadError(f"HTTP {code} for {_short(url)}{hint}", status_code=code)


def _content_length(response: httpx.Response) -> int | None:
    # With a content encoding, Content-Length counts encoded bytes; so does aiter_raw.
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _short(url: str) -> str:
    """A URL without its query string, which may hold a signature."""
    return url.split("?", 1)[0]
