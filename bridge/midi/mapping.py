"""What a MIDI message means to the bridge: the `[midi.map]` table, parsed and applied.

Pure: no ports, no threads, no I/O. Keys name a message, values say what it does::

    "note 36"        = "replace_music"        # note-on (velocity > 0), any channel
    "note 37 ch 10"  = "trigger disco"        # channel 10 only (channels count 1..16)
    "cc 20"          = "music_variation"      # a press: the value rises across 64
    "cc 21"          = "extend_music at 100"  # a press at threshold 100 instead
    "cc 22"          = "set strength 0.2..1"  # the value 0..127 scaled onto 0.2..1.0
    "program 3"      = "cover_music"          # program change 3
    "note 38"        = "cancel"               # cancel the newest job started from MIDI

A key with a channel wins over the same key without one, so one pad can be remapped on a
single channel while the any-channel entry covers the rest.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, cast

import mido

from bridge.errors import ConfigError, Issue

__all__ = [
    "PARAMS",
    "Cancel",
    "Command",
    "MidiMapping",
    "SetParam",
    "Trigger",
    "describe",
    "parse_mapping",
    "validate_mapping",
]

log = logging.getLogger(__name__)

Kind = Literal["note", "cc", "program"]

DEFAULT_THRESHOLD: Final = 64
# Context parameters a knob may set: (lowest, highest, whole numbers only). The bounds are
# the widest any action accepts (strength goes down to -1 for create_music only); the
# action's own rules are checked when a job is built.
PARAMS: Final[dict[str, tuple[float, float, bool]]] = {
    "strength": (-1.0, 1.0, False),
    "weirdness": (0.0, 1.0, False),
    "lyricsStrength": (0.0, 1.0, False),
    "coverStrength": (0.0, 1.0, False),
    "extendDuration": (0.0, math.inf, False),
    "seed": (0.0, math.inf, True),
}
_PARAM_BY_LOWER: Final = {name.lower(): name for name in PARAMS}

_KEY = re.compile(r"(note|cc|program)\s+(\d+)(?:\s+ch\s+(\d+))?", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(rf"({_NUMBER})\.\.({_NUMBER})")

KEY_HELP: Final = 'must be "note N", "cc N" or "program N", optionally followed by "ch C"'
VALUE_HELP: Final = (
    'must be "NAME", "trigger NAME" or "cancel" (with a cc key, optionally followed by '
    '"at T", T 1..127), or "set PARAM LOW..HIGH" with a cc key; NAME is letters, digits, '
    '"_" or "-"'
)


@dataclass(frozen=True)
class Trigger:
    """Start the action or preset called `name`."""

    name: str


@dataclass(frozen=True)
class SetParam:
    """Set context parameter `name` (wire spelling, e.g. lyricsStrength) to `value`."""

    name: str
    value: float | int


@dataclass(frozen=True)
class Cancel:
    """Cancel the newest job started from MIDI."""


Command = Trigger | SetParam | Cancel


@dataclass(frozen=True)
class _Key:
    kind: Kind
    number: int
    channel: int | None  # 1..16 as users count; None: any channel


@dataclass(frozen=True)
class _Press:
    command: Trigger | Cancel
    threshold: int  # cc only; notes and programs press on every message


@dataclass(frozen=True)
class _Scale:
    param: str
    low: float
    high: float
    whole: bool

    def value(self, cc_value: int) -> float | int:
        # The top of the travel is exactly HIGH, not HIGH give or take a rounding error.
        scaled = (
            self.high if cc_value >= 127 else self.low + (self.high - self.low) * cc_value / 127
        )
        return round(scaled) if self.whole else scaled


_Binding = _Press | _Scale


class _Invalid(ValueError):
    """One entry's problem, as the message the user reads."""


def _got(text: str) -> str:
    # Double quotes, as the user wrote the entry in TOML.
    return f'(got "{text}")'


def _parse_key(text: str) -> _Key:
    match = _KEY.fullmatch(text.strip())
    if match is None:
        raise _Invalid(f"{KEY_HELP} {_got(text)}")
    kind, number, channel = match.group(1).lower(), int(match.group(2)), match.group(3)
    if number > 127:
        raise _Invalid(f"the {kind} number must be 0..127 (got {number})")
    if channel is not None and not 1 <= int(channel) <= 16:
        raise _Invalid(f"the channel must be 1..16 (got {int(channel)})")
    return _Key(cast(Kind, kind), number, None if channel is None else int(channel))


def _parse_value(text: str, kind: Kind) -> _Binding:
    words = text.split()
    if not words:
        raise _Invalid(f"{VALUE_HELP} {_got(text)}")
    if words[0].lower() == "set":
        if kind != "cc":
            raise _Invalid(f'"set" needs a cc key (a knob or fader), not {kind} {_got(text)}')
        return _parse_set(words[1:], text)
    threshold = DEFAULT_THRESHOLD
    if len(words) >= 2 and words[-2].lower() == "at":
        if kind != "cc":
            raise _Invalid(f'"at T" works only with a cc key, not {kind} {_got(text)}')
        threshold = _parse_threshold(words[-1])
        words = words[:-2]
    return _Press(_parse_press(words, text), threshold)


def _parse_press(words: list[str], text: str) -> Trigger | Cancel:
    if len(words) == 1 and words[0].lower() == "cancel":
        return Cancel()
    # "trigger NAME" lets a preset be called "cancel" or "set".
    if words and words[0].lower() == "trigger":
        words = words[1:]
    if len(words) != 1 or not _NAME.fullmatch(words[0]):
        raise _Invalid(f"{VALUE_HELP} {_got(text)}")
    return Trigger(words[0])


