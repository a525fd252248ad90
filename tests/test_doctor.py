"""`producer-bridge doctor`: a real subprocess against real peers (the emulator, the stager, a
daemon, UDP sockets, folders), one set-up broken at a time; and the lines' own format."""

from __future__ import annotations

import argparse
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.cli.main import build_parser
from bridge.config import ReaperSettings
from bridge.doctor import (
    FAIL,
    IMPORT_SCRIPT,
    OK,
    WARN,
    Check,
    check_reaper,
    exit_code,
    guarded,
    merge,
    render,
)
from bridge.doctor.machine import check_audio
from bridge.emulator.server import EmulatorServer
from tests.daemon_harness import daemon_config, running_daemon
from tests.s3_server import (
    ACCESS_KEY_ID,
    BUCKET,
    SECRET_ACCESS_KEY,
    MotoS3,
    moto_s3_fixture,  # noqa: F401 - registers the fixture moto_s3 (behind s3_server)
    s3_server_fixture,  # noqa: F401 - registers the fixture s3_server
)

NAMES = [
    "config",
    "service",
    "stager",
    "osc",
    "midi",
    "drop folder",
    "audio output",
    "reaper",
    "ableton",
    "journal",
    "capabilities",
    "credits",
]

# The command as a separate program, in case the main parser does not list it (yet).
STANDALONE = """
import sys
from pathlib import Path
from rich.console import Console
from bridge.cli.main import build_parser
from bridge.cli.doctor import add_doctor_parser, execute
from bridge.config import load_config
from bridge.errors import ConfigError
from bridge.logs import setup_logging
parser = build_parser()
commands = next(a for a in parser._actions if a.dest == "command")
add_doctor_parser(commands)
args = parser.parse_args(sys.argv[1:])
setup_logging(args.verbose)
try:
    loaded, error = load_config(args.config), None
except ConfigError as exc:
    loaded, error = None, exc
out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
sys.exit(execute(args, loaded, error, out, err))
"""


def main_knows_doctor() -> bool:
    commands = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return any("doctor" in action.choices for action in commands)


@dataclass(frozen=True)
class Line:
    status: str
    detail: str
    fix: str


@dataclass(frozen=True)
class Report:
    code: int
    lines: dict[str, Line]
    out: str
    err: str

    def __getitem__(self, name: str) -> Line:
        return self.lines[name]


def parse(out: str) -> dict[str, Line]:
    lines = {}
    for text in out.splitlines():
        status, name, rest = text[:6].strip().lower(), text[6:19].strip(), text[19:]
        detail, _, fix = rest.partition(" → fix: ")
        lines[name] = Line(status, detail, fix)
    return lines


def doctor(config: Path, home: Path, *args: str) -> Report:
    argv = ["--config", str(config), "doctor", *args]
    if main_knows_doctor():
        command = [sys.executable, "-m", "bridge", *argv]
    else:
        command = [sys.executable, "-c", STANDALONE, *argv]
    # HOME decides where REAPER's scripts are looked for: the test's own folder.
    env = {**os.environ, "HOME": str(home)}
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=env, cwd=root, check=False
    )
    report = Report(done.returncode, parse(done.stdout), done.stdout, done.stderr)
    assert list(report.lines) == NAMES, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return report


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def config_with(
    jobs_config: Path, tmp_path: Path, port: int, *, api: str = "", **sections: str
) -> Path:
    path = daemon_config(jobs_config, tmp_path, port, **sections)
    if api:
        path.write_text(path.read_text().replace("[api]\n", f"[api]\n{api}\n"))
    return path


@pytest.fixture
def config(jobs_config: Path, tmp_path: Path, port: int) -> Path:
    return config_with(jobs_config, tmp_path, port)


def closed_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# A healthy set-up ---------------------------------------------------------------------------


