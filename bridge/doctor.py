"""The checks of `producer-bridge doctor`: one `Check` per part of the set-up, each with the fix.

Each check is a function that takes what it checks (settings, and the peers it talks to as
callables), so the command wires the real ones and tests can wire others. A check returns
its verdict; `guarded` turns anything it raises by surprise into a failed line, so that one
broken check never hides the others.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

import httpx

from bridge.config import (
    DropSettings,
    EmulatorSettings,
    LoadedConfig,
    ModelSettings,
    OscSettings,
    ReaperSettings,
    StagingSettings,
    default_config_path,
)
from bridge.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConfigError,
    ConnectionFailed,
    EmulatorError,
    JournalError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    StagingError,
)
from bridge.net import is_loopback
from bridge.staging import AnyStager, Stager, reachable_only_here, stager_base_url

log = logging.getLogger(__name__)

Status = Literal["ok", "warn", "fail"]
OK: Final = "ok"
WARN: Final = "warn"
FAIL: Final = "fail"
LABELS: Final[dict[str, str]] = {OK: "ok", WARN: "warn", FAIL: "FAIL"}
_RANK: Final[dict[str, int]] = {OK: 0, WARN: 1, FAIL: 2}

IMPORT_SCRIPT: Final = "ProducerBridge - Import results.lua"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def render(check: Check) -> str:
    """`ok    config       detail → fix: ...`: columns line up for the eye, and for grep."""
    line = f"{LABELS[check.status]:<6}{check.name:<13}{check.detail}"
    return f"{line} → fix: {check.fix}" if check.fix else line


def guarded(name: str, run: Callable[[], Check]) -> Check:
    """The check's verdict, or a failed line naming what it raised by surprise."""
    try:
        return run()
    except Exception as exc:
        log.debug("doctor: the %s check raised", name, exc_info=True)
        return Check(
            name,
            FAIL,
            f"the check itself failed: {type(exc).__name__}: {exc}",
            "this is a bug in producer-bridge: run `producer-bridge -vv doctor` and report "
            "the traceback",
        )


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(check.status == FAIL for check in checks) else 0


def merge(name: str, parts: Sequence[Check]) -> Check:
    """One line from several findings: the worst status, every detail and fix."""
    worst = max(parts, key=lambda part: _RANK[part.status]).status
    fixes = [part.fix for part in parts if part.fix]
    return Check(name, worst, "; ".join(part.detail for part in parts), "; ".join(fixes))


