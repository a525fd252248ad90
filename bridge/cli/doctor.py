"""`producer-bridge doctor`: every part of the set-up checked, one line each, with the fix.

The checks live in `bridge.doctor`; this module wires them to the real peers (the API
client, the stager, a daemon's ping, the MIDI ports, PortAudio in a child process) and
prints their lines as they come.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final

import httpx
from rich.console import Console
from rich.text import Text

from bridge import doctor
from bridge.api import ProducerClient, RetryPolicy, make_http_client
from bridge.cli.backend import add_backend_options
from bridge.config import ApiSettings, Config, LoadedConfig
from bridge.doctor import Check, Lookup
from bridge.errors import ConfigError
from bridge.midi.ports import probe_inputs
from bridge.staging import make_stager

SERVICE_TIMEOUT: Final = 10.0
FETCH_TIMEOUT: Final = 10.0
AUDIO_TIMEOUT: Final = 10.0
_STYLES: Final = {doctor.OK: "green", doctor.WARN: "yellow", doctor.FAIL: "bold red"}


def add_doctor_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor",
        help="check the set-up: configuration, service, stager, OSC, MIDI, folders, REAPER",
        description="Check every part of the set-up and print one line per check, with the "
        "fix for each problem. Exits 0 when nothing failed (warnings allowed), 1 otherwise. "
        "Runs even when the configuration is invalid: the other checks then use the defaults.",
    )
    add_backend_options(parser)


def execute(
    args: argparse.Namespace,
    loaded: LoadedConfig | None,
    config_error: ConfigError | None,
    out: Console,
    err: Console,
) -> int:
    config = loaded.config if loaded is not None and config_error is None else Config()
    checks = []
    for name, run in plan(args, loaded, config_error, config):
        check = doctor.guarded(name, run)
        checks.append(check)
        out.print(_styled(check), markup=False, highlight=False, soft_wrap=True)
    failed = sum(check.status == doctor.FAIL for check in checks)
    warned = sum(check.status == doctor.WARN for check in checks)
    summary = f"{failed} failed, {warned} warning(s)" if failed else f"{warned} warning(s)"
    verdict = "something needs fixing" if failed else "ready"
    err.print(f"{verdict}: {summary}", markup=False, highlight=False)
    return doctor.exit_code(checks)


def plan(
    args: argparse.Namespace,
    loaded: LoadedConfig | None,
    config_error: ConfigError | None,
    config: Config,
) -> list[tuple[str, Callable[[], Check]]]:
    """Every check, in the order a user fixes things: each named, to run in turn."""
    service_url, run_service = _service(args, config)
    return [
        ("config", lambda: doctor.check_config(loaded, config_error)),
        ("service", run_service),
        (
            "stager",
            lambda: doctor.check_stager(config.staging, service_url, make_stager, fetch_url),
        ),
        ("osc", lambda: doctor.check_osc(config.osc, daemon_answers)),
        ("midi", lambda: doctor.check_midi(config.midi.inputs, probe_inputs, open_midi_briefly)),
        ("drop folder", lambda: doctor.check_drop(config.drop)),
        ("audio output", lambda: doctor.check_audio(probe_audio)),
        (
            "reaper",
            lambda: doctor.check_reaper(config.reaper, doctor.reaper_resource_path()),
        ),
        ("journal", lambda: doctor.check_journal(config.jobs.journal_path())),
    ]


def _styled(check: Check) -> Text:
    # Colour only on the status word; rich drops it when the output is not a terminal.
    line = doctor.render(check)
    label = doctor.LABELS[check.status]
    return Text.assemble((label, _STYLES[check.status]), line[len(label) :])


def _service(args: argparse.Namespace, config: Config) -> tuple[str | None, Callable[[], Check]]:
    """(the service's URL, None for the embedded emulator; its check), chosen as `run` and
    `serve` choose (see `bridge.cli.backend._backend`)."""
    lookup = api_lookup(config.api)
    key = config.api.key.get_secret_value()
    if args.emulator or (not key and not args.api_url):
        reason = "--emulator given" if args.emulator else "no API key"
        return None, lambda: doctor.check_emulator(
            config.emulator, config.models, lookup, reason=reason
        )
    if args.api_url and not key:
        url = args.api_url
        return url, lambda: doctor.check_service(
            url, config.emulator.token, lookup, emulator_token=True
        )
    url = args.api_url or config.api.url
    return url, lambda: doctor.check_service(url, key, lookup)


# The real peers -------------------------------------------------------------------------


def api_lookup(api: ApiSettings) -> Lookup:
    """The cheapest authenticated call, through the real client: look up a task id that
    nobody has. One attempt and short timeouts: a doctor answers in seconds."""

    async def look(url: str, key: str) -> None:
        async with make_http_client(
            connect_timeout=min(api.connect_timeout, SERVICE_TIMEOUT),
            read_timeout=min(api.read_timeout, SERVICE_TIMEOUT),
        ) as http:
            client = ProducerClient(http, base_url=url, api_key=key, retry=RetryPolicy(1))
            await client.task(str(uuid.uuid4()))

    return lambda url, key: asyncio.run(look(url, key))


def fetch_url(url: str) -> bytes:
    """What anyone on this machine gets from `url`, fetched as the service would."""
    with httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=True) as http:
        response = http.get(url)
        response.raise_for_status()
        return response.content


def daemon_answers(host: str, port: int) -> bool:
    """True when a producer-bridge daemon answers /bridge/ping on host:port."""
    from bridge.daemon.client import DaemonClient, NoDaemon

    with DaemonClient(host, port) as client:
        try:
            client.ping()
        except NoDaemon:
            return False
    return True


def open_midi_briefly(specs: Sequence[str]) -> list[str]:
    """Open every input as the daemon would, and close them: the problems found."""
    from bridge.midi.ports import MidiInputs

    with MidiInputs(specs, lambda spec, message: None) as inputs:
        return list(inputs.problems)


# Run in a child process: loading PortAudio and asking it for devices can block for good on
# a broken sound server, and a child can be killed.
_AUDIO_SCRIPT: Final = """
import json
try:
    import sounddevice as sd
except OSError as exc:
    print(json.dumps({"missing": str(exc)}))
    raise SystemExit(0)
try:
    outputs = [d["name"] for d in sd.query_devices() if d["max_output_channels"] > 0]
    try:
        default = sd.query_devices(kind="output")["name"]
    except (sd.PortAudioError, ValueError):
        default = None
    print(json.dumps({"outputs": outputs, "default": default}))
except Exception as exc:
    print(json.dumps({"missing": f"{type(exc).__name__}: {exc}"}))
"""


def probe_audio(timeout: float = AUDIO_TIMEOUT) -> dict[str, object]:
    """What PortAudio says, from a child process: {"missing": why}, {"hung": why},
    {"crashed": why}, or {"outputs": [names], "default": name or None}."""
    try:
        done = subprocess.run(  # noqa: S603 - this interpreter, running our own script
            [sys.executable, "-c", _AUDIO_SCRIPT],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"hung": f"PortAudio did not answer within {timeout:g} s"}
    lines = done.stdout.strip().splitlines()
    if not lines and _crashed(done.returncode):
        # Killed by a signal: PortAudio is there, and aborted while loading (libasound
        # asserts on some ALSA set-ups).
        return {"crashed": f"PortAudio crashed while loading (exit status {done.returncode})"}
    if not lines:
        return {"missing": done.stderr.strip()[-300:] or f"exit status {done.returncode}"}
    found: dict[str, object] = json.loads(lines[-1])
    return found


def _crashed(returncode: int) -> bool:
    """A child that died of a crash: a negative status (the signal) on POSIX, an NTSTATUS
    error code such as 0xC0000005 (access violation) on Windows, which has no signals."""
    if os.name == "nt":
        return returncode & 0xFFFFFFFF >= 0xC0000000
    return returncode < 0
