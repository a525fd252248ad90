"""`producer-bridge install-ableton [--target DIR]`: put our remote script where Live finds it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from bridge.ableton.install import install_remote_script

NEXT_STEP = (
    "In Live: Settings → Link, Tempo & MIDI → Control Surface: choose ProducerBridge "
    "(Input: a pad controller to trigger from, or None; Output: None), then restart Live if "
    "it was running. Set ableton.enabled = true in the bridge's configuration."
)


def add_install_ableton_parser(commands: Any) -> None:
    install = commands.add_parser(
        "install-ableton",
        help="install the ProducerBridge remote script into Ableton Live's User Library",
        description="Copy the ProducerBridge remote script into the Remote Scripts folder of "
        "Live's User Library (macOS: ~/Music/Ableton/User Library/Remote Scripts; Windows: "
        "~/Documents/Ableton/User Library/Remote Scripts; Linux, where Live does not run: the "
        "macOS layout under ~/Music). Use --target for a User Library somewhere else.",
    )
    install.set_defaults(func=command)
    install.add_argument("--target", type=Path, help="the Remote Scripts folder to install into")


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    installed = install_remote_script(args.target)
    out.print(f"installed {installed}", markup=False, highlight=False)
    out.print(NEXT_STEP, markup=False, highlight=False)
    return 0