# config ---------------------------------------------------------------------------------
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
def check_osc(settings: OscSettings, ping: Callable[[str, int], bool]) -> Check:
    host, port = settings.host, settings.port
    where = f"{host}:{port}"
    if not is_loopback(host) and not settings.allow_remote:
        return Check(
            "osc",
            FAIL,
            f"osc.host {host} lets other machines send jobs, and serve refuses it",
            'set osc.allow_remote = true if you mean it, or osc.host = "127.0.0.1"',
        )
    if port == 0:
        return Check(
            "osc",
            WARN,
            "osc.port = 0: the daemon takes another port at each start, which DAWs cannot know",
            "set osc.port to a fixed port, e.g. 9110",
        )
    try:
        _bind_udp(host, port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            return Check(
                "osc",
                FAIL,
                f"cannot listen on {where} (UDP): {exc.strerror or exc}",
                'set osc.host to an address of this machine, e.g. "127.0.0.1"',
            )
        if ping(_loopback_for(host), port):
            return Check("osc", OK, f"a producer-bridge daemon is running on {where}")
        return Check(
            "osc",
            FAIL,
            f"{where} (UDP) is taken by another program",
            "stop that program, or set osc.port to a free port (and the same port in the "
            "DAW's OSC set-up)",
        )
    return Check("osc", OK, f"{where} (UDP) is free for the daemon")


def _bind_udp(host: str, port: int) -> None:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.bind(address)


def _loopback_for(host: str) -> str:
    # A daemon on "every address" is reached here through loopback.
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104


# MIDI -----------------------------------------------------------------------------------
def check_midi(
    specs: Sequence[str],
    probe: Callable[[], tuple[list[str], str | None]],
    open_inputs: Callable[[Sequence[str]], list[str]],
) -> Check:
    names, reason = probe()
    seen = reason or "available: " + (", ".join(repr(name) for name in names) or "none")
    if not specs:
        return Check("midi", OK, f"no MIDI inputs configured; {seen}")
    problems = open_inputs(specs)
    if problems:
        listed = "" if "available:" in " ".join(problems) or reason else f" ({seen})"
        return Check(
            "midi",
            WARN,
            "; ".join(problems) + listed,
            "correct midi.inputs (`producer-bridge midi-learn` lists the ports; virtual:NAME "
            "and socket:HOST:PORT work without hardware); the daemon runs without it meanwhile",
        )
    return Check("midi", OK, f"opened {', '.join(repr(spec) for spec in specs)}")


# drop folder ----------------------------------------------------------------------------
def check_drop(settings: DropSettings) -> Check:
    from bridge.watch.drop import CLIP_ACTIONS, DONE, FAILED, REQUESTS

    if not settings.enabled:
        return Check("drop folder", OK, "off (drop.enabled = false)")
    path = settings.path()
    if path.exists() and not path.is_dir():
        return Check("drop folder", FAIL, f"{path} is not a folder", "set drop.folder to a folder")
    existed, problem = _probe_folder(path)
    if problem is not None:
        return Check(
            "drop folder",
            FAIL,
            problem,
            "set drop.folder to a folder you can write, or fix its permissions",
        )
    later = "start `producer-bridge serve` once: it creates the folder and its subfolders"
    if not existed:
        return Check("drop folder", WARN, f"{path} can be created, but does not exist yet", later)
    names = (*CLIP_ACTIONS, REQUESTS, DONE, FAILED)
    absent = [name for name in names if not (path / name).is_dir()]
    if absent:
        lacking = ", ".join(f"{name}/" for name in absent)
        return Check("drop folder", WARN, f"{path} is writable but lacks {lacking}", later)
    return Check("drop folder", OK, f"{path} is writable, with its subfolders")


def _probe_folder(path: Path) -> tuple[bool, str | None]:
    """(whether `path` existed, why it cannot be created or written in). What had to be
    created to find out is removed again: the doctor leaves nothing behind."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Hidden, so that a running daemon's watcher ignores it.
        fd, name = tempfile.mkstemp(prefix=".doctor-", dir=path)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return (
            not missing,
            f"cannot {'create' if missing else 'write in'} {path}: {exc.strerror or exc}",
        )
    finally:
        for folder in missing:
            with contextlib.suppress(OSError):
                folder.rmdir()
    return not missing, None


# audio output ---------------------------------------------------------------------------
def check_audio(probe: Callable[[], dict[str, object]]) -> Check:
    found = probe()
    if "hung" in found:
        return Check(
            "audio output",
            WARN,
            str(found["hung"]),
            "check the sound server (PipeWire, PulseAudio, JACK); previews need it",
        )
    if "missing" in found:
        return Check(
            "audio output",
            WARN,
            f"PortAudio cannot be used ({found['missing']}): previews cannot play",
            "install PortAudio: `apt install libportaudio2` (Debian, Ubuntu), "
            "`brew install portaudio` (macOS)",
        )
    if found.get("default"):
        return Check("audio output", OK, f"default output device: {found['default']}")
    outputs = found.get("outputs") or []
    return Check(
        "audio output",
        WARN,
        f"no default output device ({len(outputs) if isinstance(outputs, list) else 0} "
        "output(s) seen); previews need one",
        "connect or enable an output device, or choose a default one in the system settings",
    )


# REAPER ---------------------------------------------------------------------------------
def reaper_resource_path(platform: str = sys.platform, home: Path | None = None) -> Path:
    """REAPER's default resource folder (Options → Show REAPER resource path)."""
    home = home or Path.home()
    if platform == "darwin":
        return home / "Library" / "Application Support" / "REAPER"
    if platform == "win32":
        appdata = os.environ.get("APPDATA")
        return (Path(appdata) if appdata else home / "AppData" / "Roaming") / "REAPER"
    return home / ".config" / "REAPER"


def find_import_script(scripts: Path) -> Path | None:
    """The import script in Scripts/, by hand (Scripts/<folder>/) or by ReaPack
    (Scripts/<repository>/<category>/)."""
    for pattern in (IMPORT_SCRIPT, f"*/{IMPORT_SCRIPT}", f"*/*/{IMPORT_SCRIPT}"):
        found = sorted(scripts.glob(pattern))
        if found:
            return found[0]
    return None


def check_reaper(settings: ReaperSettings, resource: Path) -> Check:
    scripts = resource / "Scripts"
    found = find_import_script(scripts) if scripts.is_dir() else None
    how = f"install the scripts with ReaPack, or copy reaper_scripts/ into {scripts}"
    parts = []
    if found is not None:
        parts.append(Check("reaper", OK, f"ProducerBridge scripts installed in {found.parent}"))
    elif resource.is_dir():
        parts.append(
            Check(
                "reaper", WARN, f"no ProducerBridge scripts in {scripts}", how + " (README: REAPER)"
            )
        )
    else:
        detail = f"no REAPER at {resource}; for REAPER, {how} (README: REAPER)"
        parts.append(Check("reaper", OK, detail))
    if settings.import_action and not settings.osc:
        parts.append(
            Check(
                "reaper",
                WARN,
                "reaper.import_action is set without reaper.osc: nothing triggers the import",
                'set reaper.osc = "127.0.0.1:8000" (REAPER\'s OSC control surface port)',
            )
        )
    elif settings.osc and not settings.import_action:
        parts.append(
            Check(
                "reaper",
                WARN,
                "reaper.osc is set without reaper.import_action: results are not imported "
                "on their own",
                "copy the command id of `ProducerBridge - Import results` into "
                "reaper.import_action",
            )
        )
    return merge("reaper", parts)


# journal --------------------------------------------------------------------------------
def check_journal(path: Path) -> Check:
    from bridge.jobs.state import NEEDS_ATTENTION, UNFINISHED
    from bridge.journal import Journal

    fix = "fix the permissions of its folder, or set jobs.journal to a file you can write"
    if not path.exists():
        # Opening would create it: prove that it can be, without leaving it behind.
        _, problem = _probe_folder(path.parent)
        if problem is not None:
            return Check("journal", FAIL, problem, fix)
        return Check("journal", OK, f"{path} does not exist yet: the first job creates it")
    try:
        with Journal(path) as journal:
            statuses = [job.status for job in journal.jobs()]
    except JournalError as exc:
        return Check("journal", FAIL, exc.message, fix)
    unfinished = sum(status in UNFINISHED for status in statuses)
    attention = statuses.count(NEEDS_ATTENTION)
    detail = (
        f"{path}: {len(statuses)} job(s), {unfinished} unfinished, {attention} need(s) attention"
    )
    if attention:
        return Check(
            "journal",
            WARN,
            detail,
            "producer-bridge jobs (then `jobs show ID`, and `jobs retry ID` once checked)",
        )
    return Check("journal", OK, detail)
