"""Streaming a result file to disk: constant memory, a temporary name, whole or nothing.

The file is written under a hidden temporary name in the destination folder,
checked against Content-Length, flushed to disk, then renamed. A file that is
already at the destination is never replaced. File hosts get no API key.

A link ending in `#<member>` names one file inside a zip (AceData's stems come as one
archive): the archive is fetched beside the destination, the member taken out, the
archive removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from bridge.api.polling import Clock, Sleep
from bridge.api.retry import Retryable, RetryPolicy, parse_retry_after, with_retries
from bridge.errors import DownloadError
from bridge.files import publish, temp_path

CHUNK = 1 << 16
ProgressFn = Callable[[int, int | None], None]


class _Incomplete(Exception):
    """Why one attempt fell short, in words for the message once none is left."""


async def fetch_file(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    retry: RetryPolicy,
    sleep: Sleep,
    random: Callable[[], float],
    now: Clock,
    on_bytes: ProgressFn | None = None,
) -> int:
    """Download `url` to `dest`; return the number of bytes written."""
    link, _, member = url.partition("#")
    if member:
        archive = dest.with_name(f".{dest.name}.zip")
        archive.unlink(missing_ok=True)
        await fetch_file(
            http, link, archive, retry=retry, sleep=sleep, random=random, now=now,
            on_bytes=on_bytes,
        )  # fmt: skip
        try:
            return await asyncio.to_thread(_take_member, archive, member, dest)
        finally:
            archive.unlink(missing_ok=True)
    temp = _prepare(dest)

    def gave_up(again: Retryable, attempts: int) -> DownloadError:
        reason = f"download of {_short(url)} failed after {attempts} attempts: {again.error}"
        return DownloadError(reason)

    try:
        size = await with_retries(
            lambda: _stream_once(http, url, temp, on_bytes),
            retry,
            what=f"download {_short(url)}",
            sleep=sleep,
            random=random,
            now=now,
            gave_up=gave_up,
        )
        try:
            await asyncio.to_thread(publish, temp, dest)
        except FileExistsError as exc:
            # `_prepare` found the name free: whatever is there came during the download.
            raise DownloadError(
                f"{dest} appeared while downloading; it is never overwritten"
            ) from exc
        return size
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


async def _stream_once(
    http: httpx.AsyncClient, url: str, temp: Path, on_bytes: ProgressFn | None
) -> int:
    try:
        async with http.stream("GET", url) as response:
            _check_status(response, url)
            expected = _content_length(response)
            with temp.open("wb") as out:
                async for chunk in response.aiter_raw(CHUNK):
                    out.write(chunk)
                    if on_bytes is not None:
                        on_bytes(response.num_bytes_downloaded, expected)
                out.flush()
                await asyncio.to_thread(os.fsync, out.fileno())  # a sync to disk: off the loop
            received = response.num_bytes_downloaded
    except httpx.TransportError as exc:
        raise Retryable(_Incomplete(f"{type(exc).__name__}: {exc}")) from exc
    if expected is not None and received != expected:
        raise Retryable(_Incomplete(f"got {received} of {expected} bytes"))
    return received


# Words that mark an archive member as the part without vocals.
_INSTRUMENTAL_WORDS = ("instrument", "accompan", "no_vocal", "novocal", "no vocal", "karaoke")


def _take_member(archive: Path, wanted: str, dest: Path) -> int:
    """Copy the member of `archive` that `wanted` ("vocals" or "instrumental") names."""
    import zipfile  # only for zipped results

    temp = _prepare(dest)
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = [name for name in zipped.namelist() if not name.endswith("/")]
            chosen = _member(names, wanted)
            with zipped.open(chosen) as source, temp.open("wb") as out:
                size = 0
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        publish(temp, dest)
        return size
    except (zipfile.BadZipFile, OSError) as exc:
        raise DownloadError(f"cannot take {wanted} out of the zip: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _member(names: list[str], wanted: str) -> str:
    def instrumental(name: str) -> bool:
        return any(word in name.rsplit("/", 1)[-1].lower() for word in _INSTRUMENTAL_WORDS)

    if wanted == "instrumental":
        found = [n for n in names if instrumental(n)] or [
            n for n in names if "vocal" not in n.lower()
        ]
    else:
        found = [n for n in names if wanted.rstrip("s") in n.lower() and not instrumental(n)]
    if not found:
        raise DownloadError(f"the zip holds no {wanted} ({', '.join(names) or 'nothing'})")
    return found[0]


def _prepare(dest: Path) -> Path:
    """Check the destination is free and return the temporary name beside it."""
    if dest.exists():
        raise DownloadError(f"{dest} already exists; it is never overwritten")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return temp_path(dest)


def _check_status(response: httpx.Response, url: str) -> None:
    code = response.status_code
    if code == 200:
        return
    if code == 429 or code >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise Retryable(_Incomplete(f"HTTP {code}"), retry_after, rate_limited=code == 429)
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