def _parse_threshold(word: str) -> int:
    if not word.isdigit() or not 1 <= int(word) <= 127:
        raise _Invalid(f'the threshold in "at T" must be a whole number 1..127 (got {word!r})')
    return int(word)


def _parse_set(words: list[str], text: str) -> _Scale:
    usage = f'must be "set PARAM LOW..HIGH", e.g. "set strength 0.2..1" {_got(text)}'
    if len(words) != 2:
        raise _Invalid(usage)
    param = _PARAM_BY_LOWER.get(words[0].lower())
    if param is None:
        raise _Invalid(f"PARAM must be one of {', '.join(PARAMS)} (got {words[0]!r})")
    match = _RANGE.fullmatch(words[1])
    if match is None:
        raise _Invalid(usage)
    low, high = float(match.group(1)), float(match.group(2))
    lowest, highest, whole = PARAMS[param]
    if whole and not (low.is_integer() and high.is_integer()):
        raise _Invalid(f"{param} takes whole numbers (got {words[1]!r})")
    if low == high:
        raise _Invalid(f"LOW and HIGH must differ (got {words[1]!r}); HIGH < LOW reverses")
    if param == "extendDuration" and min(low, high) <= 0:
        raise _Invalid(f"extendDuration must be above 0 seconds (got {words[1]!r})")
    if min(low, high) < lowest or max(low, high) > highest:
        raise _Invalid(f"{param} must stay within {lowest:g}..{highest:g} (got {words[1]!r})")
    return _Scale(param, low, high, whole)


def _key_of(msg: mido.Message) -> _Key | None:
    """The key a message answers to (channel counted 1..16), or None if none can."""
    kind = getattr(msg, "type", None)
    if kind == "note_on" and msg.velocity > 0:
        return _Key("note", msg.note, msg.channel + 1)
    if kind == "control_change":
        return _Key("cc", msg.control, msg.channel + 1)
    if kind == "program_change":
        return _Key("program", msg.program, msg.channel + 1)
    return None


def describe(msg: mido.Message) -> str | None:
    """The mapping key for `msg` (e.g. "note 36 ch 10"), or None if it can't be mapped:
    note-offs, velocity-0 note-ons, clock, sysex and the like."""
    key = _key_of(msg)
    return None if key is None else f"{key.kind} {key.number} ch {key.channel}"


class MidiMapping:
    """The parsed `[midi.map]` table; turns messages into commands.

    Keeps the last value of every controller so that a CC "press" fires once per rise
    across its threshold, however many messages a fader sends on the way up.
    """

    def __init__(self, bindings: Mapping[_Key, _Binding]) -> None:
        self._bindings = dict(bindings)
        self._last_cc: dict[tuple[int, int], int] = {}

    def __len__(self) -> int:
        return len(self._bindings)

    def trigger_names(self) -> frozenset[str]:
        """Every NAME the table triggers, for checking against actions and presets."""
        return frozenset(
            b.command.name
            for b in self._bindings.values()
            if isinstance(b, _Press) and isinstance(b.command, Trigger)
        )

    def handle(self, msg: mido.Message) -> list[Command]:
        """The commands `msg` gives (none for unmapped or unmappable messages)."""
        key = _key_of(msg)
        if key is None:
            log.debug("MIDI %s: not a mappable message, ignored", msg)
            return []
        previous = 0
        if key.kind == "cc":
            # The first message of a controller counts as rising from 0.
            previous = self._last_cc.get((key.number, key.channel or 0), 0)
            self._last_cc[(key.number, key.channel or 0)] = msg.value
        binding = self._bindings.get(key) or self._bindings.get(_Key(key.kind, key.number, None))
        if binding is None:
            log.debug("MIDI %s: not in [midi.map], ignored", describe(msg))
            return []
        if isinstance(binding, _Scale):
            return [SetParam(binding.param, binding.value(msg.value))]
        if key.kind == "cc" and not previous < binding.threshold <= msg.value:
            return []
        return [binding.command]


def _parse_entries(table: Mapping[str, str]) -> tuple[dict[_Key, _Binding], list[Issue]]:
    bindings: dict[_Key, _Binding] = {}
    first_key: dict[_Key, str] = {}
    issues: list[Issue] = []
    for raw_key, raw_value in table.items():
        field = f'midi.map."{raw_key}"'
        try:
            key = _parse_key(str(raw_key))
            if not isinstance(raw_value, str):
                raise _Invalid(f"{VALUE_HELP} (got {raw_value!r}, not text)")
            binding = _parse_value(raw_value, key.kind)
            if key in first_key:
                raise _Invalid(f'the same message as "{first_key[key]}"; keep one of them')
        except _Invalid as exc:
            issues.append(Issue(field, str(exc)))
            continue
        bindings[key], first_key[key] = binding, str(raw_key)
    return bindings, issues


def validate_mapping(table: Mapping[str, str]) -> list[Issue]:
    """Every problem in a `[midi.map]` table, one issue per bad entry."""
    return _parse_entries(table)[1]


def parse_mapping(table: Mapping[str, str]) -> MidiMapping:
    """The mapping for a `[midi.map]` table; raises ConfigError naming every bad entry."""
    bindings, issues = _parse_entries(table)
    if issues:
        raise ConfigError(issues)
    return MidiMapping(bindings)
