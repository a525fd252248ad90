"""What the REAPER actions send, under a fake REAPER as strict as its documentation: only
audio files go out, the time selection is honoured by every action on an item, lyrics of
any length come from the item's notes or a text file, and the fake itself refuses what
REAPER refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.reaper_fixtures import RUNNER, Studio, audio_item, lua, run_lua
from tests.test_reaper_scripts import accepted, only_request

GLUE = "Glue it first (Item: Glue items) or render it"


@pytest.fixture
def studio(tmp_path: Path) -> Studio:
    return Studio(tmp_path)


NOT_AUDIO = {
    "subproject": ({"file": "/music/verse.rpp"}, "a subproject (verse.rpp)", GLUE),
    "video": ({"file": "/music/clip.mp4"}, "a video", GLUE),
    "midi file": ({"file": "/music/groove.mid"}, "The selected item is MIDI", "Render it"),
    "click source": ({"file": "", "type": "CLICK"}, "a CLICK source", GLUE),
    "section of a subproject": (
        {"section": {"offs": 1.0, "len": 0.0, "rev": False}, "parent": {"file": "/m/a.rpp"}},
        "a subproject (a.rpp)",
        GLUE,
    ),
}


@pytest.mark.parametrize("case", sorted(NOT_AUDIO))
def test_a_source_that_is_not_an_audio_file_is_refused_saying_what_to_do(
    studio: Studio, case: str
) -> None:
    source, what, way_out = NOT_AUDIO[case]
    scenario = studio.scenario(items=[audio_item(source)], selection=(70, 80))
    result = studio.run("Replace time selection", scenario)
    assert result["error"] is None
    (message,) = result["messages"]
    assert what in message["text"]
    assert way_out in message["text"]
    assert result["dialogs"] == []
    assert studio.requests() == []


@pytest.mark.parametrize("name", ["take.flac", "take.mp3", "take.ogg", "take.opus"])
def test_audio_files_of_every_kind_the_daemon_reads_are_sent(studio: Studio, name: str) -> None:
    path = studio.project / "Audio" / name
    studio.run(
        "Swap vocals",
        studio.scenario(items=[audio_item(path)], inputs=[["choir", "0.6", ""]]),
    )
    _, data = only_request(studio)
    assert data["clip"]["path"] == str(path)


def test_a_take_with_a_pitch_envelope_is_refused(studio: Studio) -> None:
    items = [audio_item(studio.take, envelopes={"Pitch": 3})]
    result = studio.run("Cover", studio.scenario(items=items))
    (message,) = result["messages"]
    assert "pitch envelope" in message["text"]
    assert GLUE in message["text"]
    # An envelope without points changes nothing.
    items = [audio_item(studio.take, envelopes={"Pitch": 0})]
    studio.run("Cover", studio.scenario(items=items, inputs=[["jazz", "0.5", "0.5", ""]]))
    assert len(studio.requests()) == 1


ON_THE_ITEM: dict[str, tuple[str, list[str]]] = {
    "cover_music": ("Cover", ["bossa nova", "0.5", "0.6", ""]),
    "swap_music_vocals": ("Swap vocals", ["choir", "0.6", ""]),
    "swap_music_sound": ("Swap instrumental", ["disco", "0.9", ""]),
    "music_variation": ("Variation", ["", "0.5", ""]),
    "stems_only": ("Stems only", []),
}


@pytest.mark.parametrize("action", sorted(ON_THE_ITEM))
def test_every_action_on_an_item_sends_the_time_selection_over_it(
    studio: Studio, action: str
) -> None:
    name, answers = ON_THE_ITEM[action]
    items = [audio_item(studio.take, position=64, length=30, offset=2)]
    studio.run(name, studio.scenario(items=items, selection=(60, 70), inputs=[answers]))
    path, data = only_request(studio)
    assert data["selection"] == {"start": 64, "end": 70}  # cut to the item
    assert accepted(data).action == action
    path.unlink()
    studio.run(name, studio.scenario(items=items, inputs=[answers]))
    _, whole = only_request(studio)
    assert "selection" not in whole  # no time selection: the whole item


def test_a_selection_beside_the_item_is_refused_for_a_cover(studio: Studio) -> None:
    scenario = studio.scenario(items=[audio_item(studio.take)], selection=(10, 20))
    (message,) = studio.run("Cover", scenario)["messages"]
    assert "does not overlap the selected item" in message["text"]
    assert studio.requests() == []


LYRICS = "[Verse]\n" + "\n".join(
    f"line {n}: the night is long and the road is wide" for n in range(80)
)


def test_lyrics_of_any_length_come_from_the_selected_items_notes_with_their_line_breaks(
    studio: Studio,
) -> None:
    assert len(LYRICS) > 3000
    holder = {**audio_item(studio.take), "notes": LYRICS.replace("\n", "\r\n")}
    studio.run(
        "Create in time selection",
        studio.scenario(
            items=[holder], selection=(32, 62), inputs=[["synth pop", "0.5", "@notes", ""]]
        ),
    )
    _, data = only_request(studio)
    assert data["lyrics"] == LYRICS
    assert accepted(data).audio.lyrics == LYRICS


def test_lyrics_come_from_a_text_file_beside_the_project(studio: Studio) -> None:
    (studio.project / "lyrics").mkdir()
    (studio.project / "lyrics" / "song.txt").write_text(LYRICS + "\n", encoding="utf-8")
    studio.run(
        "Create in time selection",
        studio.scenario(selection=(32, 62), inputs=[["pop", "0.5", "@lyrics/song.txt", ""]]),
    )
    _, data = only_request(studio)
    assert data["lyrics"] == LYRICS + "\n"


@pytest.mark.parametrize(
    ("answer", "items", "expected"),
    [
        ("@notes", [], "Select the item whose notes hold the lyrics"),
        ("@notes", [{"notes": ""}], "The selected item has no notes"),
        ("@missing.txt", [], "Cannot read the lyrics file"),
    ],
)
def test_lyrics_that_cannot_be_read_are_refused_naming_the_way_in(
    studio: Studio, answer: str, items: list[dict[str, Any]], expected: str
) -> None:
    items = [{**audio_item(studio.take), **extra} for extra in items]
    result = studio.run(
        "Create in time selection",
        studio.scenario(items=items, selection=(32, 62), inputs=[["pop", "0.5", answer, ""]]),
    )
    (message,) = result["messages"]
    assert expected in message["text"]
    assert studio.requests() == []


def test_answers_cut_by_the_dialogs_buffer_are_refused_not_sent(studio: Studio) -> None:
    typed = "la " * 400  # one line, longer than what the dialog gives back
    result = studio.run(
        "Create in time selection",
        studio.scenario(selection=(32, 62), inputs=[["pop", "0.5", typed, ""]]),
    )
    (message,) = result["messages"]
    assert "too long for REAPER's dialog" in message["text"]
    assert "@notes" in message["text"]
    assert studio.requests() == []


def run_snippet(tmp_path: Path, code: str, scenario: dict[str, Any]) -> str:
    """The fake's error for a few lines of Lua (None when they run)."""
    script = tmp_path / "snippet.lua"
    script.write_text(code, encoding="utf-8")
    scenario_file = tmp_path / "snippet.json"
    scenario_file.write_text(json.dumps(scenario), encoding="utf-8")
    lua()
    result = json.loads(run_lua([str(RUNNER), str(scenario_file), str(script)], tmp_path))
    return str(result["error"])


