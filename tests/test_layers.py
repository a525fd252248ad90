"""Which way the package's imports go: the command line on top, audio below the project and
the doctor; and `--version` answering without the heavy part of the bridge."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.emulator.server import EmulatorServer
from tests.daemon_harness import Served, daemon_config, wait_until_serving

PACKAGE = Path(__file__).resolve().parents[1] / "bridge"


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def importers_of(prefix: str) -> set[str]:
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(name == prefix or name.startswith(prefix + ".") for name in imported_modules(path))
    }


def test_only_the_entry_point_and_the_command_line_import_the_command_line() -> None:
    outside = {name for name in importers_of("bridge.cli") if not name.startswith("cli/")}
    assert outside == {"__main__.py"}


@pytest.mark.parametrize("lower", ["bridge.doctor", "bridge.project", "bridge.cli"])
def test_audio_imports_nothing_that_sits_above_it(lower: str) -> None:
    assert not {name for name in importers_of(lower) if name.startswith("audio/")}


def test_installing_scripts_needs_only_the_errors_and_the_file_primitives() -> None:
    used = set()
    for path in (PACKAGE / "install").glob("*.py"):
        used |= {name for name in imported_modules(path) if name.startswith("bridge")}
    assert {name.split(".")[1] for name in used} <= {"errors", "files", "install"}


def test_the_login_room_is_used_by_the_command_line_alone_and_uses_only_the_ground() -> None:
    assert {name for name in importers_of("bridge.login") if not name.startswith("login/")} == {
        "cli/service.py"
    }
    used = set().union(*(imported_modules(path) for path in (PACKAGE / "login").glob("*.py")))
    rooms = {name.split(".")[1] for name in used if name.startswith("bridge.")}
    assert rooms <= {"errors", "files", "login"}


def test_the_version_answers_without_loading_the_runner_or_the_audio_stack() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bridge", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("producer-bridge ")
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    for heavy in ("bridge.pipeline", "bridge.config", "numpy", "httpx", "rich", "pydantic"):
        assert heavy not in loaded


HEAVY = ("numpy", "scipy", "boto3", "aiohttp", "pydantic")
# Runs the command line in a fresh interpreter, then names the heavy modules it loaded.
LOADED_AFTER = """
import sys
from bridge.__main__ import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = [name for name in {heavy!r} if name in sys.modules]
print("loaded:", ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--version"], ["run", "--help"]])
def test_the_version_and_run_help_load_no_heavy_library(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("producer-bridge " if argv == ["--version"] else "usage: ")
    assert done.stderr.splitlines()[-1] == "loaded: "


# What a job that decodes no audio and stages no clip loads none of. `run` loads no
# aiohttp either (its few requests go through httpx's own transport, `api/http.py`); the
# daemon's requests go through aiohttp, so an idle `serve` that asked for its credits has.
AUDIO_AND_SERVERS = ("numpy", "scipy", "soundfile", "soxr", "boto3")


def test_run_create_music_writes_its_wav_without_the_audio_stack_or_aiohttp(
    emulator: EmulatorServer, jobs_config: Path, tmp_path: Path
) -> None:
    run = ["--config", str(jobs_config), "run", "create_music", "--prompt", "warm piano"]
    run += ["--api-url", emulator.url, "--project", str(tmp_path / "project")]
    done = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER.format(heavy=(*AUDIO_AND_SERVERS, "aiohttp")), *run],
        capture_output=True,
        text=True,
        check=True,
    )
    written = [Path(line) for line in done.stdout.splitlines()]
    assert [path.name for path in written] == ["result.wav", "manifest.json"]
    assert all(path.is_file() for path in written)
    assert done.stderr.splitlines()[-1] == "loaded: "


def test_serve_waiting_for_jobs_loads_no_audio_stack(
    emulator: EmulatorServer, jobs_config: Path, tmp_path: Path, port: int
) -> None:
    config = daemon_config(jobs_config, tmp_path, port)
    serve = ["--config", str(config), "serve", "--api-url", emulator.url]
    served = Served(
        subprocess.Popen(
            [sys.executable, "-c", LOADED_AFTER.format(heavy=AUDIO_AND_SERVERS), *serve],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    try:
        wait_until_serving(served, port)
    finally:
        assert served.stop() == 0
    assert served.err.splitlines()[-1] == "loaded: "
