"""The emulator's own contract, on the points where PRODUCER_API.md leaves it to choose (and
it says so in `bridge/emulator/shapes.py` and `contract.py`), and on the endpoints other than
`audios`, which the client does not validate the same way."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.emulator import contract
from bridge.errors import RequestError

MODELS = contract.known_models()


def refused(read: Any, given: Any) -> dict[str, str]:
    with pytest.raises(RequestError) as caught:
        read(given)
    return {issue.field: issue.message for issue in caught.value.issues}


def test_only_the_api_camel_case_names_are_read() -> None:
    """`audio_id` is a field the contract does not name (ignored), not audioId."""
    found = refused(
        lambda body: contract.audios(body, MODELS),
        {"action": "cover_music", "model": "FUZZ-2.0", "audio_id": "a1"},
    )
    assert set(found) == {"audioId"}


def test_a_whole_seed_written_as_a_float_is_read_as_an_int() -> None:
    body = contract.audios({"action": "create_music", "model": "FUZZ-2.0", "seed": 7.0}, MODELS)
    assert body.seed == 7
    assert isinstance(body.seed, int)


def test_the_body_keeps_the_fields_it_was_given_by_their_api_names() -> None:
    given = {"action": "extend_music", "model": "FUZZ-1.0", "audioId": "a1"}
    given |= {"continueAt": 3, "extendDuration": 4.5, "title": None, "soundPrompt": "x"}
    body = contract.audios(given, MODELS)
    assert body.wire_values() == {
        "action": "extend_music",
        "model": "FUZZ-1.0",
        "audioId": "a1",
        "continueAt": 3.0,
        "extendDuration": 4.5,
    }


def test_an_unknown_action_is_the_only_problem_named() -> None:
    found = refused(
        lambda body: contract.audios(body, MODELS),
        {"action": "remix", "model": "nope", "title": "t" * 200},
    )
    assert list(found) == ["action"]
    assert "create_music" in found["action"]
    assert "music_variation" in found["action"]


def test_a_model_added_by_configuration_is_known() -> None:
    body = {"action": "create_music", "model": "Lyria 3 Pro"}
    assert "model" in refused(lambda given: contract.audios(given, MODELS), body)
    contract.audios(body, contract.known_models(["Lyria 3 Pro"]))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8123/clips/a.wav", "HTTPS://bucket.example/a.mp3?X-Amz=1"]
)
def test_upload_takes_an_http_url(url: str) -> None:
    assert contract.upload({"audioUrl": url}).audio_url == url


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({}, "audioUrl"),
        ({"audioUrl": ""}, "audioUrl"),
        ({"audioUrl": "clip.wav"}, "audioUrl"),
        ({"audioUrl": "http://"}, "audioUrl"),
        (["http://a/b.wav"], ""),
    ],
)
def test_upload_refuses_anything_but_an_http_url(given: Any, field: str) -> None:
    assert set(refused(contract.upload, given)) == {field}


@pytest.mark.parametrize("given", [{}, {"audioId": ""}, {"audioId": 7}, {"audioId": None}])
def test_stems_need_an_audio_id(given: dict[str, Any]) -> None:
    assert set(refused(contract.stems, given)) == {"audioId"}


@pytest.mark.parametrize(
    ("given", "chosen"),
    [
        ({}, "m4a"),
        ({"format": None}, "m4a"),
        ({"format": "wav"}, "wav"),
        ({"format": "mp3"}, "mp3"),
    ],
)
def test_download_defaults_to_m4a(given: dict[str, Any], chosen: str) -> None:
    assert contract.download({"audioId": "a1", **given}).chosen == chosen


@pytest.mark.parametrize(("given", "chosen"), [({}, "modern"), ({"preset": "simple"}, "simple")])
def test_download_video_defaults_to_modern(given: dict[str, Any], chosen: str) -> None:
    assert contract.video({"audioId": "a1", **given}).chosen == chosen


def test_a_refused_choice_lists_the_choices() -> None:
    message = refused(contract.download, {"audioId": "a1", "format": "flac"})["format"]
    assert all(name in message for name in ("mp3", "m4a", "wav", "flac"))


@pytest.mark.parametrize(
    ("given", "field"),
    [({}, "taskId"), ({"taskId": ""}, "taskId"), ({"taskId": 5}, "taskId"), ("t1", "")],
)
def test_a_status_request_needs_a_task_id(given: Any, field: str) -> None:
    assert set(refused(contract.task_id, given)) == {field}


def test_a_status_request_reads_the_task_id() -> None:
    assert contract.task_id({"taskId": "t1", "other": 1}) == "t1"
