"""`producer-bridge service`: start the daemon at login (install, uninstall, status)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from bridge.config import ENV_CONFIG, LoadedConfig, load_config
from bridge.errors import LoginError
from bridge.login import Launch, Machine, Ran, install, status, uninstall
from bridge.login.install import Command, Kind

_KINDS: dict[str, Kind] = {"linux": "linux", "darwin": "macos", "win32": "windows"}
LOG_NAME = "serve.log"


def add_service_parser(commands: Any) -> None:
    service = commands.add_parser(
        "service",
        help="start the daemon at login: install, uninstall, status",
        description=(
            "Writes (or removes) this user's start-at-login entry for `producer-bridge "
            "serve`: a systemd user unit on Linux, a LaunchAgent on macOS, a file in the "
            "Startup folder on Windows. It runs this installation's Python with absolute "
            "paths, with the configuration file given by --config (or "
            f"${ENV_CONFIG}), and appends its output to {LOG_NAME} in the data folder."
        ),
    )
    service.add_argument("what", choices=("install", "uninstall", "status"))
    service.set_defaults(func=command)


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    machine = this_machine()
    if args.what == "uninstall":
        _print(out, uninstall(machine, run_program))
        return 0
    launch = launch_of(args.config, load_config(args.config))
    if args.what == "install":
        _print(out, install(machine, launch, run_program))
        return 0
    installed, lines = status(machine, launch, run_program)
    _print(out, lines)
    return 0 if installed else 1


def this_machine() -> Machine:
    kind = _KINDS.get(sys.platform)
    if kind is None:
        raise LoginError(f"no start-at-login entry is known for {sys.platform}")
    appdata, config_home = (os.environ.get(name, "") for name in ("APPDATA", "XDG_CONFIG_HOME"))
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Machine(
        kind,
        Path.home(),
        uid,
        Path(appdata) if appdata else None,
        # systemd, like the XDG specification, ignores a relative $XDG_CONFIG_HOME.
        Path(config_home) if Path(config_home).is_absolute() else None,
    )


def launch_of(given: Path | None, loaded: LoadedConfig) -> Launch:
    """This interpreter (not resolved: a virtual environment's python is a link), the
    configuration named on the command line or in the environment, the data folder's log."""
    named = given is not None or bool(os.environ.get(ENV_CONFIG, "").strip())
    config = loaded.source.absolute() if named and loaded.source is not None else None
    data = loaded.config.jobs.journal_path().absolute().parent
    return Launch.serve(Path(sys.executable).absolute(), config, data / LOG_NAME)


def run_program(argv: Command) -> Ran | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - systemctl or launchctl, with fixed arguments
            argv, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Ran(1, str(exc))
    return Ran(done.returncode, done.stdout + done.stderr)


def _print(out: Console, lines: list[str]) -> None:
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
