"""`producer-bridge service`: the start-at-login entry of each system, written into a
temporary home and checked by the system's own tools where they exist (systemd-analyze,
plutil) and by reading it back (plistlib, the unit's and the batch file's lines)."""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path, PureWindowsPath

import pytest

from bridge.login import Launch, Machine, Ran, install, status, uninstall
from bridge.login.install import Command
from tests.conftest import need_tool

# Paths with a space, a percent sign and a dollar: each system has its own escaping.
PYTHON = Path(sys.executable).absolute()


def launch_in(tmp_path: Path) -> Launch:
    config = tmp_path / "my songs" / "100% $HOME bridge.toml"
    return Launch.serve(PYTHON, config, tmp_path / "data dir" / "serve.log")


class Programs:
    """The programs an entry is switched on with, as a machine without them answers, or
    one where each succeeds; every command asked for is kept."""

    def __init__(self, *, present: bool) -> None:
        self.present = present
        self.ran: list[Command] = []

    def __call__(self, command: Command) -> Ran | None:
        self.ran.append(command)
        return Ran(0, "enabled\n") if self.present else None


def unit_values(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return dict(pairs)


def test_the_systemd_user_unit_is_valid_and_runs_serve_with_absolute_paths(
    tmp_path: Path,
) -> None:
    analyze = need_tool("systemd-analyze", "systemd")
    launch = launch_in(tmp_path)
    machine = Machine("linux", tmp_path / "home")
    lines = install(machine, launch, Programs(present=False))
    unit = tmp_path / "home" / ".config" / "systemd" / "user" / "producer-bridge.service"
    assert lines[0] == f"wrote {unit}"
    # Offline, in system scope: `--user` needs a running user manager, and the checks of a
    # unit file's keys and values are the same. Warnings go to stderr with exit code 0.
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "")
    values = unit_values(unit.read_text())
    exec_start = values["ExecStart"].replace("$$", "$").replace("%%", "%")
    assert tuple(shlex.split(exec_start)) == launch.command
    assert launch.command[:3] == (str(PYTHON), "-m", "bridge")
    assert launch.command[3:] == (
        "--config",
        str(tmp_path / "my songs/100% $HOME bridge.toml"),
        "serve",
    )
    log = str(tmp_path / "data dir" / "serve.log")
    assert values["StandardOutput"] == values["StandardError"] == f"append:{log}"
    assert values["WantedBy"] == "default.target"
    assert (tmp_path / "data dir").is_dir()  # systemd appends to the log, in a folder that is there


def test_systemd_analyze_would_catch_a_broken_unit(tmp_path: Path) -> None:
    analyze = need_tool("systemd-analyze", "systemd")
    machine = Machine("linux", tmp_path / "home")
    install(machine, launch_in(tmp_path), Programs(present=False))
    unit = machine.entry_path()
    unit.write_text(unit.read_text().replace("Type=exec", "Type=exce"))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert "Failed to parse service type" in done.stderr


def test_on_linux_it_is_switched_on_with_systemctl_or_says_what_to_run(tmp_path: Path) -> None:
    machine = Machine("linux", tmp_path / "home")
    programs = Programs(present=True)
    assert install(machine, launch_in(tmp_path), programs)[-1] == "started now, and at every login"
    assert programs.ran == [
        ("systemctl", "--user", "daemon-reload"),
        ("systemctl", "--user", "enable", "producer-bridge.service"),
        ("systemctl", "--user", "restart", "producer-bridge.service"),
    ]
    without = install(machine, launch_in(tmp_path), Programs(present=False))
    assert without[-1] == (
        "could not run `systemctl --user daemon-reload` (systemctl is not on this machine); "
        "run it where it can: systemctl --user daemon-reload && systemctl --user enable "
        "producer-bridge.service && systemctl --user restart producer-bridge.service"
    )


def test_on_linux_the_unit_goes_where_xdg_config_home_says(tmp_path: Path) -> None:
    machine = Machine("linux", tmp_path / "home", config_home=tmp_path / "xdg")
    install(machine, launch_in(tmp_path), Programs(present=False))
    assert (tmp_path / "xdg" / "systemd" / "user" / "producer-bridge.service").is_file()
    assert not (tmp_path / "home").exists()


def test_uninstall_switches_it_off_and_removes_what_enable_linked(tmp_path: Path) -> None:
    machine = Machine("linux", tmp_path / "home")
    install(machine, launch_in(tmp_path), Programs(present=False))
    unit = machine.entry_path()
    wants = unit.parent / "default.target.wants" / unit.name
    wants.parent.mkdir()
    wants.symlink_to(unit)
    programs = Programs(present=True)
    assert uninstall(machine, programs) == [f"removed {unit}; the daemon no longer starts at login"]
    assert programs.ran == [
        ("systemctl", "--user", "disable", "--now", "producer-bridge.service"),
        ("systemctl", "--user", "daemon-reload"),
    ]
    assert not unit.exists()
    assert not wants.is_symlink()
    assert uninstall(machine, programs) == [f"nothing to remove: there is no {unit}"]


