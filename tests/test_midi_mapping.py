"""The `[midi.map]` table: its grammar, every bad entry reported at once, and what messages do."""

from __future__ import annotations

import logging
from typing import Any

import mido
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mido.messages.specs import SPEC_BY_TYPE  # type: ignore[import-untyped]

from bridge.errors import ConfigError
from bridge.midi import (
    Cancel,
    MidiMapping,
    SetParam,
    Trigger,
    describe,
    parse_mapping,
    validate_mapping,
)

EXAMPLE = {
    "note 36": "replace_music",
    "note 37 ch 10": "trigger disco",
    "cc 20": "music_variation",
    "cc 21": "extend_music at 100",
    "cc 22": "set strength 0.2..1",
    "program 3": "cover_music",
    "note 38": "cancel",
}


def note(number: int, velocity: int = 100, channel: int = 0) -> mido.Message:
    return mido.Message("note_on", note=number, velocity=velocity, channel=channel)


def cc(control: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", control=control, value=value, channel=channel)


@pytest.fixture
def mapping() -> MidiMapping:
    return parse_mapping(EXAMPLE)


def test_note_on_triggers_on_any_channel(mapping: MidiMapping) -> None:
    assert mapping.handle(note(36)) == [Trigger("replace_music")]
    assert mapping.handle(note(36, channel=15, velocity=1)) == [Trigger("replace_music")]


def test_velocity_zero_and_note_off_never_trigger(mapping: MidiMapping) -> None:
    assert mapping.handle(note(36, velocity=0)) == []
    assert mapping.handle(mido.Message("note_off", note=36, velocity=64)) == []


def test_channel_filter_counts_channels_from_one(mapping: MidiMapping) -> None:
    assert mapping.handle(note(37, channel=9)) == [Trigger("disco")]
    assert mapping.handle(note(37, channel=0)) == []
    assert mapping.handle(note(37, channel=10)) == []


def test_a_key_with_a_channel_wins_over_the_same_key_without() -> None:
    mapping = parse_mapping({"note 40": "everywhere", "note 40 ch 2": "only_two"})
    assert mapping.handle(note(40, channel=1)) == [Trigger("only_two")]
    assert mapping.handle(note(40, channel=0)) == [Trigger("everywhere")]


def test_cc_presses_when_rising_across_the_threshold(mapping: MidiMapping) -> None:
    fired = [bool(mapping.handle(cc(20, value))) for value in (10, 70, 90, 127, 30, 63, 64, 100)]
    # 10: below; 70: rises across 64; 90, 127: stay above; 30, 63: below; 64: rises again.
    assert fired == [False, True, False, False, False, False, True, False]
    assert mapping.handle(cc(20, 0)) == []
    assert mapping.handle(cc(20, 64)) == [Trigger("music_variation")]


def test_the_first_cc_message_counts_as_rising_from_zero(mapping: MidiMapping) -> None:
    assert mapping.handle(cc(20, 100)) == [Trigger("music_variation")]
    assert mapping.handle(cc(20, 100)) == []


def test_cc_state_is_kept_per_channel_and_controller(mapping: MidiMapping) -> None:
    assert mapping.handle(cc(20, 100, channel=0)) == [Trigger("music_variation")]
    assert mapping.handle(cc(20, 100, channel=1)) == [Trigger("music_variation")]
    assert mapping.handle(cc(21, 100, channel=0)) == [Trigger("extend_music")]


def test_cc_with_its_own_threshold(mapping: MidiMapping) -> None:
    assert [bool(mapping.handle(cc(21, v))) for v in (64, 99, 100, 127, 99, 100)] == [
        False,
        False,
        True,
        False,
        False,
        True,
    ]


def test_set_param_scales_the_whole_travel(mapping: MidiMapping) -> None:
    assert mapping.handle(cc(22, 0)) == [SetParam("strength", 0.2)]
    (middle,) = mapping.handle(cc(22, 64))
    assert isinstance(middle, SetParam)
    assert middle.value == pytest.approx(0.2 + 0.8 * 64 / 127)
    assert mapping.handle(cc(22, 127)) == [SetParam("strength", 1.0)]


def test_set_param_reversed_and_whole_numbers() -> None:
    mapping = parse_mapping({"cc 1": "set weirdness 1..0", "cc 2 ch 3": "SET Seed 0..1000"})
    assert mapping.handle(cc(1, 0)) == [SetParam("weirdness", 1.0)]
    assert mapping.handle(cc(1, 127)) == [SetParam("weirdness", 0.0)]
    assert mapping.handle(cc(2, 64, channel=2)) == [SetParam("seed", 504)]
    (seed,) = mapping.handle(cc(2, 127, channel=2))
    assert isinstance(seed, SetParam)
    assert seed.value == 1000
    assert isinstance(seed.value, int)


def test_program_change_and_cancel(mapping: MidiMapping) -> None:
    assert mapping.handle(mido.Message("program_change", program=3)) == [Trigger("cover_music")]
    assert mapping.handle(mido.Message("program_change", program=4)) == []
    assert mapping.handle(note(38)) == [Cancel()]


def test_unmapped_messages_do_nothing_and_say_so_at_debug(
    mapping: MidiMapping, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bridge.midi.mapping")
    assert mapping.handle(note(60)) == []
    assert mapping.handle(cc(99, 127)) == []
    assert mapping.handle(mido.Message("clock")) == []
    assert mapping.handle(mido.Message("sysex", data=[1, 2, 3])) == []
    assert "note 60 ch 1" in caplog.text
    assert "cc 99 ch 1" in caplog.text
    assert all(record.levelno == logging.DEBUG for record in caplog.records)


def test_keys_and_command_words_are_case_insensitive_and_spaces_tolerated() -> None:
    mapping = parse_mapping(
        {"  NOTE   36   CH 10 ": "  Trigger   Disco_Night-2 ", "Cc 5": "CANCEL at 20"}
    )
    assert mapping.handle(note(36, channel=9)) == [Trigger("Disco_Night-2")]
    assert mapping.handle(cc(5, 20)) == [Cancel()]
    assert parse_mapping({"note 1": "trigger cancel"}).handle(note(1)) == [Trigger("cancel")]
    assert parse_mapping(EXAMPLE).trigger_names() == {
        "replace_music",
        "disco",
        "music_variation",
        "extend_music",
        "cover_music",
    }


def test_describe_gives_the_key_to_paste() -> None:
    assert describe(note(36, channel=9)) == "note 36 ch 10"
    assert describe(cc(20, 5)) == "cc 20 ch 1"
    assert describe(mido.Message("program_change", program=3)) == "program 3 ch 1"
    assert describe(note(36, velocity=0)) is None
    assert describe(mido.Message("note_off", note=36)) is None
    assert describe(mido.Message("clock")) is None
    assert describe(mido.Message("sysex", data=[1])) is None
    assert describe(mido.Message("pitchwheel", pitch=100)) is None
    # What describe prints parses back to a key that matches the same message.
    assert parse_mapping({"note 36 ch 10": "x"}).handle(note(36, channel=9)) == [Trigger("x")]


BAD = {
    "nope 3": ('must be "note N", "cc N" or "program N", optionally followed by "ch C"',),
    "note": ('(got "note")',),
    "note 128": ("note number must be 0..127 (got 128)",),
    "cc 20 ch 0": ("channel must be 1..16 (got 0)",),
    "cc 21 ch 17": ("channel must be 1..16 (got 17)",),
    "note -1": ('(got "note -1")',),
    "note 1 channel 2": ('optionally followed by "ch C"',),
    "note 2": ('must be "NAME", "trigger NAME" or "cancel"', '(got "")'),
    "note 3": ('(got "two words")',),
    "note 4": ('(got "trigger")',),
    "note 5": ('(got "bad!name")',),
    "note 6": ('"set" needs a cc key',),
    "program 7": ('"at T" works only with a cc key',),
    "cc 30": ('threshold in "at T" must be a whole number 1..127', "(got '0')"),
    "cc 31": ("threshold", "(got '128')"),
    "cc 32": ("PARAM must be one of strength, weirdness, lyricsStrength", "(got 'loudness')"),
    "cc 33": ('must be "set PARAM LOW..HIGH"',),
    "cc 34": ('must be "set PARAM LOW..HIGH"',),
    "cc 35": ("seed takes whole numbers",),
    "cc 36": ("LOW and HIGH must differ",),
    "cc 37": ("weirdness must stay within 0..1", "(got '0..2')"),
    "cc 38": ("extendDuration must be above 0",),
    "cc 39": ("strength must stay within -1..1",),
    "NOTE 60": ('the same message as "note 60"',),
}
BAD_VALUES = {
    "nope 3": "x",
    "note": "x",
    "note 128": "x",
    "cc 20 ch 0": "x",
    "cc 21 ch 17": "x",
    "note -1": "x",
    "note 1 channel 2": "x",
    "note 2": "",
    "note 3": "two words",
    "note 4": "trigger",
    "note 5": "bad!name",
    "note 6": "set strength 0..1",
    "program 7": "cover_music at 10",
    "cc 30": "x at 0",
    "cc 31": "x at 128",
    "cc 32": "set loudness 0..1",
    "cc 33": "set strength",
    "cc 34": "set strength 0.2-1",
    "cc 35": "set seed 0..1.5",
    "cc 36": "set strength 0.5..0.5",
    "cc 37": "set weirdness 0..2",
    "cc 38": "set extendDuration 0..30",
    "cc 39": "set strength -2..1",
}


def test_every_bad_entry_is_named_at_once() -> None:
    table = {"note 60": "fine", **BAD_VALUES, "NOTE 60": "again", "cc 99": "also_fine"}
    with pytest.raises(ConfigError) as caught:
        parse_mapping(table)
    by_field = {issue.field: issue.message for issue in caught.value.issues}
    assert list(by_field) == [f'midi.map."{key}"' for key in BAD]
    for key, fragments in BAD.items():
        for fragment in fragments:
            assert fragment in by_field[f'midi.map."{key}"'], (key, by_field)
    assert validate_mapping(table) == list(caught.value.issues)


def test_the_key_message_says_what_is_allowed() -> None:
    (issue,) = validate_mapping({"nope 3": "x"})
    assert issue.field == 'midi.map."nope 3"'
    assert issue.message == (
        'must be "note N", "cc N" or "program N", optionally followed by "ch C" (got "nope 3")'
    )


def test_a_good_table_has_no_issues() -> None:
    assert validate_mapping(EXAMPLE) == []
    assert len(parse_mapping(EXAMPLE)) == len(EXAMPLE)
    assert validate_mapping({"note 1": 3}) != []  # type: ignore[dict-item]


_RANGES = {
    "channel": (0, 15),
    "pitch": (-8192, 8191),
    "pos": (0, 16383),
    "frame_type": (0, 7),
    "frame_value": (0, 15),
}


@st.composite
def messages(draw: st.DrawFn) -> mido.Message:
    kind = draw(st.sampled_from(sorted(SPEC_BY_TYPE)))
    values: dict[str, Any] = {}
    for name in SPEC_BY_TYPE[kind]["value_names"]:
        if name == "data":
            values[name] = draw(st.lists(st.integers(0, 127), max_size=8))
        else:
            low, high = _RANGES.get(name, (0, 127))
            values[name] = draw(st.integers(low, high))
    return mido.Message(kind, **values)


@given(st.lists(messages(), max_size=30))
def test_any_message_gives_a_list_of_commands(batch: list[mido.Message]) -> None:
    mapping = parse_mapping({**EXAMPLE, "cc 1 ch 2": "set seed 0..99", "program 0": "x"})
    for msg in batch:
        commands = mapping.handle(msg)
        assert isinstance(commands, list)
        assert all(isinstance(c, Trigger | SetParam | Cancel) for c in commands)
        if describe(msg) is None:
            assert commands == []


@given(st.binary(max_size=64))
def test_any_parsed_byte_stream_is_handled(data: bytes) -> None:
    mapping = parse_mapping(EXAMPLE)
    for msg in mido.parse_all(data):
        assert isinstance(mapping.handle(msg), list)
