"""The start-at-login entry of each system, rendered from absolute paths.

Pure functions: what runs (`Launch`) in, the text of the file out. A systemd user unit on
Linux, a LaunchAgent property list on macOS, a `.cmd` file in the Startup folder on
Windows (a file, rather than a registry value, so that it can be written, read back and
checked on any system, and removed by deleting it).
"""

from __future__ import annotations

import plistlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Final

from bridge.errors import LoginError

NAME: Final = "producer-bridge"
UNIT_NAME: Final = f"{NAME}.service"
# A LaunchAgent's label is reverse-DNS by convention; "local." is the prefix for agents
# that belong to no domain of their own.
LAUNCHD_LABEL: Final = f"local.{NAME}"
CMD_NAME: Final = f"{NAME}.cmd"
DESCRIPTION: Final = "producer-bridge: the DAW's link to Producer (producer-bridge serve)"


@dataclass(frozen=True)
class Launch:
    """What starts at login: the command, its program first, every path absolute, and the
    file its output is appended to."""

    command: tuple[str, ...]
    log: PurePath

    @classmethod
    def serve(cls, python: PurePath, config: PurePath | None, log: PurePath) -> Launch:
        """`python -m bridge [--config FILE] serve`: the interpreter this bridge runs in."""
        named = ("--config", str(config)) if config is not None else ()
        return cls((str(python), "-m", "bridge", *named, "serve"), log)


def systemd_unit(launch: Launch) -> str:
    """A systemd user unit (`systemctl --user`): started with the user's session,
    restarted after a crash, its output appended to the log."""
    log = _systemd_text(_one_line(str(launch.log)))
    return "\n".join(
        [
            "[Unit]",
            f"Description={DESCRIPTION}",
            "",
            "[Service]",
            "Type=exec",
            f"ExecStart={' '.join(_systemd_word(word) for word in launch.command)}",
            "Environment=PYTHONUNBUFFERED=1",
            f"StandardOutput=append:{log}",
            f"StandardError=append:{log}",
            "Restart=on-failure",
            "RestartSec=5",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )


def _one_line(word: str) -> str:
    if "\n" in word or "\r" in word or "\0" in word:
        raise LoginError(f"a path with a line break cannot start at login: {word!r}")
    return word


def _systemd_text(text: str) -> str:
    # `%` starts a specifier in every value of a unit file.
    return text.replace("%", "%%")


def _systemd_word(word: str) -> str:
    # One argument of ExecStart: quoted, with `\` and `"` escaped and `$` kept literal.
    escaped = _one_line(word).replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return f'"{_systemd_text(escaped)}"'


def launch_agent(launch: Launch) -> bytes:
    """A LaunchAgent (`~/Library/LaunchAgents`): run at login, kept running after a crash,
    its output appended to the log."""
    return plistlib.dumps(
        {
            "Label": LAUNCHD_LABEL,
            "ProgramArguments": list(launch.command),
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},
            "EnvironmentVariables": {"PYTHONUNBUFFERED": "1"},
            "StandardOutPath": str(launch.log),
            "StandardErrorPath": str(launch.log),
            "ProcessType": "Interactive",
        }
    )


def startup_cmd(launch: Launch) -> str:
    """A batch file for the Startup folder: runs at login in a console window of its own
    (closing the window stops the daemon), its output appended to the log. CRLF lines, as
    cmd.exe expects."""
    lines = [
        "@echo off",
        f"rem {DESCRIPTION}; written by `producer-bridge service install`.",
        "set PYTHONUNBUFFERED=1",
        f"{_cmd_words(launch.command)} >> {_cmd_word(str(launch.log))} 2>&1",
        "",
    ]
    return "\r\n".join(lines)


def _cmd_words(words: Sequence[str]) -> str:
    return " ".join(_cmd_word(word) for word in words)


def _cmd_word(word: str) -> str:
    # Inside double quotes cmd.exe takes & | < > ^ literally; only % still expands.
    if '"' in _one_line(word):
        raise LoginError(f"a path with a double quote cannot start at login: {word!r}")
    return f'"{word.replace("%", "%%")}"'