def test_the_launch_agent_reads_back_as_written(tmp_path: Path) -> None:
    launch = launch_in(tmp_path)
    machine = Machine("macos", tmp_path / "home", uid=501)
    programs = Programs(present=True)
    install(machine, launch, programs)
    plist = tmp_path / "home" / "Library" / "LaunchAgents" / "local.producer-bridge.plist"
    assert programs.ran == [("launchctl", "bootstrap", "gui/501", str(plist))]
    agent = plistlib.loads(plist.read_bytes())
    assert agent == {
        "Label": "local.producer-bridge",
        "ProgramArguments": list(launch.command),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "EnvironmentVariables": {"PYTHONUNBUFFERED": "1"},
        "StandardOutPath": str(launch.log),
        "StandardErrorPath": str(launch.log),
        "ProcessType": "Interactive",
    }
    plutil = shutil.which("plutil")  # macOS only: the property list's own checker
    if plutil is not None:
        subprocess.run([plutil, "-lint", str(plist)], check=True, capture_output=True)
    install(machine, launch, programs)  # again: launchd holds one label, the old one goes first
    assert programs.ran[1:] == [
        ("launchctl", "bootout", "gui/501/local.producer-bridge"),
        ("launchctl", "bootstrap", "gui/501", str(plist)),
    ]


def test_the_windows_startup_file_runs_serve_and_appends_to_the_log(tmp_path: Path) -> None:
    python = PureWindowsPath(r"C:\Users\Ann Lee\AppData\Local\Programs\Python\python.exe")
    config = PureWindowsPath(r"C:\Users\Ann Lee\100% & more\bridge.toml")
    log = PureWindowsPath(r"C:\Users\Ann Lee\AppData\Local\producer-bridge\serve.log")
    appdata = tmp_path / "Roaming"
    machine = Machine("windows", tmp_path / "home", appdata=appdata)
    lines = install(machine, Launch.serve(python, config, log), Programs(present=False))
    startup = appdata / "Microsoft/Windows/Start Menu/Programs/Startup/producer-bridge.cmd"
    assert lines[-1] == f"it starts at your next login; to start it now, open {startup}"
    text = startup.read_bytes().decode()
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert text.split("\r\n")[2:4] == [
        "set PYTHONUNBUFFERED=1",
        rf'"{python}" "-m" "bridge" "--config" "C:\Users\Ann Lee\100%% & more\bridge.toml" '
        rf'"serve" >> "{log}" 2>&1',
    ]


def test_status_says_whether_it_is_there_and_whether_it_runs_this_installation(
    tmp_path: Path,
) -> None:
    machine = Machine("linux", tmp_path / "home")
    launch = launch_in(tmp_path)
    installed, lines = status(machine, launch, Programs(present=True))
    assert not installed
    assert lines[0].startswith("not installed: there is no ")
    install(machine, launch, Programs(present=False))
    installed, lines = status(machine, launch, Programs(present=True))
    assert installed
    assert lines[1] == f"  runs: {shlex.join(launch.command)}"
    assert lines[2] == "  systemctl --user is-enabled producer-bridge.service: enabled"
    other = Launch.serve(PYTHON, None, launch.log)
    _, lines = status(machine, other, Programs(present=False))
    assert "written for another installation or configuration" in lines[1]
    assert lines[2].endswith("is-enabled producer-bridge.service: not on this machine")


def test_the_command_writes_it_for_this_python_and_the_configuration_given(
    jobs_config: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    # No session bus: systemctl --user must not reach a user manager of the machine; and
    # the unit goes under the temporary home.
    gone = ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "XDG_CONFIG_HOME")
    env = {k: v for k, v in os.environ.items() if k not in gone}
    env["HOME"] = str(home)

    def service(what: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "bridge", "--config", jobs_config.name, "service", what]
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    done = service("install")
    assert done.returncode == 0, done.stderr
    if sys.platform != "linux":
        pytest.skip("the entry of this system is checked by the tests above")
    unit = (home / ".config/systemd/user/producer-bridge.service").read_text()
    command = (str(PYTHON), "-m", "bridge", "--config", str(jobs_config), "serve")
    assert tuple(shlex.split(unit_values(unit)["ExecStart"])) == command
    assert f"  logs: {tmp_path / 'data' / 'serve.log'}" in done.stdout.splitlines()
    assert service("status").returncode == 0
    assert "runs: " in service("status").stdout
    assert service("uninstall").returncode == 0
    assert service("status").returncode == 1
