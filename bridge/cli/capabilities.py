"""`producer-bridge capabilities`: what the bridge has learned the service offers and refuses."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from bridge.api.learned import Learned, summary_lines
from bridge.cli.args import load_settings


def add_capabilities_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "capabilities",
        help="what the service was seen to offer and refuse, per provider and model",
        description="Shows what the bridge learned from the service's answers (a refused "
        "action or model, with its date and message): nothing is sent to find out.",
    )
    parser.set_defaults(func=command)
    parser.add_argument("--api-url", help="the service's URL (default: api.url)")
    parser.add_argument("--forget", action="store_true", help="clear what was learned")
    parser.add_argument("--json", action="store_true", help="print it as JSON")


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    config = load_settings(args)
    learned = Learned(config.jobs.data_folder())
    if args.forget:
        forgot = learned.forget()
        out.print(
            f"forgot what was learned ({learned.path})" if forgot else "nothing was learned yet",
            markup=False,
        )
        return 0
    summary = learned.summary(config.api.provider, args.api_url or config.api.url)
    if args.json:
        out.print(summary.model_dump_json(), markup=False, highlight=False, soft_wrap=True)
        return 0
    for line in summary_lines(summary):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    return 0