def test_a_healthy_setup_passes_every_check_and_leaves_nothing_behind(
    config: Path, tmp_path: Path, home: Path, port: int, emulator: EmulatorServer
) -> None:
    # Installed by ReaPack: Scripts/<repository>/<category>/.
    installed = home / ".config" / "REAPER" / "Scripts" / "Producer Bridge" / "Producer Bridge"
    installed.mkdir(parents=True)
    (installed / IMPORT_SCRIPT).write_text("-- the import action")

    report = doctor(config, home, "--api-url", emulator.url)

    assert report.code == 0, report.out
    assert {line.status for line in report.lines.values()} <= {OK, WARN}
    assert report["config"].detail == f"{config} is valid"
    assert report["service"] == Line(
        OK, f"{emulator.url} answers and accepts the emulator's token (no API key set)", ""
    )
    assert report["stager"].status == OK
    assert report["stager"].detail.startswith("a clip staged at http://127.0.0.1:")
    assert report["osc"] == Line(OK, f"127.0.0.1:{port} (UDP) is free for the daemon", "")
    assert report["midi"].status == OK
    assert report["midi"].detail.startswith("no MIDI inputs configured")
    drop = tmp_path / "drop"
    assert report["drop folder"].status == WARN  # serve has not created it yet
    assert report["drop folder"].detail == f"{drop} can be created, but does not exist yet"
    assert "start `producer-bridge serve` once" in report["drop folder"].fix
    assert report["reaper"] == Line(OK, f"ProducerBridge scripts installed in {installed}", "")
    journal = tmp_path / "data" / "journal.sqlite3"
    assert report["journal"].status == OK
    assert str(journal) in report["journal"].detail
    assert "ready: " in report.err  # warnings allowed, nothing failed
    # Proving that folders can be created does not leave them behind.
    assert not drop.exists()
    assert not journal.exists()


def test_no_api_key_and_no_url_checks_the_built_in_emulator(config: Path, home: Path) -> None:
    report = doctor(config, home)
    assert report["service"] == Line(
        OK, "no API key: serve and run use the built-in emulator (it answers)", ""
    )
    assert report["stager"].status == OK  # the embedded emulator reaches loopback


# One thing broken at a time -----------------------------------------------------------------


