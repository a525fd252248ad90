"""`producer-bridge credits`: the balance, and what the bridge's ledger says was spent."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from rich.console import Console

from bridge.api import make_http_client
from bridge.api.providers import provider_named
from bridge.api.usage import UsageClient
from bridge.app import open_journal
from bridge.cli.args import load_settings
from bridge.config import Config
from bridge.errors import BridgeError
from bridge.pipeline.spend import day_start, month_start, spent


def add_credits_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "credits",
        help="the balance, and what jobs cost today and this month",
        description="Asks the provider's usage API for the balance (a warning if it cannot "
        "tell) and adds up what the bridge's own ledger (the journal) recorded.",
    )
    parser.set_defaults(func=command)
    parser.add_argument("--usage-url", help="the usage API's URL (default: api.usage_url)")


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    config = load_settings(args)
    url = args.usage_url or config.api.usage_url
    if not config.api.key.get_secret_value() and not args.usage_url:
        err.print("warning: no API key set: there is no account to ask", markup=False)
    else:
        try:
            balance = asyncio.run(_balance(config, url))
            out.print(f"balance    {balance:g} credits ({url})", markup=False)
        except BridgeError as exc:
            err.print(f"warning: the balance is unknown: {exc.message}", markup=False)
    now = time.time()
    with open_journal(config) as journal:
        today = spent(journal.created_since(day_start(now)))
        month = spent(journal.created_since(month_start(now)))
    out.print(f"today      {today:g} credits spent by this bridge's jobs", markup=False)
    out.print(f"this month {month:g} credits spent by this bridge's jobs", markup=False)
    return 0


async def _balance(config: Config, url: str) -> float:
    key = config.api.key.get_secret_value() or config.emulator.token
    async with make_http_client(connect_timeout=5.0, read_timeout=10.0, wire="httpx") as http:
        headers = provider_named(config.api.provider).usage_headers(key)
        return await UsageClient(http, base_url=url, headers=headers).credits()
