"""The REAPER action scripts under real Lua and a fake REAPER: the request each one writes
is the golden file and is what the daemon's own parser and schema accept; every case the
bridge cannot map is refused with its message; the file appears whole or not at all."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bridge.jobs.wire import parse_request, request_schema
from bridge.watch.drop import classify, is_ignored_name
from tests.reaper_fixtures import (
    DEFAULTS,
    GOLDEN,
    UPDATE_GOLDEN,
    Studio,
    audio_item,
)

ANSWERS: dict[str, tuple[str, list[str], tuple[float, float] | None]] = {
    # action: (script, dialog answers, time selection)
    "replace_music": ("Replace time selection", ["sparse piano, no drums", "0.7", ""], (77, 90)),
    "extend_music": ("Extend item", ["big outro", "0.5", "30", ""], (86.5, 94)),
    "swap_music_vocals": ("Swap vocals", ["male baritone, warm", "1", ""], None),
    "swap_music_sound": ("Swap instrumental", ["classic disco", "0.9", ""], None),
    "cover_music": ("Cover", ["bossa nova", "0.5", "0.6", ""], None),
    "music_variation": ("Variation", ["", "0.5", ""], (70, 80)),
    "stems_only": ("Stems only", [], None),
    "create_music": (
        "Create in time selection",
        ["warm synth pop", "-0.25", "[Verse] la", ""],
        (32, 62),
    ),
}


@pytest.fixture
def studio(tmp_path: Path) -> Studio:
    return Studio(tmp_path)


def only_request(studio: Studio) -> tuple[Path, dict[str, Any]]:
    (path,) = studio.requests()
    return path, json.loads(path.read_text(encoding="utf-8"))


def accepted(data: dict[str, Any]) -> Any:
    """The daemon's view of a request: its JSON Schema, then its parser."""
    jsonschema.Draft202012Validator(request_schema()).validate(data)
    return parse_request(data, DEFAULTS)


@pytest.mark.parametrize("action", sorted(ANSWERS))
def test_each_action_writes_the_golden_request_that_the_daemon_accepts(
    studio: Studio, action: str
) -> None:
    name, answers, selection = ANSWERS[action]
    items = [] if action == "create_music" else [audio_item(studio.take)]
    result = studio.run(name, studio.scenario(items=items, selection=selection, inputs=[answers]))

    assert result["error"] is None
    assert result["messages"] == []
    path, data = only_request(studio)
    assert re.fullmatch(rf"\d{{8}}-\d{{6}}-{action}-[0-9a-f]{{4}}\.json", path.name)
    golden = GOLDEN / f"{action}.json"
    text = studio.placeholders(path.read_text(encoding="utf-8"))
    if UPDATE_GOLDEN:
        golden.write_text(json.dumps(json.loads(text), indent=2) + "\n", encoding="utf-8")
    assert json.loads(text) == json.loads(golden.read_text(encoding="utf-8"))
    request = accepted(data)
    assert request.action == action
    assert result["help"] == [f"Producer Bridge: {name} request sent ({path.name})"]


def test_the_daemon_reads_the_section_times_the_timeline_implies(studio: Studio) -> None:
    items = [audio_item(studio.take, position=64, offset=2, playrate=2.0, length=15)]
    studio.run(
        "Replace time selection",
        studio.scenario(items=items, selection=(60, 70), inputs=[["strings", "0.5", ""]]),
    )
    _, data = only_request(studio)
    # The selection is cut to the item (64..70), then measured in source seconds of the upload.
    assert data["selection"] == {"start": 64, "end": 70}
    request = accepted(data)
    assert (request.audio.replace_start, request.audio.replace_end) == (0.0, 12.0)


def test_extend_without_a_selection_continues_from_the_item_end(studio: Studio) -> None:
    items = [audio_item(studio.take, position=10, length=20, offset=0, playrate=1.5)]
    studio.run("Extend item", studio.scenario(items=items, inputs=[["outro", "0.5", "12", ""]]))
    _, data = only_request(studio)
    assert "selection" not in data
    assert data["params"] == {"extendDuration": 12}
    assert accepted(data).audio.continue_at == 30.0  # 20 s on the timeline at 1.5x