def test_an_invalid_config_is_the_first_failure_and_the_other_checks_still_run(
    tmp_path: Path, home: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PRODUCER_API_KEY", "PRODUCER_API_URL", "PRODUCER_BRIDGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "bridge.toml"
    config.write_text('[api]\nurl = "ftp://nowhere"\n[osc]\nprot = 9110\n')

    report = doctor(config, home, "--api-url", emulator.url)

    assert report.code == 1
    line = report["config"]
    assert line.status == FAIL
    assert line.detail.startswith("invalid: ")
    assert "api.url: must start with http:// or https://" in line.detail
    assert "osc.prot" in line.detail
    assert "(the checks below use the built-in defaults)" in line.detail
    assert "producer-bridge config check" in line.fix
    # The rest ran, with the defaults.
    assert report["service"].status == OK
    assert report["stager"].status == OK
    assert report["journal"].status == OK


def test_a_refused_key_fails_the_service_check(
    jobs_config: Path, tmp_path: Path, home: Path, port: int, emulator: EmulatorServer
) -> None:
    config = config_with(jobs_config, tmp_path, port, api='key = "wrong"')
    report = doctor(config, home, "--api-url", emulator.url)
    assert report.code == 1
    line = report["service"]
    assert line.status == FAIL
    assert line.detail == f"{emulator.url} refused the key (HTTP 401)"
    assert "wrong" not in line.detail  # the key itself is never printed
    assert line.fix.startswith("check PRODUCER_API_KEY (or api.key)")
    assert report["stager"].status == OK


def test_an_unreachable_service_fails_the_service_check(config: Path, home: Path) -> None:
    url = f"http://127.0.0.1:{closed_tcp_port()}"
    report = doctor(config, home, "--api-url", url)
    assert report.code == 1
    line = report["service"]
    assert line.status == FAIL
    assert line.detail.startswith(f"cannot reach {url}: ")
    assert "taskId" not in line.detail  # a random id, noise to the reader
    assert line.fix == "start `producer-bridge emulator` there, or check --api-url (or api.url)"


def test_the_osc_port_taken_by_another_program_fails(
    config: Path, home: Path, port: int, emulator: EmulatorServer
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        report = doctor(config, home, "--api-url", emulator.url)
    assert report.code == 1
    assert report["osc"] == Line(
        FAIL,
        f"127.0.0.1:{port} (UDP) is taken by another program",
        "stop that program, or set osc.port to a free port (and the same port in the DAW's "
        "OSC set-up)",
    )


def test_the_osc_port_held_by_a_running_daemon_is_fine(
    config: Path, tmp_path: Path, home: Path, port: int, emulator: EmulatorServer
) -> None:
    with running_daemon(config, emulator.url, port):
        report = doctor(config, home, "--api-url", emulator.url)
    assert report["osc"] == Line(OK, f"a producer-bridge daemon is running on 127.0.0.1:{port}", "")
    # serve made the drop folder and its subfolders.
    assert report["drop folder"] == Line(
        OK, f"{tmp_path / 'drop'} is writable, with its subfolders", ""
    )
    assert report.code == 0, report.out


@pytest.fixture
def unwritable_drop(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A drop folder this process cannot write, and the verb of the failure.

    Root writes through any mode bits, so as root the folder is put under a regular file,
    where it cannot be created at all."""
    if os.geteuid() == 0:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        yield blocker / "drop", "create"
        return
    folder = tmp_path / "locked-drop"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        yield folder, "write in"
    finally:
        folder.chmod(stat.S_IRWXU)


def test_a_drop_folder_that_cannot_be_written_fails(
    jobs_config: Path,
    tmp_path: Path,
    home: Path,
    port: int,
    emulator: EmulatorServer,
    unwritable_drop: tuple[Path, str],
) -> None:
    folder, verb = unwritable_drop
    config = config_with(jobs_config, tmp_path, port, drop=f'folder = "{folder}"')
    report = doctor(config, home, "--api-url", emulator.url)
    assert report.code == 1
    line = report["drop folder"]
    assert line.status == FAIL
    assert line.detail.startswith(f"cannot {verb} {folder}: ")
    assert line.fix == "set drop.folder to a folder you can write, or fix its permissions"


def test_a_midi_input_that_does_not_exist_is_a_warning(
    jobs_config: Path, tmp_path: Path, home: Path, port: int, emulator: EmulatorServer
) -> None:
    config = config_with(jobs_config, tmp_path, port, midi='inputs = ["Launchpad"]')
    report = doctor(config, home, "--api-url", emulator.url)
    line = report["midi"]
    assert line.status == WARN
    assert line.detail.startswith("MIDI input 'Launchpad' ")
    assert "correct midi.inputs" in line.fix
    assert "the daemon runs without it" in line.fix
    assert report.code == 0, report.out


def test_a_local_stager_with_a_remote_service_fails(
    jobs_config: Path, tmp_path: Path, home: Path, port: int, emulator: EmulatorServer
) -> None:
    config = config_with(jobs_config, tmp_path, port)
    # 0.0.0.0 reaches the emulator here, but names no loopback address: to the bridge it is a
    # service elsewhere, which cannot fetch from this machine's loopback.
    remote = f"http://0.0.0.0:{emulator.url.rsplit(':', 1)[1]}"
    report = doctor(config, home, "--api-url", remote)
    assert report.code == 1
    assert report["service"].status == OK
    line = report["stager"]
    assert line.status == FAIL
    assert line.detail.startswith(f"the service at {remote} cannot fetch http://127.0.0.1:")
    assert line.detail.endswith(": only this machine can")
    assert "set staging.public_base_url" in line.fix
    assert 'staging.kind = "s3"' in line.fix


def s3_section(server: MotoS3, bucket: str = BUCKET) -> str:
    return (
        'kind = "s3"\n[staging.s3]\n'
        f'bucket = "{bucket}"\nendpoint_url = "{server.endpoint_url}"\nregion = "us-east-1"\n'
        f'addressing_style = "path"\naccess_key_id = "{ACCESS_KEY_ID}"\n'
        f'secret_access_key = "{SECRET_ACCESS_KEY}"'
    )


def test_an_s3_stager_is_checked_through_its_bucket(
    jobs_config: Path,
    tmp_path: Path,
    home: Path,
    port: int,
    emulator: EmulatorServer,
    s3_server: MotoS3,
) -> None:
    config = config_with(jobs_config, tmp_path, port, staging=s3_section(s3_server))
    report = doctor(config, home, "--api-url", emulator.url)
    assert report["stager"] == Line(
        OK,
        f"a clip staged at s3://{BUCKET}/producer-bridge/ at {s3_server.endpoint_url} was "
        "fetched back whole",
        "",
    )
    assert s3_server.keys() == []  # unstaged: the key was deleted
    assert SECRET_ACCESS_KEY not in report.out + report.err


def test_an_s3_bucket_that_does_not_exist_fails_with_the_s3_fix(
    jobs_config: Path,
    tmp_path: Path,
    home: Path,
    port: int,
    emulator: EmulatorServer,
    s3_server: MotoS3,
) -> None:
    staging = s3_section(s3_server, bucket="no-such-bucket")
    config = config_with(jobs_config, tmp_path, port, staging=staging)
    report = doctor(config, home, "--api-url", emulator.url)
    assert report.code == 1
    line = report["stager"]
    assert line.status == FAIL
    assert "no-such-bucket" in line.detail
    assert line.fix == "check [staging.s3]: bucket, endpoint_url, region and the credentials"


# The lines themselves -----------------------------------------------------------------------


def test_lines_have_fixed_columns_and_a_fix_only_when_given() -> None:
    assert render(Check("config", OK, "bridge.toml is valid")) == (
        "ok    config       bridge.toml is valid"
    )
    assert render(Check("osc", FAIL, "9110 is taken", "set osc.port")) == (
        "FAIL  osc          9110 is taken → fix: set osc.port"
    )
    assert render(Check("audio output", WARN, "no device", "plug one in")) == (
        "warn  audio output no device → fix: plug one in"
    )


def test_a_check_that_raises_becomes_a_failed_line_naming_the_exception() -> None:
    def broken() -> Check:
        raise KeyError("staging")

    line = guarded("stager", broken)
    assert line.status == FAIL
    assert line.name == "stager"
    assert line.detail == "the check itself failed: KeyError: 'staging'"
    assert "producer-bridge -vv doctor" in line.fix


def test_warnings_pass_and_any_failure_fails() -> None:
    assert exit_code([Check("a", OK, ""), Check("b", WARN, "")]) == 0
    assert exit_code([Check("a", OK, ""), Check("b", FAIL, "")]) == 1
    merged = merge("reaper", [Check("reaper", OK, "found"), Check("reaper", WARN, "half", "fix")])
    assert merged == Check("reaper", WARN, "found; half", "fix")


def test_reaper_scripts_copied_by_hand_and_a_half_configured_import(tmp_path: Path) -> None:
    resource = tmp_path / "REAPER"
    copied = resource / "Scripts" / "reaper_scripts"
    copied.mkdir(parents=True)
    (copied / IMPORT_SCRIPT).write_text("")
    line = check_reaper(ReaperSettings(import_action="_RS7f3a9c"), resource)
    assert line.status == WARN
    assert line.detail.startswith(f"ProducerBridge scripts installed in {copied}; ")
    assert "reaper.import_action is set without reaper.osc" in line.detail
    assert line.fix == 'set reaper.osc = "127.0.0.1:8000" (REAPER\'s OSC control surface port)'


def test_reaper_present_without_the_scripts_says_where_to_copy_them(tmp_path: Path) -> None:
    resource = tmp_path / "REAPER"
    (resource / "Scripts").mkdir(parents=True)
    line = check_reaper(ReaperSettings(), resource)
    assert line.status == WARN
    assert line.detail == f"no ProducerBridge scripts in {resource / 'Scripts'}"
    assert f"`producer-bridge install reaper` (into {resource / 'Scripts'})" in line.fix
    assert "ReaPack" in line.fix
    absent = check_reaper(ReaperSettings(), tmp_path / "nowhere")
    assert absent.status == OK
    assert absent.detail.startswith(f"no REAPER at {tmp_path / 'nowhere'}; ")


@pytest.mark.parametrize(
    ("found", "detail", "fix"),
    [
        ({"missing": "PortAudio library not found"}, "PortAudio cannot be used", "libportaudio2"),
        ({"hung": "PortAudio did not answer within 10 s"}, "did not answer", "sound server"),
        (
            {"crashed": "PortAudio crashed while loading (exit status -6)"},
            "crashed",
            "sound server",
        ),
    ],
)
def test_audio_output_problems_name_their_fix(
    found: dict[str, object], detail: str, fix: str
) -> None:
    check = check_audio(lambda: found)
    assert check.status == "warn"
    assert detail in check.detail
    assert check.fix is not None
    assert fix in check.fix
