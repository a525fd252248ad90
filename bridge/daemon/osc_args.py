"""The arguments of an OSC message, checked against a route's signature ("s:clip f:start
[f:end]"): each named, typed, and refused in words that name it."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from typing import Any, Final, Protocol

from bridge.errors import Issue, RequestError

# OSC type letters as the table writes them: s string, f number, i whole number,
# b true/false, * any of them. Nothing else python-osc decodes (blob, time tag, nil, MIDI,
# RGBA, array) means anything to the bridge: it is refused, named.
_KINDS: Final = {
    "s": "string",
    "f": "number",
    "i": "whole number",
    "b": "true or false",
    "*": "string, number or true/false",
}


@dataclass(frozen=True)
class Arg:
    kind: str
    name: str
    optional: bool


def parse_signature(text: str) -> tuple[Arg, ...]:
    """ "s:clip f:start [f:end]" -> Args; optional ones must come last."""
    args: list[Arg] = []
    for token in text.split():
        optional = token.startswith("[") and token.endswith("]")
        kind, _, name = token.strip("[]").partition(":")
        if kind not in _KINDS or not name or (args and args[-1].optional and not optional):
            raise ValueError(f"bad signature token {token!r} in {text!r}")
        args.append(Arg(kind, name, optional))
    return tuple(args)


class Signed(Protocol):
    """What a route shows of itself to have its arguments checked."""

    @property
    def address(self) -> str: ...

    @property
    def signature(self) -> str: ...

    @property
    def args(self) -> tuple[Arg, ...]: ...


def check_args(route: Signed, values: Sequence[Any]) -> dict[str, Any]:
    """The arguments by name, or RequestError naming each one that is wrong."""
    args = route.args
    needed = sum(not arg.optional for arg in args)
    if not needed <= len(values) <= len(args):
        count = str(needed) if needed == len(args) else f"{needed} to {len(args)}"
        expected = route.signature or "no arguments"
        raise RequestError(
            [Issue(route.address, f"takes {count} argument(s): {expected} (got {len(values)})")]
        )
    found: dict[str, Any] = {}
    problems = []
    for arg, value in zip(args, values, strict=False):
        checked = _check(arg.kind, value)
        if checked is _WRONG:
            problems.append(Issue(arg.name, f"must be a {_KINDS[arg.kind]} (got {value!r:.40})"))
        else:
            found[arg.name] = checked
    if problems:
        raise RequestError(problems)
    return found


_WRONG: Final = object()


def _decimal(value: float) -> float:
    """OSC's f is 32-bit: 0.8 arrives as 0.800000011920929. Take the shortest decimal that
    is the same 32-bit number, as the sender typed it (the nearest of the shortest, as
    numpy prints a float32). A 64-bit d, and zero, are left alone."""
    if value == 0 or _single(value) != value:
        return value
    exact = Decimal(value)
    for digits in range(1, 10):  # 9 significant digits tell every float32 apart
        quantum = Decimal(1).scaleb(exact.adjusted() - digits + 1)
        for rounding in (ROUND_HALF_EVEN, ROUND_DOWN, ROUND_UP):  # the nearest first
            shortest = float(exact.quantize(quantum, rounding=rounding))
            if _single(shortest) == value:
                return shortest
    return value


def _single(value: float) -> float:
    """`value` rounded to a 32-bit float (infinite beyond its range)."""
    try:
        return float(struct.unpack("<f", struct.pack("<f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def _check(kind: str, value: Any) -> Any:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "s":
        return value if isinstance(value, str) else _WRONG
    if kind == "f":
        # Controllers often send whole numbers where a number is meant.
        return _decimal(float(value)) if number and math.isfinite(value) else _WRONG
    if kind == "i":
        return int(value) if number and math.isfinite(value) and value == int(value) else _WRONG
    if kind == "b":
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        return _WRONG
    if isinstance(value, str | bool) or (number and math.isfinite(value)):
        return value
    return _WRONG
