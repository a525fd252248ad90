"""`producer-bridge emulator`: the local stand-in for the Producer API, in the foreground."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from bridge.cli.args import load_settings
from bridge.config import Config, EmulatorSettings
from bridge.emulator.server import BANNER, EmulatorServer
from bridge.errors import ConfigError
from bridge.errors.describe import describe_errors

# Command-line options that override [emulator.faults], by attribute name.
_FAULT_OPTIONS = (
    ("latency", "seconds added before every answer"),
    ("rate_429", "share of requests answered 429 (0..1)"),
    ("retry_after", "Retry-After sent with 429 (s)"),
    ("rate_5xx", "share of requests answered 500/502/503 (0..1)"),
    ("rate_drop", "share of connections dropped without an answer (0..1)"),
    ("rate_truncate", "share of file downloads cut short (0..1)"),
    ("rate_task_failed", "share of tasks that end failed (0..1)"),
    ("rate_task_timeout", "share of tasks that end timeout (0..1)"),
)


def add_emulator_parser(commands: Any) -> None:
    emu = commands.add_parser(
        "emulator",
        help="serve a local stand-in for the Producer API (seeded DSP, not a model)",
        description=BANNER,
    )
    emu.set_defaults(func=command)
    emu.add_argument("--host", help="address to bind (default: emulator.host)")
    emu.add_argument("--port", type=int, help="port (default: emulator.port)")
    emu.add_argument("--token", help="Bearer token to accept (default: emulator.token)")
    emu.add_argument("--task-seconds", type=float, help="time from pending to completed")
    emu.add_argument(
        "--provider",
        help="the contract to speak: mountsea-fuzz (seven actions, FUZZ models), "
        "mountsea-lyria (create_music with 'Lyria 3 Pro' only) or acedata (AceData Cloud's "
        "snake_case contract, every action) (default: emulator.provider)",
    )
    emu.add_argument(
        "--credits", type=int, help="starting balance of the usage API (default: emulator.credits)"
    )
    emu.add_argument("--clips", type=int, default=1, help="clips per audios result (>1: a list)")
    faults = emu.add_argument_group("fault injection (default: [emulator.faults])")
    for name, text in _FAULT_OPTIONS:
        faults.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float, help=text)


def settings_from(args: argparse.Namespace, config: Config) -> EmulatorSettings:
    """The config's emulator section with the command line's overrides, re-validated."""
    base = config.emulator.model_dump()
    for name in ("host", "port", "token", "task_seconds", "provider", "credits"):
        if getattr(args, name, None) is not None:
            base[name] = getattr(args, name)
    rename = {"port": "--port", "host": "--host", "token": "--token"}
    rename |= {"provider": "--provider", "credits": "--credits"}
    rename["task_seconds"] = "--task-seconds"
    for name, _ in _FAULT_OPTIONS:
        rename[f"faults.{name}"] = f"--{name.replace('_', '-')}"
        if getattr(args, name) is not None:
            base["faults"][name] = getattr(args, name)
    try:
        return EmulatorSettings.model_validate(base)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, EmulatorSettings, rename)) from None


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    return execute(args, load_settings(args), out)


def execute(args: argparse.Namespace, config: Config, out: Console) -> int:
    settings = settings_from(args, config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with EmulatorServer(settings, models=config.models, clips_per_result=args.clips) as emulator:
        out.print(BANNER, markup=False, soft_wrap=True)
        out.print(f"listening on {emulator.url}  (Bearer token: {emulator.token})", markup=False)
        usage = (
            "none (AceData documents no usage API)"
            if settings.provider == "acedata"
            else f"{emulator.url}/api-user/credits (X-API-Key: {emulator.token}), "
            f"{settings.credits} credits"
        )
        out.print(f"contract: {settings.provider}; usage API: {usage}", markup=False)
        out.print(f"task counts: {emulator.url}/_emulator/stats", markup=False)
        active = {k: v for k, v in settings.faults.model_dump().items() if v and k != "seed"}
        out.print(f"faults: {active or 'none'}", markup=False)
        out.print("Ctrl-C stops it.", markup=False)
        # A wait without a timeout cannot be interrupted by Ctrl-C on Windows.
        while not stop.wait(0.5):
            pass
    out.print("emulator stopped", markup=False)
    return 0
