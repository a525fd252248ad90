"""What runs jobs, built from the settings: the service (hosted, given, or an emulator
started here), the stager, the journal, and the runner made of them.

The command line and the daemon both start here; neither hands the other its arguments.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bridge.api import PollPlan, ProducerClient, RetryPolicy, make_http_client
from bridge.api.http import Wire
from bridge.api.learned import Learned
from bridge.api.providers import Provider, provider_named
from bridge.api.usage import UsageClient
from bridge.config import Config
from bridge.config.loading import ENV_API_KEY, ENV_API_PROVIDER, provider_env
from bridge.config.settings import EmulatedProvider
from bridge.errors import ProviderUnavailableError, StagingError
from bridge.jobs.offers import OFFERS
from bridge.jobs.state import Job
from bridge.jobs.wire import Defaults
from bridge.journal import Journal
from bridge.net import is_loopback_url
from bridge.pipeline import Deps, JobRunner, Progress
from bridge.pipeline.deps import OtherService, Service
from bridge.pipeline.output import Splicing
from bridge.pipeline.spend import Budget
from bridge.staging.factory import AnyStager, make_stager
from bridge.staging.local import LocalHttpStager

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

log = logging.getLogger(__name__)

# The emulator finishes a task in seconds: polled quickly, a job through it takes no longer
# than its tasks (the hosted service keeps its advised 3-5 s).
EMULATOR_POLLING: Final = PollPlan(interval=0.2, max_interval=1.0, backoff=1.5, deadline=900.0)


@dataclass(frozen=True)
class ServiceChoice:
    """Which service jobs go to: `api_url` (or api.url), or the built-in emulator when
    `emulator` is set or there is neither a key nor a URL."""

    api_url: str | None = None
    emulator: bool = False


def open_journal(config: Config) -> Journal:
    return Journal(config.jobs.journal_path())


def request_defaults(config: Config) -> Defaults:
    """What a request may leave out, from the configuration."""
    return Defaults(
        model=config.models.default,
        known_models=config.models.known(),
        project=str(config.output.folder()),
        stems=config.output.stems,
        fetch_format=config.output.format,
        subtype=config.output.sample_format,
        offer=OFFERS[config.api.provider],
    )


async def _no_notice(job: Job) -> None:
    return None


@contextlib.asynccontextmanager
async def open_runner(
    choice: ServiceChoice,
    config: Config,
    err: Console,
    *,
    journal: Journal,
    stage: bool,
    progress: Callable[[Job], Progress],
    extra_roots: Sequence[Path] = (),
    notify: Callable[[Job], Awaitable[None]] = _no_notice,
    on_finished: Callable[[Job], None] | None = None,
    keep_finished: bool = True,
    on_backend: Callable[[str, AnyStager | None], None] | None = None,
    wire: Wire = "aiohttp",
) -> AsyncIterator[JobRunner]:
    """A runner on the chosen service; `stage` starts a stager for jobs with clips.

    `on_backend(url, stager)` hears which service and stager were chosen (the banner);
    `wire`: what carries the HTTP requests (`api/http.py`: httpx's own for a few)."""
    with contextlib.ExitStack() as stack:
        url, key, emulated = _backend(choice, config, stack, err)
        stager: AnyStager | None = None
        if stage:
            stager = make_stager(config.staging)
            stack.enter_context(stager)  # starts the local stager's server
            _check_reachable(stager, url)
        if on_backend is not None:
            on_backend(url, stager)
        api = config.api
        async with make_http_client(
            connect_timeout=api.connect_timeout,
            read_timeout=api.read_timeout,
            max_connections=api.max_connections,
            wire=wire,
        ) as http:
            services = Services(
                http, config, built_in=_built_in(choice, config), emulator_asked=choice.emulator
            )
            usage_url = url if emulated else api.usage_url
            provider = provider_named(api.provider)
            current = services.make(provider, url, key, usage_url, emulated=emulated)
            yield JobRunner(
                _deps(config, current, services, journal, stager, extra_roots, notify),
                max_running=config.jobs.max_running,
                progress=progress,
                on_finished=on_finished,
                keep_finished=keep_finished,
            )


class Services:
    """Each provider's client and usage API, all on the runner's one HTTP client (closed
    with it): api.provider's from the start, another's made when a journaled job judged for
    it first runs (`Deps.for_provider`), then shared by every job of that provider."""

    def __init__(
        self, http: httpx.AsyncClient, config: Config, *, built_in: bool, emulator_asked: bool
    ) -> None:
        self._http = http
        self._config = config
        self._learned = Learned(config.jobs.data_folder())
        self._built_in = built_in  # the built-in emulator answers for api.provider
        self._emulator_asked = emulator_asked
        self._made: dict[str, Service] = {}

    def make(
        self, provider: Provider, url: str, key: str, usage_url: str, *, emulated: bool
    ) -> Service:
        api = self._config.api
        client = ProducerClient(
            self._http,
            base_url=url,
            api_key=key,
            retry=RetryPolicy(
                api.max_attempts,
                api.retry_base,
                api.retry_cap,
                patience=self._config.polling.deadline,
            ),
            poll_plan=poll_plan(self._config, provider, emulated=emulated),
            provider=provider,
            learned=self._learned,
        )
        # A provider without a usage API: manifests say `credits: null`.
        if provider.usage_url is None:
            return Service(client)
        headers = provider.usage_headers(key)
        return Service(client, UsageClient(self._http, base_url=usage_url, headers=headers))

    def __call__(self, name: str) -> Service:
        """The service of provider `name` (not api.provider) as its own settings give it."""
        made = self._made.get(name)
        if made is None:
            made = self._made[name] = self._other(name)
        return made

    def _other(self, name: str) -> Service:
        connection = self._config.api.connection(name)
        key = connection.key.get_secret_value()
        if self._emulator_asked or not key:
            raise ProviderUnavailableError(
                name,
                key_setting=f"api.providers.{name}.key",
                key_env=provider_env(ENV_API_KEY, name),
                provider_env=ENV_API_PROVIDER,
                built_in=self._built_in,
                emulator_asked=self._emulator_asked,
            )
        log.info("jobs judged for provider %s go to %s", name, connection.url)
        provider = provider_named(name)
        return self.make(provider, connection.url, key, connection.usage_url, emulated=False)


def poll_plan(config: Config, provider: Provider, *, emulated: bool) -> PollPlan:
    """The provider's advised polling (the emulator's quick one when jobs go to an
    emulator), with what the configuration sets itself."""
    plan = EMULATOR_POLLING if emulated else provider.polling
    polling = config.polling
    return dataclasses.replace(plan, **polling.model_dump(include=polling.model_fields_set))


def work_folder(journal: Journal) -> Path:
    """Where jobs keep their files while they run: beside the journal."""
    return journal.path.parent / "work"


def _deps(
    config: Config,
    current: Service,
    others: OtherService,
    journal: Journal,
    stager: AnyStager | None,
    extra_roots: Sequence[Path],
    notify: Callable[[Job], Awaitable[None]],
) -> Deps:
    return Deps(
        client=current.client,
        journal=journal,
        stager=stager,
        work_root=work_folder(journal),
        allowed_roots=(*config.output.roots(), *extra_roots),
        results_folder=config.output.results_folder,
        notify=notify,
        upload_format=config.staging.upload_format,
        context=config.audio.context_seconds(),
        splicing=_splicing(config),
        usage=current.usage,
        budget=Budget(**config.budget.model_dump()),
        other_service=others,
    )


def _backend(
    choice: ServiceChoice, config: Config, stack: contextlib.ExitStack, err: Console
) -> tuple[str, str, bool]:
    """(base URL, key, whether it is an emulator): the hosted API, a given URL, or an
    emulator started here."""
    key = config.api.key.get_secret_value()
    if _built_in(choice, config):
        from bridge.emulator.server import BANNER, EmulatorServer  # only when it runs here

        twin = emulated_provider(config.api.provider, config.emulator.provider)
        settings = config.emulator.model_copy(
            update={"port": 0, "host": "127.0.0.1", "provider": twin}
        )
        # It keeps its tasks in the data folder: a job cut short resumes after a restart.
        kept = config.jobs.data_folder() / "emulator"
        emulator = stack.enter_context(
            EmulatorServer(settings, models=config.models, state_dir=kept)
        )
        reason = "--emulator given" if choice.emulator else "no API key set"
        err.print(
            f"{reason}: using the built-in emulator at {emulator.url}", markup=False, soft_wrap=True
        )
        err.print(BANNER, markup=False, style="dim", soft_wrap=True)
        return emulator.url, emulator.token, True
    if choice.api_url and not key:
        # A URL without a key is most likely a local `producer-bridge emulator`.
        return choice.api_url, config.emulator.token, True
    return choice.api_url or config.api.url, key, False


def _built_in(choice: ServiceChoice, config: Config) -> bool:
    """Whether jobs of api.provider go to the built-in emulator, started here."""
    return choice.emulator or not (config.api.key.get_secret_value() or choice.api_url)


def emulated_provider(api_provider: str, twin: EmulatedProvider) -> EmulatedProvider:
    """The twin the built-in emulator speaks: the one of `api.provider` (emulator.provider
    picks among mountsea's two)."""
    if api_provider == "acedata":
        return "acedata"
    return "mountsea-fuzz" if twin == "acedata" else twin


def _check_reachable(stager: AnyStager, api_url: str) -> None:
    if not stager.reachable_only_here or is_loopback_url(api_url):
        return
    if not isinstance(stager, LocalHttpStager):  # a bucket
        fix = "set staging.s3.endpoint_url to an address the service can reach"
    else:
        fix = (
            "expose the stager through a tunnel or reverse proxy and set "
            'staging.public_base_url, or use staging.kind = "s3"'
        )
    raise StagingError(
        f"the service at {api_url} cannot fetch clips from {stager.base_url} (this machine "
        f"only): {fix}, or pass --audio-id for audio the service already has"
    )


def _splicing(config: Config) -> Splicing | None:
    audio = config.audio
    return Splicing(audio.crossfade, audio.match_loudness) if audio.splice else None