def test_a_looped_section_take_sends_its_file_and_the_offset_within_it(studio: Studio) -> None:
    source = {
        "section": {"offs": 5.0, "len": 40.0, "rev": False},
        "parent": {"file": str(studio.take)},
    }
    studio.run(
        "Cover",
        studio.scenario(items=[audio_item(source, offset=1.5)], inputs=[["jazz", "0.5", "1", ""]]),
    )
    _, data = only_request(studio)
    assert data["clip"]["path"] == str(studio.take)
    assert data["clip"]["takeOffset"] == 6.5


def test_the_device_rate_is_sent_when_the_project_sets_none_and_nothing_when_unknown(
    studio: Studio,
) -> None:
    answers = [["disco", "0.9", ""]]
    items = [audio_item(studio.take)]
    studio.run(
        "Swap instrumental",
        studio.scenario(items=items, inputs=answers, project_srate_use=0, device_srate=96000),
    )
    first = json.loads(studio.requests()[0].read_text(encoding="utf-8"))
    assert first["project"] == {"folder": str(studio.project), "sampleRate": 96000}
    studio.requests()[0].unlink()
    studio.run(
        "Swap instrumental",
        studio.scenario(items=items, inputs=answers, project_srate_use=0, device_srate=None),
    )
    _, second = only_request(studio)
    assert second["project"] == {"folder": str(studio.project)}
    assert accepted(second).sample_rate is None


