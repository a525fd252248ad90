"""A small HTTP server that serves staged clips under unguessable, expiring tokens.

It binds to loopback by default, which is enough for the local emulator. For the
hosted service, users expose it through their own tunnel or reverse proxy and set
`staging.public_base_url`; the URLs handed out then start with that address.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

from bridge.errors import StagingError
from bridge.net import is_loopback_url
from bridge.resources import Startable
from bridge.serving import BackgroundServer
from bridge.staging.base import StagedClip

if TYPE_CHECKING:
    from aiohttp import web

# aiohttp is imported when the first clip is staged: a run or a daemon that stages no clip
# never loads it.

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    clip: StagedClip
    fetches: int = 0


class LocalHttpStager(Startable):
    """Serves `GET /clips/<token>/clip.<ext>` for each staged file until it expires."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_base_url: str = "",
        ttl: float = 3600.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        # The port is bound at start; aiohttp loads and serves when the first clip is staged.
        self._server = BackgroundServer(
            self._app,
            host=host,
            port=port,
            name="stager",
            error_type=StagingError,
            on_first_use=True,
        )
        self._public = public_base_url.rstrip("/")
        self._ttl = ttl
        self._now = now
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self._public or self._server.url

    @property
    def reachable_only_here(self) -> bool:
        """True when the URLs handed out name this machine's loopback address."""
        return is_loopback_url(self.base_url)

    def start(self) -> Self:
        self._server.start()
        log.info("stager serving clips at %s", self.base_url)
        return self

    def stage(self, path: Path) -> StagedClip:
        if not path.is_file():
            raise StagingError(f"cannot stage {path}: no such file")
        self._server.serve_now()
        token = secrets.token_urlsafe(24)
        # The URL keeps the extension (the service checks it) but not the user's file name.
        url = f"{self.base_url}/clips/{token}/clip{path.suffix.lower()}"
        clip = StagedClip(
            path=path.resolve(), url=url, token=token, expires_at=self._now() + self._ttl
        )
        with self._lock:
            self._entries[token] = _Entry(clip)
        return clip

    def unstage(self, clip: StagedClip) -> None:
        with self._lock:
            self._entries.pop(clip.token, None)

    def fetch_count(self, clip: StagedClip) -> int:
        with self._lock:
            entry = self._entries.get(clip.token)
            return entry.fetches if entry else 0

    def close(self) -> None:
        self._server.close()
        with self._lock:
            self._entries.clear()

    def _app(self) -> web.Application:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/clips/{token}/{name}", self._serve)
        return app

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        token = request.match_info["token"]
        with self._lock:
            entry = self._entries.get(token)
            expired = entry is not None and entry.clip.expires_at <= self._now()
            if expired:
                del self._entries[token]
            elif entry is not None:
                entry.fetches += 1
        if entry is None or request.match_info["name"] != entry.clip.url.rsplit("/", 1)[1]:
            log.warning("stager: unknown clip requested by %s", request.remote)
            raise web.HTTPNotFound(text="no such clip")
        if expired:
            log.warning("stager: expired clip requested by %s", request.remote)
            raise web.HTTPGone(text="this clip link has expired")
        if not entry.clip.path.is_file():
            raise web.HTTPNotFound(text="the staged file is gone")
        log.info("stager: %s fetched %s", request.remote, entry.clip.path.name)
        return web.FileResponse(entry.clip.path)
