"""Request validation: every rule names the field and what is allowed, before any network call."""

from __future__ import annotations

import dataclasses

import pytest

from bridge.config import BUILTIN_MODELS
from bridge.errors import RequestError
from bridge.jobs.request import ACTIONS, AudioRequest, Sound
from bridge.jobs.rules import validate_audio

MODEL = "FUZZ-2.0 Pro"
EDITS = [action for action in ACTIONS if action != "create_music"]


def valid(action: str) -> AudioRequest:
    """The smallest request of each action that the service accepts."""
    own: dict[str, object] = {
        "extend_music": {"continue_at": 10.0, "extend_duration": 30.0},
        "replace_music": {"replace_start": 15.0, "replace_end": 28.0},
        "cover_music": {"cover_strength": 0.5},
    }.get(action, {})
    audio_id = None if action == "create_music" else "a1"
    return AudioRequest(
        action=action, model=MODEL, sounds=(Sound("warm synths", 0.5),), audio_id=audio_id, **own
    )


def problems(request: AudioRequest, **kwargs: bool) -> dict[str, str]:
    with pytest.raises(RequestError) as caught:
        validate_audio(request, BUILTIN_MODELS, **kwargs)
    return {issue.field: issue.message for issue in caught.value.issues}


@pytest.mark.parametrize("action", ACTIONS)
def test_the_smallest_request_of_each_action_is_valid(action: str) -> None:
    validate_audio(valid(action), BUILTIN_MODELS)


def test_an_unknown_action_lists_the_actions() -> None:
    found = problems(dataclasses.replace(valid("create_music"), action="remix"))
    assert "create_music" in found["action"]
    assert "music_variation" in found["action"]


@pytest.mark.parametrize("action", EDITS)
def test_every_action_but_create_needs_an_audio_id(action: str) -> None:
    found = problems(dataclasses.replace(valid(action), audio_id=None))
    assert "audioId" in found


def test_an_audio_id_may_wait_for_the_upload_that_will_provide_it() -> None:
    validate_audio(
        dataclasses.replace(valid("replace_music"), audio_id=None),
        BUILTIN_MODELS,
        needs_audio_id=False,
    )


def test_create_takes_no_audio_id() -> None:
    assert "audioId" in problems(dataclasses.replace(valid("create_music"), audio_id="a1"))


def test_extend_needs_where_and_how_long() -> None:
    found = problems(
        dataclasses.replace(valid("extend_music"), continue_at=None, extend_duration=None)
    )
    assert set(found) == {"continueAt", "extendDuration"}


def test_extend_duration_must_be_positive() -> None:
    found = problems(dataclasses.replace(valid("extend_music"), extend_duration=0.0))
    assert found["extendDuration"] == "must be > 0 seconds (got 0)"


def test_replace_start_must_come_before_its_end() -> None:
    found = problems(
        dataclasses.replace(valid("replace_music"), replace_start=28.0, replace_end=15.0)
    )
    assert found == {"replaceEnd": "must be after replaceStart (28 s), got 15 s"}


def test_replace_times_are_not_negative() -> None:
    found = problems(dataclasses.replace(valid("replace_music"), replace_start=-1.0))
    assert found["replaceStart"] == "must be >= 0 seconds (got -1)"


@pytest.mark.parametrize("strength", [-0.1, 1.5])
def test_cover_strength_is_between_0_and_1(strength: float) -> None:
    found = problems(dataclasses.replace(valid("cover_music"), cover_strength=strength))
    assert found["coverStrength"] == f"must be between 0 and 1 (got {strength:g})"


def test_fields_of_one_action_are_refused_on_another() -> None:
    found = problems(dataclasses.replace(valid("cover_music"), continue_at=3.0, replace_end=4.0))
    assert found["continueAt"] == "only extend_music takes continueAt (this is cover_music)"
    assert "replaceEnd" in found


def test_create_takes_up_to_four_sounds() -> None:
    sounds = tuple(Sound(f"style {n}", 0.5) for n in range(5))
    found = problems(dataclasses.replace(valid("create_music"), sounds=sounds))
    assert found["sounds"] == "create_music takes at most 4 sound prompt(s) (got 5)"


@pytest.mark.parametrize("action", EDITS)
def test_other_actions_take_one_sound(action: str) -> None:
    sounds = (Sound("a", 0.5), Sound("b", 0.5))
    assert "at most 1" in problems(dataclasses.replace(valid(action), sounds=sounds))["sounds"]


def test_create_accepts_negative_prompts_down_to_minus_one() -> None:
    sounds = (Sound("pop", 0.5), Sound("muddy vocals", -1.0))
    validate_audio(dataclasses.replace(valid("create_music"), sounds=sounds), BUILTIN_MODELS)
    found = problems(dataclasses.replace(valid("create_music"), sounds=(Sound("x", -1.5),)))
    assert found["sounds[0].strength"] == "must be between -1 and 1 for create_music (got -1.5)"


