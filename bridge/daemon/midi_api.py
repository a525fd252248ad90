"""The daemon's MIDI edge: messages, through the mapping, become context changes, triggers
and cancels. As the OSC handlers, it only checks and hands on; a refusal is told through
the feedback (there is no sender to answer), and the daemon keeps running."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final

from bridge.daemon.feedback import Origin
from bridge.daemon.intake import Intake
from bridge.errors import BridgeError, explain
from bridge.midi.mapping import Cancel, MidiMapping, SetParam, Trigger

log = logging.getLogger(__name__)

CANCELLABLE: Final = 16  # the latest jobs a MIDI cancel can reach, newest first

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class MidiHandlers:
    def __init__(self, intake: Intake, mapping: MidiMapping, spawn: Spawn) -> None:
        self._intake = intake
        self._mapping = mapping
        self._spawn = spawn  # starts a coroutine as a task the daemon keeps track of
        self._jobs: list[str] = []  # ids of the jobs MIDI started, oldest first

    def handle(self, spec: str, message: Any) -> None:
        origin = Origin("midi", None, spec)
        for command in self._mapping.handle(message):
            try:
                self._command(command, origin)
            except BridgeError as exc:
                self._intake.feedback.rejected(origin, f"MIDI {message}", explain(exc))

    def _command(self, command: Trigger | SetParam | Cancel, origin: Origin) -> None:
        intake = self._intake
        if isinstance(command, SetParam):
            name, value = command.name, command.value
            intake.change_context(f"param:{name}", lambda c: c.set_param(name, value))
        elif isinstance(command, Cancel):
            if self._jobs:
                intake.cancel(self._jobs.pop())
        else:
            intake.context.request(command.name, intake.presets)  # unknown names fail here
            self._spawn(self._trigger(command.name, origin))

    async def _trigger(self, name: str, origin: Origin) -> None:
        try:
            job = await self._intake.trigger(name, origin)
        except BridgeError as exc:
            self._intake.feedback.rejected(origin, f"trigger {name}", explain(exc))
            return
        self._jobs = [*self._jobs[-(CANCELLABLE - 1) :], job.id]