SOURCE = {"tracks": [{"items": [audio_item("/m/take.wav")]}]}
GET_SOURCE = (
    "local take = reaper.GetActiveTake(reaper.GetSelectedMediaItem(0, 0))\n"
    "local src = reaper.GetMediaItemTake_Source(take)\n"
)


@pytest.mark.parametrize(
    ("code", "scenario", "expected"),
    [
        (
            GET_SOURCE + 'reaper.GetMediaSourceFileName(src, "")',
            SOURCE,
            "takes 1 argument(s), got 2",
        ),
        ('reaper.GetAudioDeviceInfo("SRATE", "")', {}, "takes 1 argument(s), got 2"),
        (
            'reaper.GetUserInputs("t", 17, string.rep("x,", 16) .. "x", "")',
            {"inputs": [None]},
            "the maximum is 16",
        ),
        (
            'reaper.GetUserInputs("t", 1, "Lyrics", "")',
            {"inputs": [["two\nlines"]]},
            "a GetUserInputs field is one line",
        ),
        (GET_SOURCE + "reaper.PCM_Source_BuildPeaks(src, 2)", SOURCE, "before mode 0"),
        (
            GET_SOURCE
            + "reaper.PCM_Source_BuildPeaks(src, 0) reaper.PCM_Source_BuildPeaks(src, 2)",
            SOURCE,
            "mode 2 before mode 1 returned 0",
        ),
        (
            "local take = reaper.GetActiveTake(reaper.GetSelectedMediaItem(0, 0))\n"
            'reaper.SetMediaItemTakeInfo_Value(take, "I_CHANMODE", 2.5)',
            SOURCE,
            "is a whole number",
        ),
    ],
)
def test_the_fake_refuses_what_the_documentation_does_not_allow(
    tmp_path: Path, code: str, scenario: dict[str, Any], expected: str
) -> None:
    assert expected in run_snippet(tmp_path, code, scenario)


def test_the_fake_reports_source_types_and_cuts_long_answers_as_reaper_does(
    tmp_path: Path,
) -> None:
    code = (
        GET_SOURCE
        + 'assert(reaper.GetMediaSourceType(src) == "WAVE")\n'
        + 'local ok, answer = reaper.GetUserInputs("t", 1, "Lyrics", "")\n'
        + "assert(ok and #answer == 1023, #answer)\n"
    )
    scenario = dict(SOURCE, inputs=[["x" * 5000]])
    assert run_snippet(tmp_path, code, scenario) == "None"