@pytest.mark.parametrize("strength", [0.1, 1.1, -0.5])
def test_edit_strength_is_between_0_2_and_1(strength: float) -> None:
    found = problems(
        dataclasses.replace(valid("swap_music_vocals"), sounds=(Sound("baritone", strength),))
    )
    assert found["sounds[0].strength"] == (
        f"must be between 0.2 and 1 for swap_music_vocals (got {strength:g})"
    )


def test_time_ranges_belong_to_create_only() -> None:
    sounds = (Sound("disco", 0.5, time_start=0.0, time_end=10.0),)
    found = problems(dataclasses.replace(valid("replace_music"), sounds=sounds))
    assert "create_music only" in found["sounds[0].timeStart"]


def test_time_ranges_are_non_negative_and_ordered() -> None:
    sounds = (Sound("a", 0.5, time_start=-2.0), Sound("b", 0.5, time_start=20.0, time_end=10.0))
    found = problems(dataclasses.replace(valid("create_music"), sounds=sounds))
    assert found["sounds[0].timeStart"] == "must be >= 0 seconds (got -2)"
    assert found["sounds[1].timeEnd"] == "must be after sounds[1].timeStart (20 s), got 10 s"


def test_only_variation_may_leave_the_prompt_empty() -> None:
    validate_audio(
        dataclasses.replace(valid("music_variation"), sounds=(Sound("", 0.5),)), BUILTIN_MODELS
    )
    found = problems(dataclasses.replace(valid("cover_music"), sounds=(Sound("  ", 0.5),)))
    assert "sounds[0].text" in found


def test_titles_count_characters_not_bytes() -> None:
    eighty = "夏" * 80  # 240 bytes in UTF-8, 80 characters
    validate_audio(dataclasses.replace(valid("create_music"), title=eighty), BUILTIN_MODELS)
    found = problems(dataclasses.replace(valid("create_music"), title=eighty + "天"))
    assert found["title"] == "must be at most 80 characters (got 81)"


@pytest.mark.parametrize("name", ["lyrics_strength", "weirdness"])
def test_lyrics_strength_and_weirdness_are_between_0_and_1(name: str) -> None:
    found = problems(dataclasses.replace(valid("create_music"), **{name: 1.2}))
    field = {"lyrics_strength": "lyricsStrength", "weirdness": "weirdness"}[name]
    assert found[field] == "must be between 0 and 1 (got 1.2)"


def test_models_come_from_one_table_that_config_extends() -> None:
    request = dataclasses.replace(valid("create_music"), model="FUZZ-2.5")
    found = problems(request)
    assert "unknown model 'FUZZ-2.5'" in found["model"]
    assert "models.extra" in found["model"]
    validate_audio(request, (*BUILTIN_MODELS, "FUZZ-2.5"))
    assert "Lyria 3 Pro" in BUILTIN_MODELS  # it speaks its own contract (jobs.offers)


def test_every_problem_is_reported_at_once() -> None:
    request = AudioRequest(
        action="replace_music",
        model="nope",
        sounds=(Sound("x", 3.0),),
        title="t" * 81,
        weirdness=2.0,
    )
    assert set(problems(request)) == {
        "model",
        "audioId",
        "replaceStart",
        "replaceEnd",
        "sounds[0].strength",
        "title",
        "weirdness",
    }


def test_the_body_uses_the_api_names_and_leaves_unset_fields_out() -> None:
    body = dataclasses.replace(
        valid("extend_music"), seed=349732, make_instrumental=False
    ).to_json()
    assert body == {
        "action": "extend_music",
        "model": MODEL,
        "sounds": [{"text": "warm synths", "strength": 0.5}],
        "audioId": "a1",
        "seed": 349732,
        "makeInstrumental": False,
        "continueAt": 10.0,
        "extendDuration": 30.0,
    }


def test_a_body_reads_back_into_the_same_request() -> None:
    request = AudioRequest(
        action="create_music",
        model=MODEL,
        title="夏天",
        seed=7,
        lyrics="【主歌 A】",
        sounds=(Sound("pop", 0.5), Sound("跑调", -0.5, time_start=0.0, time_end=12.0)),
    )
    assert AudioRequest.from_json(request.to_json()) == request


def test_a_body_with_wrong_json_types_names_each_field() -> None:
    with pytest.raises(RequestError) as caught:
        AudioRequest.from_json(
            {"action": "create_music", "seed": "7", "sounds": [{"text": "x", "strength": "high"}]}
        )
    assert set(caught.value.fields) == {"model", "seed", "sounds[0].strength"}
