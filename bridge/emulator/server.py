"""The emulator as a running server: on its own thread, as a context manager."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Self

import httpx
from aiohttp import web

from bridge.config import EmulatorSettings, ModelSettings
from bridge.emulator import lyria
from bridge.emulator.acedata_app import AceDataApp
from bridge.emulator.app import EmulatorApp
from bridge.emulator.contract import known_models
from bridge.emulator.engine import Engine
from bridge.emulator.faults import FaultDice
from bridge.emulator.keeping import KEEP_SECONDS, Keeper
from bridge.emulator.tasks import TaskStore
from bridge.emulator.usage import Wallet
from bridge.errors import EmulatorError
from bridge.net import tls_context
from bridge.resources import Startable
from bridge.serving import BackgroundServer

log = logging.getLogger(__name__)

BANNER = (
    "Producer API emulator: a local stand-in for the hosted service. Its audio comes "
    "from simple, seeded DSP on your input (loops, crossfades, filters), not from a model."
)


class EmulatorServer(Startable):
    """`with EmulatorServer(settings) as emu:` serves the Producer API at `emu.url`."""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        models: ModelSettings | None = None,
        clips_per_result: int = 1,
        link_ttl: float = 3600.0,
        state_dir: Path | None = None,
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self._models = models or ModelSettings()
        self._clips = clips_per_result
        self._link_ttl = link_ttl
        self._app: EmulatorApp | None = None
        self._fetcher: httpx.AsyncClient | None = None
        # With a state folder the emulator outlives its process: tasks, audio and its port.
        self._keeper = None if state_dir is None else Keeper(state_dir)
        if self._keeper is not None:
            self._keeper.forget_older_than(KEEP_SECONDS, time.time())
        port = self.settings.port
        if port == 0 and self._keeper is not None:
            port = self._keeper.last_port()
        self._server = self._serving(port)

    def _serving(self, port: int) -> BackgroundServer:
        return BackgroundServer(
            self._build,
            host=self.settings.host,
            port=port,
            name="emulator",
            error_type=EmulatorError,
        )

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def token(self) -> str:
        return self.settings.token

    def start(self) -> Self:
        try:
            self._server.start()
        except EmulatorError:
            if self._keeper is None or self.settings.port != 0:
                raise
            # The port of the last run is taken: kept links to it will not answer here.
            log.warning("emulator: the port of its last run is taken; serving on another")
            self._server = self._serving(0)
            self._server.start()
        if self._keeper is not None:
            self._keeper.keep_port(self._server.port)
        log.info("emulator listening on %s", self.url)
        return self

    def stats(self) -> dict[str, Any]:
        """Counters: tasks created per action, requests per endpoint, faults injected."""
        if self._app is None:
            raise EmulatorError("the emulator is not running")
        return self._app.stats()

    def created(self, kind: str) -> int:
        return int(self.stats()["tasks_created"].get(kind, 0))

    def close(self) -> None:
        app, fetcher = self._app, self._fetcher
        if app is not None:
            self._server.call(app.tasks.close())
        if fetcher is not None:
            self._server.call(fetcher.aclose())
        self._app = self._fetcher = None
        self._server.close()

    def _build(self) -> web.Application:
        dice = FaultDice(self.settings.faults)
        # Uploads fetch once from hosts that come and go (stagers): no idle connections kept.
        self._fetcher = httpx.AsyncClient(
            timeout=30.0,
            follow_redirects=True,
            limits=httpx.Limits(max_keepalive_connections=0),
            verify=tls_context(),
        )
        settings = self.settings
        if settings.provider == "mountsea-lyria":
            settings = settings.model_copy(update={"sample_rate": lyria.SAMPLE_RATE})
        engine = Engine(
            settings,
            self._fetcher,
            clips_per_result=self._clips,
            link_ttl=self._link_ttl,
            keeper=self._keeper,
        )
        models = known_models(self._models.extra)
        twin = AceDataApp if settings.provider == "acedata" else EmulatorApp
        app = twin(
            engine,
            TaskStore(
                settings.task_seconds,
                dice,
                on_end=lambda task: app.task_ended(task),
                keeper=self._keeper,
            ),
            dice,
            settings.token,
            models,
            provider=settings.provider,
            wallet=Wallet(settings.credits),
        )
        self._app = app
        taken_up = app.tasks.restore(app.work_for)
        if taken_up:
            log.info("emulator: %d task(s) kept from its last run", taken_up)
        return app.build()