REFUSALS = {
    "no item": ({"items": [audio_item("x.wav", selected=False)]}, "Select the audio item"),
    "midi take": ({"items": [audio_item("x.wav", midi=True)]}, "The selected item is MIDI"),
    "selection misses the item": (
        {"items": [audio_item("x.wav", position=64, length=30)], "selection": (10, 20)},
        "The time selection (10..20 s) does not overlap the selected item (64..94 s)",
    ),
    "reversed take": (
        {
            "items": [
                audio_item(
                    {"section": {"offs": 0, "len": 0, "rev": True}, "parent": {"file": "x.wav"}}
                )
            ]
        },
        "The selected take is reversed",
    ),
    "stretch markers": (
        {"items": [audio_item("x.wav", stretch_markers=2)]},
        "The selected take has stretch markers",
    ),
    "unsaved project": ({"items": [audio_item("x.wav")], "saved": False}, "Save the project first"),
    "playrate 0": ({"items": [audio_item("x.wav", playrate=0.0)]}, "playrate is 0,"),
    "item before its source": (
        {"items": [audio_item("x.wav", offset=-1.25)]},
        "starts 1.25 s before the beginning of its source file",
    ),
    "no time selection": ({"items": [audio_item("x.wav")]}, "Set a time selection over the part"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_what_cannot_be_mapped_is_refused_with_a_message(studio: Studio, case: str) -> None:
    extra, expected = REFUSALS[case]
    extra = dict(extra)
    selection = extra.pop("selection", (70, 80) if case != "no time selection" else None)
    scenario = studio.scenario(selection=selection, **extra)
    result = studio.run("Replace time selection", scenario)
    assert result["error"] is None
    (message,) = result["messages"]
    assert expected in message["text"]
    assert message["title"] == "Producer Bridge"
    assert result["dialogs"] == []  # refused before asking for a prompt
    assert studio.requests() == []


def test_refusals_name_the_way_out(studio: Studio) -> None:
    texts = {}
    for case in ("reversed take", "stretch markers"):
        extra = dict(REFUSALS[case][0])
        result = studio.run("Cover", studio.scenario(**extra))
        texts[case] = result["messages"][0]["text"]
    assert all("Item: Glue items" in text for text in texts.values())
    result = studio.run("Create in time selection", studio.scenario(inputs=[]))
    assert "Set a time selection where the new music should go" in result["messages"][0]["text"]


def test_a_missed_selection_tells_extend_how_to_continue_from_the_end(studio: Studio) -> None:
    scenario = studio.scenario(items=[audio_item(studio.take)], selection=(200, 210))
    (message,) = studio.run("Extend item", scenario)["messages"]
    assert "clear the time selection" in message["text"]


def test_the_request_appears_whole_under_requests_and_nothing_else_is_left(
    studio: Studio,
) -> None:
    _, answers, _ = ANSWERS["cover_music"]
    studio.run("Cover", studio.scenario(items=[audio_item(studio.take)], inputs=[answers]))
    path, _ = only_request(studio)
    assert [p.name for p in studio.drop.rglob("*") if p.is_file()] == [path.name]
    assert classify(studio.drop, path).kind.value == "request"


def test_the_write_goes_through_a_name_the_daemon_ignores_then_one_rename(
    tmp_path: Path,
) -> None:
    from tests.reaper_fixtures import LUA_TESTS, run_lua

    target = tmp_path / "requests" / "20260101-000000-cover_music-abcd.json"
    target.parent.mkdir()
    log = json.loads(run_lua([str(LUA_TESTS / "check_files.lua"), str(target), "{}"], tmp_path))
    assert log["ok"] is True
    temporary = str(target.parent / f".{target.name}.tmp")
    writes = [e for e in log["log"] if e["op"] == "open" and "w" in e["mode"]]
    assert [e["path"] for e in writes] == [temporary]  # the final name is never written to
    ops = [e["op"] for e in log["log"]]
    assert ops.index("close") < ops.index("rename")
    assert log["log"][-1] == {"op": "rename", "from": temporary, "to": str(target), "ok": True}
    assert is_ignored_name(Path(temporary).name)  # the daemon's own rule, not a copy of it
    assert target.read_text() == "{}"

    again = json.loads(run_lua([str(LUA_TESTS / "check_files.lua"), str(target), "[]"], tmp_path))
    assert again["ok"] is False
    assert "already exists" in again["error"]
    assert target.read_text() == "{}"  # never replaced
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_dialog_defaults_are_the_last_values_used_for_that_action(studio: Studio) -> None:
    items = [audio_item(studio.take)]
    studio.run("Cover", studio.scenario(items=items, inputs=[["tango, slow", "0.4", "0.8", ""]]))
    studio.run("Swap vocals", studio.scenario(items=items, inputs=[["choir", "0.6", ""]]))
    result = studio.run("Cover", studio.scenario(items=items, inputs=[None]))
    (dialog,) = result["dialogs"]
    assert dialog["defaults"] == ["tango, slow", "0.4", "0.8", ""]
    assert dialog["separator"] == "\n"  # so a prompt may hold commas
    assert dialog["captions"][0] == "Prompt (or @preset)"
    vocals = studio.run("Swap vocals", studio.scenario(items=items, inputs=[None]))
    assert vocals["dialogs"][0]["defaults"] == ["choir", "0.6", ""]
    assert all(result["persist"].values())  # kept across REAPER sessions
    assert len(studio.requests()) == 2  # the cancelled dialogs sent nothing
    assert result["messages"] == []


def test_a_prompt_preset_is_saved_then_recalled_by_name(studio: Studio) -> None:
    items = [audio_item(studio.take)]
    studio.run(
        "Swap instrumental",
        studio.scenario(items=items, inputs=[["funk, slap bass", "0.8", "funk"]]),
    )
    studio.run("Cover", studio.scenario(items=items, inputs=[["@funk", "0.3", "0.5", ""]]))
    second = json.loads(studio.requests()[-1].read_text(encoding="utf-8"))
    assert second["prompts"] == [{"text": "funk, slap bass", "strength": 0.8}]
    result = studio.run("Cover", studio.scenario(items=items, inputs=[["@nope", "0.3", "0.5", ""]]))
    assert "no prompt preset named 'nope'" in result["messages"][0]["text"]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["pads", "loud", ""], "Strength (0.2 to 1) must be a number from 0.2 to 1 (got 'loud')."),
        (["pads", "0.1", ""], "Strength (0.2 to 1) must be a number from 0.2 to 1 (got '0.1')."),
        (["", "0.5", ""], "Type a prompt"),
    ],
)
def test_bad_answers_are_refused_naming_the_field(
    studio: Studio, answers: list[str], expected: str
) -> None:
    result = studio.run(
        "Swap vocals", studio.scenario(items=[audio_item(studio.take)], inputs=[answers])
    )
    assert expected in result["messages"][0]["text"]
    assert studio.requests() == []


