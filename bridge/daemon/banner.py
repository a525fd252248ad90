"""The lines `serve` prints at start: what listens where, which service, what was skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console

from bridge.api.usage import UsageClient
from bridge.config import AbletonSettings, OscSettings, ReaperSettings
from bridge.daemon.feedback import reaper_action
from bridge.errors import BridgeError
from bridge.net import is_loopback_url
from bridge.staging.factory import stager_base_url

_ORDER = (
    "service",
    "credits",
    "stager",
    "OSC",
    "MIDI",
    "drop",
    "results",
    "REAPER",
    "Ableton",
    "journal",
)
# Seconds the banner waits for the usage API: a slow one must not hold up serving.
CREDITS_TIMEOUT = 5.0


class Banner:
    def __init__(self) -> None:
        self.service = ""
        self._rows: list[tuple[str, str]] = []
        self._warnings: list[str] = []

    def row(self, label: str, text: str) -> None:
        self._rows.append((label, text))

    def warn(self, text: str) -> None:
        self._warnings.append(text)

    def osc(self, endpoint: Any, settings: OscSettings) -> None:
        answers = settings.reply_to or "the sender of each message"
        self.row("OSC", f"{endpoint.host}:{endpoint.port} (answers go to {answers})")

    def backend(self, url: str, stager: Any) -> None:
        self.service = url
        self.row("service", url)
        if stager is not None:
            where = stager_base_url(stager)
            self.row("stager", f"{where} (clips are staged here while the service fetches them)")

    async def credits(self, usage: UsageClient | None) -> None:
        """The balance, or a warning: the usage API is never a reason not to serve."""
        if usage is None:
            return
        try:
            balance = await asyncio.wait_for(usage.credits(), CREDITS_TIMEOUT)
        except (BridgeError, TimeoutError) as exc:
            reason = exc.message if isinstance(exc, BridgeError) else "no answer in time"
            self.warn(f"the balance is unknown: {reason}")
            return
        if is_loopback_url(self.service):
            # An emulator's wallet: there to try budgets with; nothing is paid.
            self.row("credits", f"{balance:g} left on the emulator (pretend: nothing is paid)")
            return
        self.row("credits", f"{balance:g} left (jobs record what they cost)")

    def reaper(self, settings: ReaperSettings) -> None:
        if settings.osc and settings.import_action:
            address, args = reaper_action(settings.import_action)
            message = " ".join((address, *args))
            self.row("REAPER", f"auto-import: {message} to {settings.osc}")
        else:
            self.row("REAPER", "auto-import off (set reaper.osc and reaper.import_action)")

    def ableton(self, settings: AbletonSettings | None, live: str | None = None) -> None:
        if settings is None:
            self.row("Ableton", "off (set ableton.enabled = true)")
        elif settings.link == "remote-script":
            answered = f"Live {live} answered" if live else "Live has not answered yet"
            self.row(
                "Ableton",
                f"ProducerBridge remote script on UDP 127.0.0.1:{settings.script_port} "
                f"({answered})",
            )
        else:
            self.row(
                "Ableton",
                f"AbletonOSC at {settings.host}:{settings.port}, answers on {settings.listen_port}",
            )

    def drop(self, folder: Any) -> None:
        if folder is None:
            self.row("drop", "off")
        else:
            self.row("drop", f"{folder.root} (one folder per action, and requests/)")

    def results(self, folder: Path) -> None:
        self.row("results", f"{folder} (for requests that name no project)")

    def midi(self, inputs: Any) -> None:
        opened = ", ".join(inputs.opened) or "none"
        self.row("MIDI", opened)
        for problem in inputs.problems:
            self.warn(problem)

    def journal(self, path: Path, resumed: int) -> None:
        self.row("journal", f"{path} ({resumed} unfinished job(s) resumed)")

    def show(self, console: Console) -> None:
        rows = sorted(self._rows, key=lambda row: _ORDER.index(row[0]))
        width = max(len(label) for label, _ in rows) + 1
        lines = ["producer-bridge is serving; stop it with Ctrl-C"]
        lines += [f"  {label + ':':<{width}} {text}" for label, text in rows]
        lines += [f"  warning: {text}" for text in self._warnings]
        console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
