"""`producer-bridge serve` (the daemon) and `producer-bridge submit FILE` (one request)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from bridge.app import request_defaults
from bridge.cli.args import load_settings
from bridge.cli.backend import add_backend_options, service_choice
from bridge.cli.run import run_here
from bridge.config import Config
from bridge.daemon.client import DaemonClient, NoDaemon
from bridge.errors import Issue, RequestError
from bridge.jobs.wire import parse_json_object, parse_request


def add_serve_parsers(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the daemon: OSC, MIDI and drop-folder inputs feeding the job queue",
        description="Run until stopped (Ctrl-C or SIGTERM): take requests over OSC, MIDI and "
        "the drop folder, run them, write the results into the projects and tell the DAW. "
        "Unfinished jobs are resumed at start.",
    )
    serve.set_defaults(func=serve_command)
    serve.add_argument("--port", type=int, help="OSC port (default osc.port)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow osc.host to be an address other machines reach (prints a warning)",
    )
    add_backend_options(serve)
    submit = commands.add_parser(
        "submit",
        help="send one request file (the request schema) to the daemon, or run it here",
        description="Validate a request file and hand it to the running daemon; with no "
        "daemon answering on osc.port, run it in this process. Relative paths in the file "
        "are taken from the current folder.",
    )
    submit.set_defaults(func=submit_command)
    submit.add_argument("file", help="request JSON file, or - for standard input")
    submit.add_argument(
        "--no-wait", action="store_true", help="return once the daemon has accepted the job"
    )
    submit.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds to wait for the job (default 3600)"
    )
    add_backend_options(submit)


def serve_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    return serve(args, load_settings(args), err)


def submit_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    return submit(args, load_settings(args), out, err)


def serve(args: argparse.Namespace, config: Config, err: Console) -> int:
    from bridge.daemon.service import Daemon  # the inputs' libraries load only here

    if args.port is not None:
        config = config.model_copy(
            update={"osc": config.osc.model_copy(update={"port": args.port})}
        )
    daemon = Daemon(config, err, service_choice(args), allow_remote=args.allow_remote)

    async def main() -> None:
        daemon.install_signal_handlers()
        await daemon.run()

    asyncio.run(main())
    return 0


def submit(args: argparse.Namespace, config: Config, out: Console, err: Console) -> int:
    data = _absolute_paths(_read(args.file))
    request = parse_request(data, request_defaults(config))  # the daemon checks again; errors early
    try:
        client = DaemonClient(config.osc.host, config.osc.port)
        with client:
            job_id = client.submit(data)
            err.print(f"job {job_id[:8]} accepted by the daemon", markup=False)
            if args.no_wait:
                out.print(job_id, markup=False)
                return 0
            outcome = client.follow(job_id, args.timeout, err)
    except NoDaemon:
        err.print("no daemon answers on osc.port: running the job here", markup=False)
        return run_here(request, args, config, out, err)
    status, detail = outcome
    if status != "done":
        err.print(f"job {job_id[:8]} {status}: {detail}", markup=False, highlight=False)
        return 1
    out.print(detail, markup=False, highlight=False, soft_wrap=True)
    return 0


def _read(name: str) -> dict[str, Any]:
    """The request in `name` (`-`: standard input), decoded as the drop folder decodes it."""
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise RequestError([Issue(name, f"cannot read: {exc.strerror or exc}")]) from exc
    return parse_json_object(data, "standard input" if name == "-" else name)


def _absolute_paths(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for key, field in (("project", "folder"), ("clip", "path")):
        part = data.get(key)
        if isinstance(part, dict) and isinstance(part.get(field), str):
            # A path this system cannot hold stays as it is: the request schema names it.
            with contextlib.suppress(ValueError, OSError):
                data[key] = {**part, field: str(Path(part[field]).expanduser().resolve())}

    return data
