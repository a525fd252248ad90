"""The drop folder's pure rules: classification, names, sidecars, completeness."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import BridgeError, Issue, RequestError, explain
from bridge.jobs.wire import parse_json_object
from bridge.watch.drop import (
    CLIP_ACTIONS,
    ERROR_SUFFIX,
    NAME_MAX_BYTES,
    Kind,
    Settling,
    Signature,
    check_sidecar,
    classify,
    clip_request,
    error_report,
    free_stem,
    sidecar_names,
    split_name,
)

ROOT = PurePosixPath("/drop")


def kind_of(relative: str) -> Kind:
    return classify(ROOT, ROOT / relative).kind


def test_action_folders_are_the_api_actions_that_take_audio() -> None:
    assert set(CLIP_ACTIONS) == {
        "extend_music",
        "replace_music",
        "cover_music",
        "swap_music_sound",
        "swap_music_vocals",
        "music_variation",
        "stems_only",
    }


@pytest.mark.parametrize("name", ["take.wav", "Take.WAV", "a.b.aif", "x.AIFF", "y.flac", "z.Mp3"])
def test_audio_in_an_action_folder_is_a_clip(name: str) -> None:
    drop = classify(ROOT, ROOT / "cover_music" / name)
    assert drop.kind is Kind.CLIP
    assert drop.action == "cover_music"


def test_json_beside_audio_is_a_sidecar_and_in_requests_a_request() -> None:
    assert kind_of("extend_music/take.json") is Kind.SIDECAR
    assert kind_of("requests/job.json") is Kind.REQUEST
    assert kind_of("requests/job.JSON") is Kind.REQUEST


def test_rejections_say_what_to_do() -> None:
    notes = classify(ROOT, ROOT / "extend_music" / "notes.txt")
    assert notes.kind is Kind.REJECT
    assert notes.reason.startswith("not an audio file: notes.txt (expected .wav, ")
    loose = classify(ROOT, ROOT / "take.wav")
    assert loose.kind is Kind.REJECT
    assert loose.folder == ""
    assert loose.reason.startswith("put it in one of the action folders: ")
    assert "extend_music/" in loose.reason
    audio_in_requests = classify(ROOT, ROOT / "requests" / "take.wav")
    assert audio_in_requests.kind is Kind.REJECT
    assert "not a request file" in audio_in_requests.reason


@pytest.mark.parametrize(
    "relative",
    [
        "extend_music/take.wav.part",
        "extend_music/take.tmp",
        "extend_music/take.wav.crdownload",
        "extend_music/take.WAV.download",
        "extend_music/.take.wav",
        "extend_music/~take.wav",
        "extend_music/desktop.ini",
        "Thumbs.db",
        ".DS_Store",
        "done/take.wav",
        "failed/notes.txt",
        "create_music/take.wav",
        "extend_music/sub/take.wav",
        "my stuff/take.wav",
        "status.json",  # the daemon's own board
    ],
)
def test_not_inputs_are_ignored(relative: str) -> None:
    assert kind_of(relative) is Kind.IGNORE


def test_paths_outside_the_root_and_the_root_itself_are_ignored() -> None:
    assert classify(ROOT, PurePosixPath("/elsewhere/extend_music/a.wav")).kind is Kind.IGNORE
    assert classify(ROOT, ROOT).kind is Kind.IGNORE


@pytest.mark.parametrize(
    ("name", "stem", "suffix"),
    [
        ("take.wav", "take", ".wav"),
        ("take.1.WAV", "take.1", ".WAV"),
        ("take", "take", ""),
        (".hidden", ".hidden", ""),
        ("take.", "take.", ""),
        ("夏天 \u2013 take ①.wav", "夏天 \u2013 take ①", ".wav"),
    ],
)
def test_split_name(name: str, stem: str, suffix: str) -> None:
    assert split_name(name) == (stem, suffix)


def test_sidecar_names_share_the_audio_stem() -> None:
    assert sidecar_names("take.1.WAV") == ("take.1.json", "take.1.JSON")


def test_free_stem_counts_on_and_keeps_a_group_in_step() -> None:
    assert free_stem("take", [".wav", ".json"], set()) == "take"
    # the sidecar's name is taken, not the audio's: both move to the next stem together
    assert free_stem("take", [".wav", ".json"], {"take.json"}) == "take (2)"
    taken = {"take (2).wav", "take (3).error.txt"}
    assert free_stem("take (2)", [".wav", ERROR_SUFFIX], taken) == "take (4)"


def test_free_stem_fits_long_names() -> None:
    stem = "夏" * 83  # 249 bytes in UTF-8: `stem.wav` fits, `stem (2).wav` would not
    result = free_stem(stem, [".wav"], {stem + ".wav"})
    assert result == "夏" * 82 + " (2)"
    assert len((result + ".wav").encode()) <= NAME_MAX_BYTES
    longest = free_stem("夏" * 100, [".wav", ERROR_SUFFIX], set())
    assert len((longest + ERROR_SUFFIX).encode()) <= NAME_MAX_BYTES


def test_parse_json_object_says_where_it_is_broken() -> None:
    with pytest.raises(RequestError, match=r"take\.json is not valid JSON: .* at line 2, column"):
        parse_json_object(b'{"prompts": [\n  }', "take.json")
    with pytest.raises(RequestError, match="must hold one JSON object"):
        parse_json_object(b"[1, 2]", "take.json")
    with pytest.raises(RequestError, match="is empty"):
        parse_json_object(b" \n", "take.json")
    with pytest.raises(RequestError, match="not UTF-8"):
        parse_json_object(b'{"lyrics": "\xff"}', "take.json")
    # Windows editors write a byte order mark: still the same object
    assert parse_json_object(b'\xef\xbb\xbf{"a": 1}', "take.json") == {"a": 1}


def test_clip_request_merges_the_sidecar() -> None:
    sidecar = {
        "prompts": [{"text": "disco", "strength": 0.8}],
        "params": {"seed": 7},
        "clip": {"itemPosition": 12.5, "playrate": 1.0, "path": "/somewhere/else.wav"},
    }
    before = json.dumps(sidecar)
    request = clip_request("extend_music", sidecar, "/drop/done/take.wav")
    assert request == {
        "version": 1,
        "action": "extend_music",
        "prompts": [{"text": "disco", "strength": 0.8}],
        "params": {"seed": 7},
        "clip": {"itemPosition": 12.5, "playrate": 1.0, "path": "/drop/done/take.wav"},
    }
    assert json.dumps(sidecar) == before  # the sidecar is not changed
    bare = clip_request("cover_music", None, "/d/done/a.wav")
    assert bare == {"version": 1, "action": "cover_music", "clip": {"path": "/d/done/a.wav"}}


def test_the_folder_decides_the_action() -> None:
    check_sidecar("extend_music", {"action": "extend_music"}, "take.json")
    with pytest.raises(RequestError) as caught:
        check_sidecar("extend_music", {"action": "cover_music", "clip": 3}, "take.json")
    assert caught.value.fields == ("action", "clip")
    assert "the folder decides" in caught.value.details()
    assert "move the clip and take.json into cover_music/" in caught.value.details()


def test_a_drop_folder_error_report_says_what_a_person_reads() -> None:
    issues = RequestError([Issue("prompts[0].strength", "must be at most 1 (got 5)")])
    assert "prompts[0].strength: must be at most 1 (got 5)" in explain(issues)
    assert explain(BridgeError("no project folder")) == "no project folder"
    assert explain(ValueError("boom")) == "internal error: ValueError: boom"


def test_error_report_names_the_files_reason_and_fix() -> None:
    text = error_report(
        names=["夏天 ①.wav", "夏天 ①.json"],
        folder="extend_music",
        dropped_into="/drop/extend_music",
        reason="empty file",
        when="2024-01-01T00:00:00+00:00",
    )
    assert "夏天 ①.wav + 夏天 ①.json" in text
    assert "empty file" in text
    assert "move 夏天 ①.wav (and its .json sidecar, if any) from failed/ back into" in text
    notes = error_report(
        names=["notes.txt"], folder="cover_music", dropped_into="/d", reason="r", when="now"
    )
    assert "Only audio files (.wav, " in notes


def test_settling_waits_for_quiet() -> None:
    settling = Settling(settle=1.0, grace=0.1)
    path, sig = Path("/d/a.wav"), Signature(10, 1)
    settling.saw(path, sig, now=0.0)
    assert settling.due(0.5) == []
    assert not settling.check(path, 0.5, trust_close=False)
    settling.saw(path, Signature(20, 2), now=0.8)  # it grew: the wait starts again
    assert settling.due(1.5) == []
    assert settling.due(1.8) == [path]
    settling.saw(path, Signature(20, 2), now=1.8)
    assert settling.check(path, 1.8, trust_close=False)


def test_settling_trusts_a_close_only_where_asked_and_only_if_nothing_changed() -> None:
    settling = Settling(settle=1.0, grace=0.1)
    path, sig = Path("/d/r.json"), Signature(10, 1)
    settling.saw(path, sig, now=0.0, closed=True)
    assert settling.due(0.1) == [path]
    assert settling.check(path, 0.1, trust_close=True)
    assert not settling.check(path, 0.1, trust_close=False)
    assert settling.when(path) == 1.0  # a clip waits the full settle
    settling.saw(path, Signature(11, 2), now=0.2)  # written again after the close
    assert not settling.check(path, 0.35, trust_close=True)


def test_settling_park_and_forget() -> None:
    settling = Settling(settle=1.0, grace=0.1)
    path, sig = Path("/d/a.json"), Signature(10, 1)
    settling.saw(path, sig, now=0.0)
    settling.park(path)
    assert settling.due(10.0) == []
    assert settling.next_check() is None
    settling.saw(path, sig, now=5.0)  # unchanged: stays parked
    assert settling.due(10.0) == []
    settling.saw(path, sig, now=5.0, changed=True)  # an event: checked again
    assert settling.due(6.0) == [path]
    settling.forget(path)
    assert path not in settling


# Properties --------------------------------------------------------------------------------

names = st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and "\x00" not in s)


@settings(max_examples=30, deadline=None)
@given(
    parts=st.lists(st.one_of(names, st.sampled_from([*CLIP_ACTIONS, "requests", ".."])), max_size=4)
)
def test_any_path_classifies_without_raising(parts: list[str]) -> None:
    drop = classify(ROOT, ROOT.joinpath(*parts))
    assert drop.kind in Kind
    if drop.kind is Kind.REJECT:
        assert drop.reason


@settings(max_examples=30, deadline=None)
@given(name=names)
def test_split_name_loses_nothing(name: str) -> None:
    stem, suffix = split_name(name)
    assert stem + suffix == name
    assert stem


@settings(max_examples=30, deadline=None)
@given(
    stem=names,
    suffixes=st.lists(st.sampled_from([".wav", ".json", ".JSON", ERROR_SUFFIX, ""]), min_size=1),
    numbers=st.lists(st.integers(min_value=1, max_value=6), max_size=6),
    others=st.sets(names, max_size=5),
)
def test_free_stem_never_returns_a_taken_name(
    stem: str, suffixes: list[str], numbers: list[int], others: set[str]
) -> None:
    base = split_name(stem)[0]
    taken = set(others) | {stem + s for s in suffixes}
    taken |= {f"{base} ({n}){s}" for n in numbers for s in suffixes}
    result = free_stem(stem, suffixes, taken)
    assert all(result + suffix not in taken for suffix in suffixes)
