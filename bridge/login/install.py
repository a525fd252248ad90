"""Installing, removing and reporting the start-at-login entry of one user.

The machine (its kind and the user's home) is passed in, and so is `run`, which runs the
programs that switch an entry on or off (`systemctl --user`, `launchctl`) and answers None
when a program is not there; where one cannot run, the lines say what to run instead.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bridge.errors import LoginError
from bridge.files import replace_bytes_atomic
from bridge.login.entries import (
    CMD_NAME,
    LAUNCHD_LABEL,
    UNIT_NAME,
    Launch,
    launch_agent,
    startup_cmd,
    systemd_unit,
)

Kind = Literal["linux", "macos", "windows"]
Command = tuple[str, ...]


@dataclass(frozen=True)
class Ran:
    """How a program ended: its exit code and what it printed."""

    code: int
    output: str


Runner = Callable[[Command], Ran | None]  # None: the program is not on this machine


@dataclass(frozen=True)
class Machine:
    """Whose login, on which kind of system; `uid` names macOS's per-user launchd domain,
    `appdata` is Windows' %APPDATA% and `config_home` Linux's $XDG_CONFIG_HOME (None: their
    defaults under the home)."""

    kind: Kind
    home: Path
    uid: int = 0
    appdata: Path | None = None
    config_home: Path | None = None

    def entry_path(self) -> Path:
        if self.kind == "linux":
            return (self.config_home or self.home / ".config") / "systemd" / "user" / UNIT_NAME
        if self.kind == "macos":
            return self.home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        roaming = self.appdata or self.home / "AppData" / "Roaming"
        return roaming / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup" / CMD_NAME

    def entry(self, launch: Launch) -> bytes:
        if self.kind == "linux":
            return systemd_unit(launch).encode()
        if self.kind == "macos":
            return launch_agent(launch)
        return startup_cmd(launch).encode()

    def switch_on(self) -> list[Command]:
        if self.kind == "linux":
            user = ("systemctl", "--user")
            return [
                (*user, "daemon-reload"),
                (*user, "enable", UNIT_NAME),
                (*user, "restart", UNIT_NAME),
            ]
        if self.kind == "macos":
            return [("launchctl", "bootstrap", f"gui/{self.uid}", str(self.entry_path()))]
        return []

    def switch_off(self) -> list[Command]:
        if self.kind == "linux":
            return [("systemctl", "--user", "disable", "--now", UNIT_NAME)]
        if self.kind == "macos":
            return [("launchctl", "bootout", f"gui/{self.uid}/{LAUNCHD_LABEL}")]
        return []

    def leftovers(self) -> list[Command]:
        """What stops a daemon started by an entry that is no longer there."""
        if self.kind == "linux":
            return [
                ("systemctl", "--user", "stop", UNIT_NAME),
                ("systemctl", "--user", "daemon-reload"),
            ]
        return self.switch_off()

    def queries(self) -> list[Command]:
        if self.kind == "linux":
            return [
                ("systemctl", "--user", verb, UNIT_NAME) for verb in ("is-enabled", "is-active")
            ]
        if self.kind == "macos":
            return [("launchctl", "print", f"gui/{self.uid}/{LAUNCHD_LABEL}")]
        return []


def install(machine: Machine, launch: Launch, run: Runner) -> list[str]:
    """Write the entry (over an earlier one) and switch it on; the lines to show."""
    path = machine.entry_path()
    if machine.kind == "macos" and path.exists():
        _run_all(run, machine.switch_off())  # launchd loads a label once: unload the old one
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        Path(launch.log).parent.mkdir(parents=True, exist_ok=True)
        replace_bytes_atomic(path, machine.entry(launch))
    except OSError as exc:
        raise LoginError(f"cannot write {path}: {exc.strerror or exc}") from exc
    lines = [f"wrote {path}", f"  runs: {shlex.join(launch.command)}", f"  logs: {launch.log}"]
    if machine.kind == "windows":
        return [*lines, f"it starts at your next login; to start it now, open {path}"]
    problem = _run_all(run, machine.switch_on())
    return [*lines, problem or "started now, and at every login"]


def uninstall(machine: Machine, run: Runner) -> list[str]:
    """Switch the entry off and remove it; the lines to show."""
    path = machine.entry_path()
    if not path.exists():
        return [f"nothing to remove: there is no {path}"]
    problem = _run_all(run, machine.switch_off(), instead=machine.leftovers())
    # What `systemctl --user enable` links, removed here too when systemctl could not.
    wants = path.parent / "default.target.wants" / path.name
    try:
        path.unlink()
        if wants.is_symlink():
            wants.unlink()
    except OSError as exc:
        raise LoginError(f"cannot remove {path}: {exc.strerror or exc}") from exc
    if machine.kind == "linux" and problem is None:
        problem = _run_all(run, [("systemctl", "--user", "daemon-reload")])
    lines = [f"removed {path}; the daemon no longer starts at login"]
    return lines + ([problem] if problem else [])


def status(machine: Machine, launch: Launch, run: Runner) -> tuple[bool, list[str]]:
    """Whether the entry is there, and the lines that say so, what it runs and what the
    system says of it."""
    path = machine.entry_path()
    if not path.exists():
        return False, [f"not installed: there is no {path} (`producer-bridge service install`)"]
    try:
        current = path.read_bytes()
    except OSError as exc:
        raise LoginError(f"cannot read {path}: {exc.strerror or exc}") from exc
    same = current == machine.entry(launch)
    lines = [
        f"installed: {path}",
        f"  runs: {shlex.join(launch.command)}"
        if same
        else "  it was written for another installation or configuration; "
        "`producer-bridge service install` writes it for this one",
    ]
    for query in machine.queries():
        ran = run(query)
        said = "not on this machine" if ran is None else _first_line(ran)
        lines.append(f"  {shlex.join(query)}: {said}")
    return True, lines


def _run_all(
    run: Runner, commands: Sequence[Command], instead: Sequence[Command] | None = None
) -> str | None:
    """Run each command in turn; at the first that cannot, what to run by hand: the rest
    of them, or `instead`."""
    for index, command in enumerate(commands):
        ran = run(command)
        if ran is not None and ran.code == 0:
            continue
        why = f"{command[0]} is not on this machine" if ran is None else _first_line(ran)
        by_hand = commands[index:] if instead is None else instead
        rest = " && ".join(shlex.join(each) for each in by_hand)
        return f"could not run `{shlex.join(command)}` ({why}); run it where it can: {rest}"
    return None


def _first_line(ran: Ran) -> str:
    lines = [line.strip() for line in ran.output.splitlines() if line.strip()]
    return lines[0] if lines else f"exit code {ran.code}"
