"""Checks of what lies beyond this machine: the configuration, the service, the stager."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bridge.config import (
    EmulatorSettings,
    LoadedConfig,
    ModelSettings,
    StagingSettings,
    default_config_path,
)
from bridge.doctor.report import FAIL, OK, WARN, Check
from bridge.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConfigError,
    ConnectionFailed,
    EmulatorError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    StagingError,
)
from bridge.net import is_loopback
from bridge.staging import AnyStager, Stager, reachable_only_here, stager_base_url

log = logging.getLogger(__name__)


def check_config(loaded: LoadedConfig | None, error: ConfigError | None) -> Check:
    if error is not None or loaded is None:
        problems = "; ".join(str(i) for i in error.issues) if error else "not loaded"
        return Check(
            "config",
            FAIL,
            f"invalid: {problems} (the checks below use the built-in defaults)",
            "correct these settings (`producer-bridge config check` lists them)",
        )
    env = f" ({', '.join(loaded.overrides)} from the environment)" if loaded.overrides else ""
    if loaded.source is None:
        where = default_config_path()
        return Check("config", OK, f"no configuration file, built-in defaults{env} ({where})")
    return Check("config", OK, f"{loaded.source} is valid{env}")


# service --------------------------------------------------------------------------------

Lookup = Callable[[str, str], None]


def check_service(url: str, key: str, lookup: Lookup, *, emulator_token: bool = False) -> Check:
    """`emulator_token`: no API key is set, so the emulator's token was sent (as `run` does)."""
    try:
        lookup(url, key)
    except (NotFoundError, BadRequestError):
        pass  # it looked the id up (or judged it): reachable, and the key got past the door
    except AuthError as exc:
        fix = (
            "set PRODUCER_API_KEY (or api.key) for this service, or emulator.token to the "
            "emulator's token"
            if emulator_token
            else "check PRODUCER_API_KEY (or api.key): `producer-bridge config check` shows "
            "whether one is set"
        )
        return Check("service", FAIL, f"{url} refused the key (HTTP {exc.status_code})", fix)
    except ConnectionFailed as exc:
        fix = "check api.url (or --api-url, PRODUCER_API_URL), the network and any proxy"
        if is_loopback(urlsplit(url).hostname or ""):
            fix = "start `producer-bridge emulator` there, or check --api-url (or api.url)"
        return Check("service", FAIL, _reason(exc), fix)
    except RateLimitedError:
        return Check("service", WARN, f"{url} answers, but is rate limiting (HTTP 429)", "wait")
    except ServerError as exc:
        return Check("service", FAIL, f"{url} fails: {_reason(exc)}", "try again later")
    except ApiError as exc:
        return Check(
            "service",
            FAIL,
            f"{url} answers, but not as the Producer API does: {_reason(exc)}",
            "check api.url (or --api-url): it must be the service's base URL",
        )
    accepted = "the emulator's token (no API key set)" if emulator_token else "the key"
    return Check("service", OK, f"{url} answers and accepts {accepted}")


def _reason(exc: ApiError) -> str:
    # Without the ids ApiError appends: the task id is a random one nobody needs to trace.
    return exc.message.partition(" (endpoint=")[0]


def check_emulator(
    settings: EmulatorSettings, models: ModelSettings, lookup: Lookup, *, reason: str
) -> Check:
    """The emulator `serve` and `run` embed: it starts, and answers the service check's call."""
    local = settings.model_copy(update={"port": 0, "host": "127.0.0.1"})
    try:
        with _started(local, models) as url:
            found = check_service(url, local.token, lookup)
    except EmulatorError as exc:
        return Check(
            "service",
            FAIL,
            f"{reason}, and the built-in emulator cannot start: {exc.message}",
            "set PRODUCER_API_KEY to use the hosted service, or fix the [emulator] settings",
        )
    if found.status != OK:
        return Check("service", FAIL, f"{reason}; the built-in emulator: {found.detail}", found.fix)
    return Check("service", OK, f"{reason}: serve and run use the built-in emulator (it answers)")


@contextlib.contextmanager
def _started(settings: EmulatorSettings, models: ModelSettings) -> Iterator[str]:
    from bridge.emulator.server import EmulatorServer  # its DSP libraries load only here

    with EmulatorServer(settings, models=models) as server:
        yield server.url


# stager ---------------------------------------------------------------------------------
def check_stager(
    settings: StagingSettings,
    service_url: str | None,
    make: Callable[[StagingSettings], AnyStager],
    fetch: Callable[[str], bytes],
) -> Check:
    """Stage a small WAV, fetch it back by its URL as the service would, compare the bytes.
    `service_url` None: the embedded emulator, which runs here and so reaches loopback."""
    s3 = settings.kind == "s3"
    if s3:
        setup = "check [staging.s3]: bucket, endpoint_url, region and the credentials"
    else:
        setup = "set staging.port to a free port (0 picks one), or staging.host to this machine"
    try:
        with make(settings) as stager, tempfile.TemporaryDirectory(prefix="doctor-") as folder:
            where = stager_base_url(stager)
            clip = _write_wav(Path(folder) / "doctor.wav")
            problem = _round_trip(stager, clip, fetch, _reach_fix(settings))
            here = reachable_only_here(stager)
    except StagingError as exc:
        return Check("stager", FAIL, exc.message, setup)
    if problem is not None:
        return problem
    if here and service_url is not None and not is_loopback(urlsplit(service_url).hostname or ""):
        fix = (
            "use a bucket the service can reach (staging.s3.endpoint_url)"
            if s3
            else "set staging.public_base_url (a tunnel or reverse proxy to the stager, see the "
            'README\'s Staging section) or use staging.kind = "s3"'
        )
        detail = f"the service at {service_url} cannot fetch {where}: only this machine can"
        return Check("stager", FAIL, detail, fix)
    return Check("stager", OK, f"a clip staged at {where} was fetched back whole")


def _reach_fix(settings: StagingSettings) -> str:
    if settings.kind == "s3":
        return "check staging.s3.endpoint_url, region and addressing_style"
    if settings.public_base_url:
        return (
            f"check that {settings.public_base_url} forwards /clips/ to the stager (the tunnel "
            "or reverse proxy; give the stager a fixed staging.port)"
        )
    return "check staging.host, and the firewall of this machine"


def _round_trip(
    stager: Stager, clip: Path, fetch: Callable[[str], bytes], fix: str
) -> Check | None:
    """A failed check, or None when the clip came back whole by its URL."""
    staged = stager.stage(clip)
    try:
        body = fetch(staged.url)
    except httpx.HTTPError as exc:
        where = _origin(staged.url)
        return Check("stager", FAIL, f"a staged clip cannot be fetched from {where}: {exc}", fix)
    finally:
        stager.unstage(staged)
    if body != clip.read_bytes():
        return Check("stager", FAIL, f"{_origin(staged.url)} served other bytes than staged", fix)
    return None


def _write_wav(path: Path) -> Path:
    import numpy as np
    import soundfile as sf

    sf.write(str(path), np.zeros((4410, 1), dtype=np.int16), 44100, subtype="PCM_16")
    return path


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# OSC ------------------------------------------------------------------------------------
