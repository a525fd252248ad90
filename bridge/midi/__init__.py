"""MIDI input: ports and network peers (`ports`), and what their messages mean (`mapping`)."""

from bridge.midi.mapping import (
    Cancel,
    Command,
    MidiMapping,
    SetParam,
    Trigger,
    describe,
    parse_mapping,
    validate_mapping,
)
from bridge.midi.ports import MidiInputs, OnMessage, list_inputs, probe_inputs

__all__ = [
    "Cancel",
    "Command",
    "MidiInputs",
    "MidiMapping",
    "OnMessage",
    "SetParam",
    "Trigger",
    "describe",
    "list_inputs",
    "parse_mapping",
    "probe_inputs",
    "validate_mapping",
]
