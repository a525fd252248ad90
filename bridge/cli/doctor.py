"""`producer-bridge doctor`: every part of the set-up checked, one line each, with the fix.

The checks live in `bridge.doctor`; this module wires them to the real peers (the API
client, the stager, a daemon's ping, the MIDI ports, PortAudio in a child process) and
prints their lines as they come.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final

import httpx
from rich.console import Console
from rich.text import Text

from bridge import doctor
from bridge.ableton.install import default_target
from bridge.api import ProducerClient, RetryPolicy, make_http_client
from bridge.api.learned import Learned
from bridge.api.providers import provider_named
from bridge.api.usage import UsageClient
from bridge.audio.devices import probe_audio
from bridge.cli.backend import add_backend_options
from bridge.config import ApiSettings, Config, LoadedConfig, load_config
from bridge.doctor import Check, Lookup
from bridge.doctor.account import Balance, check_capabilities, check_credits
from bridge.errors import ConfigError
from bridge.midi.ports import probe_inputs
from bridge.staging import make_stager

SERVICE_TIMEOUT: Final = 10.0
FETCH_TIMEOUT: Final = 10.0
_STYLES: Final = {doctor.OK: "green", doctor.WARN: "yellow", doctor.FAIL: "bold red"}


def add_doctor_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor",
        help="check the set-up: configuration, service, stager, OSC, MIDI, folders, REAPER",
        description="Check every part of the set-up and print one line per check, with the "
        "fix for each problem. Exits 0 when nothing failed (warnings allowed), 1 otherwise. "
        "Runs even when the configuration is invalid: the other checks then use the defaults.",
    )
    parser.set_defaults(func=command)
    add_backend_options(parser)


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    # The doctor runs with a broken configuration too: that is its first finding.
    try:
        loaded, error = load_config(args.config), None
    except ConfigError as exc:
        loaded, error = None, exc
    return execute(args, loaded, error, out, err)


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
    account_url = service_url or config.api.url
    usage = _usage(args, config)
    learned = Learned(config.jobs.data_folder())
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
        ("ableton", lambda: doctor.check_ableton(config.ableton, default_target(), ask_live)),
        ("journal", lambda: doctor.check_journal(config.jobs.journal_path())),
        (
            "capabilities",
            lambda: check_capabilities(learned.summary(config.api.provider, account_url)),
        ),
        ("credits", lambda: check_credits(usage, usage_balance(config.api))),
    ]


def _styled(check: Check) -> Text:
    # Colour only on the status word; rich drops it when the output is not a terminal.
    line = doctor.render(check)
    label = doctor.LABELS[check.status]
    return Text.assemble((label, _STYLES[check.status]), line[len(label) :])


def _service(args: argparse.Namespace, config: Config) -> tuple[str | None, Callable[[], Check]]:
    """(the service's URL, None for the embedded emulator; its check), chosen as `run` and
    `serve` choose (see `bridge.app._backend`)."""
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


def _usage(args: argparse.Namespace, config: Config) -> tuple[str, str] | None:
    """(usage API URL, key), None with no account to ask (the embedded emulator); a
    `producer-bridge emulator` at --api-url serves its own on its port."""
    key = config.api.key.get_secret_value()
    if args.emulator or (not key and not args.api_url):
        return None
    if args.api_url and not key:
        return args.api_url, config.emulator.token
    return config.api.usage_url, key


# The real peers -------------------------------------------------------------------------


def usage_balance(api: ApiSettings) -> Balance:
    """The balance through the real usage client, with the doctor's short timeouts."""

    async def ask(url: str, key: str) -> float:
        async with make_http_client(
            connect_timeout=min(api.connect_timeout, SERVICE_TIMEOUT),
            read_timeout=min(api.read_timeout, SERVICE_TIMEOUT),
        ) as http:
            headers = provider_named(api.provider).usage_headers(key)
            return await UsageClient(http, base_url=url, headers=headers).credits()

    return lambda url, key: asyncio.run(ask(url, key))


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


def ask_live(port: int, timeout: float) -> str:
    """The version of the Live whose ProducerBridge script answers on `port`."""
    from bridge.ableton.script_link import RemoteScriptLink

    async def hello() -> str:
        async with RemoteScriptLink(port, timeout) as link:
            return (await link.hello()).live

    return asyncio.run(hello())


def open_midi_briefly(specs: Sequence[str]) -> list[str]:
    """Open every input as the daemon would, and close them: the problems found."""
    from bridge.midi.ports import MidiInputs

    with MidiInputs(specs, lambda spec, message: None) as inputs:
        return list(inputs.problems)
