"""The doctor's Ableton Live line: which link is set, whether the remote script is installed,
and which Live answered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bridge.ableton.install import PACKAGE
from bridge.config import AbletonSettings
from bridge.doctor.report import OK, WARN, Check
from bridge.errors import AbletonError

# Asks the remote script on a UDP port who it is: Live's version, or AbletonError.
AskLive = Callable[[int, float], str]


def check_ableton(settings: AbletonSettings, scripts: Path, ask: AskLive) -> Check:
    """`scripts`: the Remote Scripts folder the script is looked for in."""
    if not settings.enabled:
        return Check("ableton", OK, "off (ableton.enabled = false)")
    if settings.link == "abletonosc":
        return Check(
            "ableton",
            OK,
            f"through AbletonOSC at {settings.host}:{settings.port} (not asked here; "
            "results stay in their folder)",
        )
    installed = (scripts / PACKAGE / "__init__.py").is_file()
    where = f"UDP 127.0.0.1:{settings.script_port}"

    try:
        live = ask(settings.script_port, settings.timeout)
    except AbletonError as exc:
        if not installed:
            return Check(
                "ableton",
                WARN,
                f"the ProducerBridge remote script is not in {scripts}, and Live did not answer",
                "run `producer-bridge install ableton` (--target for another User Library), "
                "then choose ProducerBridge as a Control Surface in Live",
            )
        return Check("ableton", WARN, exc.message, "start Live, or ignore this until you do")
    return Check("ableton", OK, f"Live {live} answered through ProducerBridge on {where}")
