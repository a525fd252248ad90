"""`producer-bridge midi-learn`: print what pads, knobs and buttons send, as `[midi.map]` keys.

Each line is ready to paste into the configuration; fill in the action between the quotes::

    "note 36 ch 10" = ""   # note_on velocity 100 from Launchpad
"""

from __future__ import annotations

import argparse
import logging
import queue
import time
from collections.abc import Callable, Sequence
from typing import Any

import mido
from rich.console import Console

from bridge.cli.args import load_settings, seconds_arg
from bridge.config import Config
from bridge.midi import MidiInputs, describe, probe_inputs

__all__ = ["add_midi_learn_parser", "execute", "learn_line"]

log = logging.getLogger(__name__)

# How often the wait for a message wakes up to check the deadline.
_TICK = 0.2

NO_INPUT_HELP = """\
Give one or more inputs with --input SPEC:
  --input "PORT NAME"         a MIDI port of this machine, as `mido-ports` lists it
  --input virtual:NAME        a virtual port other programs send to (ALSA, CoreMIDI)
  --input socket:HOST:PORT    a mido socket server (mido.sockets.PortServer) on the network,
                              e.g. --input socket:192.168.1.20:9080
or list them under [midi] inputs in the configuration."""


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1 (got {text!r})")
    return int(text)


def add_midi_learn_parser(commands: Any) -> None:
    learn = commands.add_parser(
        "midi-learn",
        help="print the [midi.map] key of every pad, knob or button you touch",
        description="Listen to MIDI inputs and print one line per note-on, control change or "
        "program change, in the syntax of the [midi.map] table, ready to paste; fill in the "
        "action between the quotes. Clock, note-offs and the like are skipped, and a knob's "
        "stream of values prints once until another control is touched. Stops after --count "
        "lines, after --seconds, or on Ctrl-C.",
    )
    learn.set_defaults(func=command)
    learn.add_argument(
        "--input",
        dest="inputs",
        action="append",
        metavar="SPEC",
        help="a port name, virtual:NAME or socket:HOST:PORT; repeat for several (default: "
        "[midi] inputs of the configuration, else every MIDI port of this machine)",
    )
    learn.add_argument("--count", type=_positive_int, help="stop after this many lines")
    learn.add_argument(
        "--seconds", type=seconds_arg(zero=False), help="stop after this many seconds"
    )


def learn_line(spec: str, msg: mido.Message) -> str | None:
    """The `[midi.map]` line for `msg`, or None if it is nothing a mapping can use."""
    key = describe(msg)
    if key is None:
        return None
    if msg.type == "note_on":
        detail = f"note_on velocity {msg.velocity}"
    elif msg.type == "control_change":
        detail = f"control_change value {msg.value}"
    else:
        detail = msg.type
    return f'"{key}" = ""   # {detail} from {spec}'


def _choose_inputs(given: Sequence[str] | None, config: Config) -> tuple[list[str], str | None]:
    """The specs to open, and why there are none when there are none."""
    if given:
        return list(given), None
    if config.midi.inputs:
        return list(config.midi.inputs), None
    names, reason = probe_inputs()
    return names, reason or "no MIDI port found on this machine"


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    return execute(args, load_settings(args), out, err)


def execute(args: argparse.Namespace, config: Config, out: Console, err: Console) -> int:
    specs, reason = _choose_inputs(args.inputs, config)
    if not specs:
        err.print(
            f"no MIDI input to listen to: none given with --input, none in [midi] inputs, "
            f"and {reason}.\n{NO_INPUT_HELP}",
            markup=False,
            highlight=False,
        )
        return 1
    messages: queue.Queue[tuple[str, mido.Message]] = queue.Queue()
    with MidiInputs(specs, lambda spec, msg: messages.put((spec, msg))) as inputs:
        if not inputs.opened:
            # Each reason has been logged as a warning already.
            err.print(
                f"no MIDI input could be opened ({len(specs)} tried).\n{NO_INPUT_HELP}",
                markup=False,
                highlight=False,
            )
            return 1
        err.print(_header(inputs, args), markup=False, highlight=False)
        try:
            _learn(messages, lambda line: _emit(out, line), args.count, args.seconds)
        except KeyboardInterrupt:
            err.print("stopped", markup=False, highlight=False)
    return 0


def _header(inputs: MidiInputs, args: argparse.Namespace) -> str:
    stops = [f"after {args.count} line(s)"] if args.count else []
    stops += [f"after {args.seconds:g} s"] if args.seconds else []
    stops.append("on Ctrl-C")
    failed = len(inputs.specs) - len(inputs.opened)
    skipped = f" ({failed} input(s) could not be opened, see above)" if failed else ""
    return (
        f"listening to {', '.join(inputs.opened)}{skipped}; touch a pad, knob or button. "
        f"Stops {', '.join(stops)}."
    )


def _emit(out: Console, line: str) -> None:
    out.print(line, markup=False, highlight=False, soft_wrap=True)
    # Lines must reach a pipe (or a tee into the config) as they happen, not at exit.
    out.file.flush()


def _learn(
    messages: queue.Queue[tuple[str, mido.Message]],
    emit: Callable[[str], None],
    count: int | None,
    seconds: float | None,
    now: Callable[[], float] = time.monotonic,
) -> int:
    """Print lines until `count` are printed or `seconds` have passed; the number printed."""
    deadline = None if seconds is None else now() + seconds
    printed = 0
    last_cc: tuple[str, str] | None = None
    while count is None or printed < count:
        wait = _TICK if deadline is None else min(_TICK, deadline - now())
        if wait <= 0:
            break
        try:
            spec, msg = messages.get(timeout=wait)
        except queue.Empty:
            continue
        line = learn_line(spec, msg)
        if line is None:
            continue
        # A knob sends a stream of values; one line says all there is to say about it.
        cc = (spec, describe(msg) or "") if msg.type == "control_change" else None
        if cc is not None and cc == last_cc:
            continue
        last_cc = cc
        emit(line)
        printed += 1
    return printed
