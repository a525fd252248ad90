"""Copies our Live remote script (ProducerBridge) into a User Library's Remote Scripts folder.

Live looks for user remote scripts in the User Library: `~/Music/Ableton/User Library/Remote
Scripts` on macOS and `~/Documents/Ableton/User Library/Remote Scripts` on Windows (the
default User Library; Settings → Library shows where yours is). Live does not run on Linux:
there the same layout under ~/Music is used, and `--target` is what anyone installing into a
Windows or macOS library from Linux wants.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Final

from bridge.errors import AbletonError

PACKAGE: Final = "ProducerBridge"
SOURCE: Final = Path(__file__).resolve().parent / "remote_script" / PACKAGE


def default_target(platform: str = sys.platform, home: Path | None = None) -> Path:
    """The Remote Scripts folder of the default User Library on `platform`."""
    home = home or Path.home()
    parent = "Documents" if platform.startswith("win") else "Music"
    return home / parent / "Ableton" / "User Library" / "Remote Scripts"


def install_remote_script(target: Path | None = None) -> Path:
    """Copy ProducerBridge into `target` (a Remote Scripts folder; default: the User
    Library's), replacing an older copy; returns the installed package's folder."""
    folder = (target or default_target()).expanduser()
    destination = folder / PACKAGE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".{PACKAGE}.installing"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(SOURCE, staging, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.rmtree(destination, ignore_errors=True)
        staging.rename(destination)
    except OSError as exc:
        raise AbletonError(f"cannot install the remote script into {folder}: {exc}") from exc
    return destination
