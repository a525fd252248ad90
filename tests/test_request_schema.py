"""The one request schema: the shipped JSON Schema, the README's examples, every error named."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config import Config
from bridge.errors import RequestError
from bridge.jobs.model import JOB_ACTIONS, JobRequest
from bridge.jobs.wire import Defaults, parse_request, request_schema

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Config()
DEFAULTS = Defaults(CONFIG.models.default, CONFIG.models.known(), "/music/default-project")


def readme_examples() -> list[dict[str, Any]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The request schema", 1)[1].split("\n## ", 1)[0]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]


def issues_of(data: Any) -> dict[str, str]:
    with pytest.raises(RequestError) as caught:
        parse_request(data, DEFAULTS)
    return {issue.field: issue.message for issue in caught.value.issues}


def test_the_readme_has_one_valid_example_per_action() -> None:
    examples = readme_examples()
    assert sorted(example["action"] for example in examples) == sorted(JOB_ACTIONS)
    validator = jsonschema.Draft202012Validator(request_schema())
    for example in examples:
        validator.validate(example)
        assert isinstance(parse_request(example, DEFAULTS), JobRequest)


def test_a_request_without_a_project_goes_to_the_default_project() -> None:
    request = parse_request({"version": 1, "action": "create_music"}, DEFAULTS)
    assert request.project == "/music/default-project"
    assert request.audio.model == CONFIG.models.default


def test_the_selection_fills_the_section_times_in_upload_seconds() -> None:
    data = {
        "version": 1,
        "action": "replace_music",
        "prompts": [{"text": "piano"}],
        "clip": {"path": "/a/take.wav", "itemPosition": 64, "takeOffset": 2, "length": 30},
        "selection": {"start": 77, "end": 90},
    }
    request = parse_request(data, DEFAULTS)
    assert (request.audio.replace_start, request.audio.replace_end) == (13.0, 26.0)
    assert request.audio.sounds[0].strength == 0.5


def test_every_problem_is_named_at_once() -> None:
    found = issues_of(
        {
            "version": 1,
            "action": "replace_musik",
            "prompts": [{"text": "x", "strength": "loud"}],
            "clip": {"path": "/a.wav", "playrate": "fast"},
            "colour": "blue",
        }
    )
    assert set(found) == {"action", "prompts[0].strength", "clip.playrate", "colour"}
    assert "replace_music" in found["action"]
    assert "must be a number" in found["prompts[0].strength"]
    assert "unknown key" in found["colour"]


def test_the_api_rules_are_checked_after_the_structure() -> None:
    found = issues_of(
        {
            "version": 1,
            "action": "swap_music_vocals",
            "prompts": [{"text": "x", "strength": 0.1}],
            "clip": {"path": "relative/take.wav"},
            "project": {"folder": "relative/project"},
        }
    )
    assert "between 0.2 and 1" in found["sounds[0].strength"]
    assert "absolute" in found["clip.path"]
    assert "absolute" in found["project.folder"]


def test_a_selection_outside_the_clip_is_refused() -> None:
    found = issues_of(
        {
            "version": 1,
            "action": "replace_music",
            "prompts": [{"text": "x"}],
            "clip": {"path": "/a.wav", "itemPosition": 10, "length": 5},
            "selection": {"start": 2, "end": 4},
        }
    )
    assert found == {
        "selection": "2..4 s starts before the item, which starts at 10 s on the timeline: "
        "select inside the item"
    }  # said once, in the timeline's terms, not as replaceStart/replaceEnd too


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "request"),
        ("text", "request"),
        ({"action": "create_music"}, "version"),
        ({"version": 2, "action": "create_music"}, "version"),
        ({"version": 1}, "action"),
        (
            {"version": 1, "action": "create_music", "options": {"importAs": "folder"}},
            "options.importAs",
        ),
        ({"version": 1, "action": "create_music", "prompts": [{"text": "a"}] * 5}, "prompts"),
        ({"version": 1, "action": "create_music", "params": {"seed": -1}}, "params.seed"),
        ({"version": 1, "action": "cover_music"}, "clip"),
        (
            {"version": 1, "action": "create_music", "selection": {"start": -5, "end": -1}},
            "selection.start",
        ),
        ({"version": 1, "action": "create_music", "clip": {"path": "/a.wav"}}, "clip"),
    ],
)
def test_bad_requests_name_their_field(data: Any, field: str) -> None:
    assert field in issues_of(data)


def test_a_bound_on_an_optional_field_is_said_in_words() -> None:
    found = issues_of({"version": 1, "action": "create_music", "params": {"seed": -1}})
    assert found["params.seed"] == "must be at least 0 (got -1)"
    found = issues_of(
        {"version": 1, "action": "create_music", "project": {"folder": "/p", "sampleRate": 100}}
    )
    assert found["project.sampleRate"] == (
        "must be one of 8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, "
        "192000, 352800, 384000 (got 100)"
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(
    [
        "version",
        "action",
        "model",
        "prompts",
        "lyrics",
        "params",
        "audioId",
        "project",
        "clip",
        "selection",
        "options",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=8), st.sampled_from(JOB_ACTIONS))
def test_any_json_is_either_a_job_or_a_named_rejection(data: dict[str, Any], action: str) -> None:
    data.setdefault("version", 1)
    data.setdefault("action", action)
    try:
        outcome: JobRequest | list[Any] = parse_request(data, DEFAULTS)
    except RequestError as exc:
        outcome = list(exc.issues)
    if isinstance(outcome, list):
        assert outcome
        assert all(issue.message for issue in outcome)
    else:
        assert isinstance(outcome, JobRequest)
