"""`producer-bridge install reaper`: the REAPER scripts copied into REAPER's Scripts folder.

The action scripts (`ProducerBridge - *.lua`) and their library (`ProducerBridge/*.lua`) go
into `<Scripts>/Producer Bridge/`, where each action finds its library beside it. Running
"ProducerBridge - Install actions" once inside REAPER then adds every action to the Action
list. Each file is written whole (temporary name, then rename); a second install replaces
the scripts it wrote before and leaves every other file alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bridge.errors import InstallError
from bridge.files import replace_bytes_atomic

log = logging.getLogger(__name__)

FOLDER: Final = "Producer Bridge"  # under REAPER's Scripts folder
LIBRARY: Final = "ProducerBridge"  # the library's folder, beside the actions
ACTIONS_GLOB: Final = "ProducerBridge - *.lua"
INSTALL_ACTIONS: Final = "ProducerBridge - Install actions.lua"


def bundled_scripts() -> Path:
    """`reaper_scripts/` of the checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "reaper_scripts"


def scripts_folder(system: str, env: Mapping[str, str], home: Path) -> Path:
    """REAPER's Scripts folder in its default resource path on `system` (platform.system())."""
    if system == "Windows":
        appdata = env.get("APPDATA")
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
        return base / "REAPER" / "Scripts"
    if system == "Darwin":
        return home / "Library" / "Application Support" / "REAPER" / "Scripts"
    return home / ".config" / "REAPER" / "Scripts"


def script_files(source: Path) -> list[Path]:
    """The files to install, relative to `source`: the actions, then the library."""
    actions = sorted(path.relative_to(source) for path in source.glob(ACTIONS_GLOB))
    library = sorted(path.relative_to(source) for path in (source / LIBRARY).glob("*.lua"))
    if not actions or not library or Path(INSTALL_ACTIONS) not in actions:
        raise InstallError(
            f"{source} does not hold the REAPER scripts (ProducerBridge - *.lua and "
            f"{LIBRARY}/): give the reaper_scripts folder of a producer-bridge checkout "
            "with --from"
        )
    return actions + library


@dataclass(frozen=True)
class Installed:
    folder: Path
    files: tuple[Path, ...]

    @property
    def install_actions(self) -> Path:
        return self.folder / INSTALL_ACTIONS


def install(target: Path, source: Path) -> Installed:
    """Copies the scripts from `source` into `target`/Producer Bridge/."""
    names = script_files(source)
    folder = target / FOLDER
    written: list[Path] = []
    for name in names:
        dest = folder / name
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            replace_bytes_atomic(dest, (source / name).read_bytes())
        except OSError as exc:
            raise InstallError(
                f"cannot write {dest}: {exc.strerror or exc}; check that REAPER's Scripts "
                "folder is writable, or give another one with --target"
            ) from exc
        written.append(dest)
        log.debug("installed %s", dest)
    log.info("installed %d REAPER script files into %s", len(written), folder)
    return Installed(folder, tuple(written))


def default_target() -> Path:
    """REAPER's Scripts folder on this machine."""
    import platform

    return scripts_folder(platform.system(), os.environ, Path.home())
