"""Entry point of `producer-bridge` and `python -m bridge`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from bridge import __version__
from bridge.cli import doctor, emulator, jobs, midi_learn, play, run, serve
from bridge.config import check_report, load_config, render_toml
from bridge.errors import BridgeError, ConfigError, SubmitUncertainError
from bridge.logs import setup_logging

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="producer-bridge",
        description="Connects your DAW to the Producer music-generation API.",
    )
    parser.add_argument("--version", action="version", version=f"producer-bridge {__version__}")
    parser.add_argument("--config", type=Path, help="configuration file (TOML)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run.add_run_parser(commands)
    serve.add_serve_parsers(commands)
    jobs.add_jobs_parser(commands)
    emulator.add_emulator_parser(commands)
    midi_learn.add_midi_learn_parser(commands)
    doctor.add_doctor_parser(commands)
    play.add_play_parser(commands)
    config = commands.add_parser("config", help="show or check the configuration")
    config.add_argument("what", choices=("show", "check"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    try:
        return _dispatch(args, out, err)
    except ConfigError as exc:
        err.print(f"error: {exc.details()}", markup=False, highlight=False)
        return 1
    except SubmitUncertainError as exc:
        err.print(f"error: {exc.message}", markup=False, highlight=False)
        err.print(
            "Look the task up before trying again; the service may bill a repeat.", markup=False
        )
        return 1
    except BridgeError as exc:
        err.print(f"error: {exc.message}", markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:
        err.print(
            "interrupted; unfinished jobs are kept: producer-bridge jobs resume", markup=False
        )
        return 130


def _dispatch(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.command == "doctor":
        # The doctor runs with a broken configuration too: that is its first finding.
        try:
            found, error = load_config(args.config), None
        except ConfigError as exc:
            found, error = None, exc
        return doctor.execute(args, found, error, out, err)
    loaded = load_config(args.config)
    if args.command == "config":
        if args.what == "show":
            out.print(render_toml(loaded), markup=False, highlight=False, soft_wrap=True)
        else:
            out.print(check_report(loaded), markup=False, highlight=False, soft_wrap=True)
        return 0
    if args.command == "emulator":
        return emulator.execute(args, loaded.config, out)
    if args.command == "jobs":
        return jobs.execute(args, loaded.config, out, err)
    if args.command == "serve":
        return serve.serve(args, loaded.config, err)
    if args.command == "submit":
        return serve.submit(args, loaded.config, out, err)
    if args.command == "midi-learn":
        return midi_learn.execute(args, loaded.config, out, err)
    if args.command == "play":
        return play.execute(args, loaded.config, err)
    return run.execute(args, loaded.config, out, err)


if __name__ == "__main__":
    sys.exit(main())
