"""Running the REAPER scripts under real Lua with the fake REAPER of tests/lua/fake_reaper.lua.

A scenario (project, items, time selection, ExtState, answers to dialogs) is written as JSON;
`tests/lua/run_script.lua` runs a script against it and prints what happened as JSON.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bridge.config import Config
from bridge.jobs.wire import Defaults
from tests.conftest import need_tool

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "reaper_scripts"
LIBRARY = SCRIPTS / "ProducerBridge"
LUA_TESTS = ROOT / "tests" / "lua"
RUNNER = LUA_TESTS / "run_script.lua"
GOLDEN = LUA_TESTS / "golden"
UPDATE_GOLDEN = os.environ.get("PRODUCER_BRIDGE_UPDATE_GOLDEN") == "1"

CONFIG = Config()
DEFAULTS = Defaults(CONFIG.models.default, CONFIG.models.known(), "/music/default-project")

_runs = itertools.count()


def lua() -> str:
    return need_tool("lua5.4", "lua5.4")


def script(name: str) -> Path:
    """`reaper_scripts/ProducerBridge - <name>.lua`."""
    path = SCRIPTS / f"ProducerBridge - {name}.lua"
    assert path.is_file(), path
    return path


def lua_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A small environment: the scripts read HOME (and XDG_DATA_HOME, LOCALAPPDATA)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "home")}
    env.update(extra)
    return env


def run_lua(args: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [lua(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env or lua_env(tmp_path),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_script(path: Path, scenario: dict[str, Any], tmp_path: Path, **env: str) -> dict[str, Any]:
    """Run one script against `scenario`; what happened, with the script's own error None."""
    scenario_file = tmp_path / f"scenario-{next(_runs)}.json"
    scenario_file.write_text(json.dumps(scenario), encoding="utf-8")
    out = run_lua([str(RUNNER), str(scenario_file), str(path)], tmp_path, lua_env(tmp_path, **env))
    result: dict[str, Any] = json.loads(out)
    assert result["globals"] == [], f"the script left globals: {result['globals']}"
    return result


def audio_item(
    source: Path | str | dict[str, Any],
    *,
    position: float = 64.0,
    length: float = 30.0,
    offset: float = 2.0,
    playrate: float = 1.0,
    selected: bool = True,
    **take: Any,
) -> dict[str, Any]:
    """An item with one take; `source` is a file or a source description."""
    spec = source if isinstance(source, dict) else {"file": str(source)}
    return {
        "position": position,
        "length": length,
        "selected": selected,
        "takes": [{"name": "take", "offset": offset, "playrate": playrate, "source": spec, **take}],
    }


class Studio:
    """A project folder, a drop folder and a scenario builder, all under `tmp_path`."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.project = tmp_path / "song"
        self.drop = tmp_path / "drop"
        self.take = self.project / "Audio" / "take.wav"
        for folder in (self.project / "Audio", self.drop / "requests", self.drop / "done"):
            folder.mkdir(parents=True, exist_ok=True)
        self.extstate: dict[str, dict[str, str]] = {
            "ProducerBridge": {"drop_folder": str(self.drop)}
        }

    def scenario(
        self,
        *,
        items: list[dict[str, Any]] | None = None,
        selection: tuple[float, float] | None = None,
        inputs: list[list[str] | None] | None = None,
        saved: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        return {
            "os": "Other",
            "project_file": str(self.project / "song.rpp") if saved else "",
            "project_srate": 48000,
            "project_srate_use": 1,
            "device_srate": 44100,
            "tracks": [{"name": "Track 1", "items": items if items is not None else []}],
            "selection": {"start": selection[0], "end": selection[1]} if selection else None,
            "extstate": self.extstate,
            "inputs": inputs or [],
            **extra,
        }

    def run(self, name: str, scenario: dict[str, Any], **env: str) -> dict[str, Any]:
        result = run_script(script(name), scenario, self.tmp, **env)
        self.extstate = result["extstate"] or {}
        return result

    def requests(self) -> list[Path]:
        return sorted((self.drop / "requests").iterdir())

    def placeholders(self, text: str) -> str:
        return text.replace(str(self.tmp), "<TMP>")