def test_settings_are_checked_saved_and_used_by_the_actions(studio: Studio) -> None:
    other_drop = studio.tmp / "elsewhere"
    (other_drop / "requests").mkdir(parents=True)
    bad = [str(other_drop), "lanes", "FUZZ-2.0 Pro", "yes", "ProducerBridge", "0", "2"]
    result = studio.run("Settings", studio.scenario(inputs=[bad]))
    assert result["messages"][0]["text"].splitlines() == [
        "Import as must be takes, tracks or none.",
        "Stems too must be 0 or 1.",
        "Import spliced file must be 0 or 1.",
    ]
    good = [str(other_drop), "tracks", "FUZZ-2.0 Pro", "1", "ProducerBridge", "0", "1"]
    result = studio.run("Settings", studio.scenario(inputs=[good]))
    assert result["messages"] == []
    assert result["help"] == ["Producer Bridge: settings saved"]
    studio.run(
        "Variation", studio.scenario(items=[audio_item(studio.take)], inputs=[["", "0.5", ""]])
    )
    (path,) = sorted((other_drop / "requests").iterdir())
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["model"] == "FUZZ-2.0 Pro"
    assert data["options"] == {"stems": True, "importAs": "tracks"}
    assert accepted(data).options.import_as == "tracks"


@pytest.mark.parametrize(
    ("os_name", "env", "expected"),
    [
        ("Other", {"HOME": "/home/me"}, "/home/me/.local/share/producer-bridge/drop"),
        ("Other", {"HOME": "/home/me", "XDG_DATA_HOME": "/data"}, "/data/producer-bridge/drop"),
        (
            "macOS-arm64",
            {"HOME": "/Users/me"},
            "/Users/me/Library/Application Support/producer-bridge/drop",
        ),
        (
            "Win64",
            {"LOCALAPPDATA": "C:\\Users\\me\\AppData\\Local"},
            "C:\\Users\\me\\AppData\\Local\\producer-bridge\\producer-bridge\\drop",
        ),
    ],
)
def test_the_default_drop_folder_is_the_daemons_on_each_system(
    studio: Studio, os_name: str, env: dict[str, str], expected: str
) -> None:
    studio.extstate = {}
    result = studio.run("Settings", studio.scenario(inputs=[None], os=os_name), **env)
    assert result["dialogs"][0]["defaults"][0] == expected


def test_a_missing_drop_folder_is_reported_and_a_missing_requests_folder_is_made(
    studio: Studio,
) -> None:
    answers = [["pads", "0.5", ""]]
    studio.extstate["ProducerBridge"]["drop_folder"] = str(studio.tmp / "nowhere")
    result = studio.run(
        "Swap vocals", studio.scenario(items=[audio_item(studio.take)], inputs=answers)
    )
    assert "does not exist" in result["messages"][0]["text"]
    (studio.drop / "requests").rmdir()
    studio.extstate["ProducerBridge"]["drop_folder"] = str(studio.drop)
    result = studio.run(
        "Swap vocals", studio.scenario(items=[audio_item(studio.take)], inputs=answers)
    )
    assert result["created_dirs"] == [str(studio.drop / "requests")]
    assert len(studio.requests()) == 1
