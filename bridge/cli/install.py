"""`producer-bridge install DAW`: puts a DAW's scripts where the DAW finds them.

Each DAW is one subcommand, added by one function in `_TARGETS`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from rich.console import Console


def add_install_parser(commands: Any) -> None:
    install = commands.add_parser(
        "install",
        help="install a DAW's scripts without its package manager",
        description="Copy a DAW's scripts into the folder the DAW reads them from.",
    )
    targets = install.add_subparsers(dest="daw", required=True, metavar="DAW")
    for add in _TARGETS:
        add(targets)


def _add_reaper(targets: Any) -> None:
    reaper = targets.add_parser(
        "reaper",
        help="copy the REAPER scripts into REAPER's Scripts folder",
        description="Copy the REAPER scripts into <Scripts>/Producer Bridge/. Then, in REAPER, "
        "load and run 'ProducerBridge - Install actions' once: it adds every action to the "
        "Action list. Running this again updates the scripts.",
    )
    reaper.add_argument(
        "--target",
        type=Path,
        help="REAPER's Scripts folder (default: the one in REAPER's default resource path: "
        "~/.config/REAPER/Scripts, ~/Library/Application Support/REAPER/Scripts, or "
        "%%APPDATA%%\\REAPER\\Scripts)",
    )
    reaper.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="the reaper_scripts folder to copy (default: the one of this checkout)",
    )
    reaper.set_defaults(func=_install_reaper)


def _add_ableton(targets: Any) -> None:
    ableton = targets.add_parser(
        "ableton",
        help="install the ProducerBridge remote script into Ableton Live's User Library",
        description="Copy the ProducerBridge remote script into the Remote Scripts folder of "
        "Live's User Library (macOS: ~/Music/Ableton/User Library/Remote Scripts; Windows: "
        "~/Documents/Ableton/User Library/Remote Scripts; Linux, where Live does not run: the "
        "macOS layout under ~/Music). Use --target for a User Library somewhere else.",
    )
    ableton.add_argument("--target", type=Path, help="the Remote Scripts folder to install into")
    ableton.set_defaults(func=_install_ableton)


_TARGETS: Final[tuple[Callable[[Any], None], ...]] = (_add_reaper, _add_ableton)

# The one step the installer cannot take: Live chooses its control surfaces itself.
ABLETON_NEXT_STEP: Final = (
    "In Live: Settings → Link, Tempo & MIDI → Control Surface: choose ProducerBridge "
    "(Input: a pad controller to trigger from, or None; Output: None), then restart Live if "
    "it was running. Set ableton.enabled = true in the bridge's configuration."
)


def _install_reaper(args: argparse.Namespace, out: Console, err: Console) -> int:
    from bridge.install.reaper import bundled_scripts, default_target, install

    installed = install(args.target or default_target(), args.source or bundled_scripts())
    out.print(
        f"installed {len(installed.files)} files into {installed.folder}\n"
        "next, in REAPER: Actions → Show action list → New action → Load ReaScript…, pick\n"
        f"  {installed.install_actions}\n"
        "and run it once: it adds every Producer Bridge action to the Action list",
        markup=False,
        highlight=False,
    )
    return 0


def _install_ableton(args: argparse.Namespace, out: Console, err: Console) -> int:
    from bridge.ableton.install import install_remote_script

    installed = install_remote_script(args.target)
    out.print(f"installed {installed}", markup=False, highlight=False)
    out.print(ABLETON_NEXT_STEP, markup=False, highlight=False)
    return 0
