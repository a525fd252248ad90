"""The arguments of an OSC message, checked against a route's signature ("s:clip f:start
[f:end]"): each named, typed, and refused in words that name it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

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
    is the same 32-bit number, as the sender typed it. (A 64-bit d is left alone.)"""
    single = np.float32(value)
    return float(str(single)) if float(single) == value else value


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
