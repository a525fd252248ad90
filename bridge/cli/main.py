"""The command line of `producer-bridge` (and `python -m bridge`).

Each command lives in a module of its own, which names its function with
`set_defaults(func=...)`. Only the module of the command that runs is imported: `--version`
and a mistyped command answer without loading the service client, the audio stack or the
emulator.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bridge import __version__

if TYPE_CHECKING:
    from rich.console import Console

log = logging.getLogger(__name__)

# The command modules and the function in each that adds its parsers, in the order
# `--help` lists them; "config" is this module's own.
_COMMANDS: Final = (
    ("run", "bridge.cli.run", "add_run_parser"),
    ("serve", "bridge.cli.serve", "add_serve_parsers"),
    ("submit", "bridge.cli.serve", "add_serve_parsers"),
    ("jobs", "bridge.cli.jobs", "add_jobs_parser"),
    ("emulator", "bridge.cli.emulator", "add_emulator_parser"),
    ("midi-learn", "bridge.cli.midi_learn", "add_midi_learn_parser"),
    ("doctor", "bridge.cli.doctor", "add_doctor_parser"),
    ("capabilities", "bridge.cli.capabilities", "add_capabilities_parser"),
    ("credits", "bridge.cli.credits", "add_credits_parser"),
    ("play", "bridge.cli.play", "add_play_parser"),
    ("install", "bridge.cli.install", "add_install_parser"),
    ("reapack-index", "bridge.cli.reapack", "add_reapack_parser"),
    ("service", "bridge.cli.service", "add_service_parser"),
)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"producer-bridge {__version__}")
    parser.add_argument("--config", type=Path, help="configuration file (TOML)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, the parsers of that command alone."""
    parser = argparse.ArgumentParser(
        prog="producer-bridge",
        description="Connects your DAW to the Producer music-generation API.",
    )
    _add_common(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    added: set[str] = set()
    for name, module, adder in _COMMANDS:
        if (only is None or name == only) and adder not in added:
            getattr(importlib.import_module(module), adder)(commands)
            added.add(adder)
    if only is None or only == "config":
        config = commands.add_parser("config", help="show or check the configuration")
        config.add_argument("what", choices=("show", "check"))
        config.set_defaults(func=_config)
    return parser


def _command_named(argv: Sequence[str] | None) -> str | None:
    """The command `argv` runs, read before any command module is loaded; `--version`
    given before it answers here."""
    known = {name for name, _, _ in _COMMANDS} | {"config"}
    first = argparse.ArgumentParser(prog="producer-bridge", add_help=False, exit_on_error=False)
    _add_common(first)
    first.add_argument("command", nargs="?")
    first.add_argument("rest", nargs=argparse.REMAINDER)
    try:
        found = first.parse_known_args(argv)[0].command
    except argparse.ArgumentError:
        return None  # the whole parser says what is wrong, in its own words
    return found if found in known else None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(_command_named(argv)).parse_args(argv)
    from rich.console import Console

    from bridge.errors import BridgeError, ConfigError, explain
    from bridge.logs import setup_logging

    setup_logging(args.verbose)
    # No ":name:" emoji codes: paths and titles print as they are.
    out = Console(soft_wrap=True, emoji=False)
    err = Console(stderr=True, soft_wrap=True, emoji=False)
    command: Callable[[argparse.Namespace, Console, Console], int] = args.func
    try:
        return command(args, out, err)
    except ConfigError as exc:
        # A configuration file is fixed at leisure: every problem on a line of its own.
        err.print(f"error: {explain(exc)}", markup=False, highlight=False)
        return 1
    except BridgeError as exc:
        err.print(f"error: {explain(exc, one_line=True)}", markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:
        err.print(
            "interrupted; unfinished jobs are kept: producer-bridge jobs resume", markup=False
        )
        return 130


def _config(args: argparse.Namespace, out: Console, err: Console) -> int:
    from bridge.config import check_report, load_config, render_toml

    loaded = load_config(args.config)
    text = render_toml(loaded) if args.what == "show" else check_report(loaded)
    out.print(text, markup=False, highlight=False, soft_wrap=True)
    return 0
