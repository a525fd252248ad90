"""Providers: mountsea's two contracts chosen by model, what Lyria cannot carry refused at
intake, and the emulator's twins (mountsea-fuzz, mountsea-lyria) over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf

from bridge.api.providers import MOUNTSEA_PROVIDER
from bridge.api.providers.mountsea import LYRIA_CONTRACT
from bridge.cli.emulator import settings_from
from bridge.cli.main import build_parser
from bridge.config import BUILTIN_MODELS, Config, EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.errors import ConfigError, JobError, RequestError
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import JobStatus
from bridge.jobs.wire import Defaults, parse_request
from tests.conftest import pipeline_runner

LYRIA = "Lyria 3 Pro"
FUZZ = "FUZZ-2.0 Pro"
DEFAULTS = Defaults(FUZZ, BUILTIN_MODELS, "/music/song")


def lyria_settings(**changes: Any) -> EmulatorSettings:
    return EmulatorSettings(
        port=0, task_seconds=0.05, create_seconds=2.0, provider="mountsea-lyria", **changes
    )


@pytest.fixture
def lyria_twin() -> Iterator[EmulatorServer]:
    with EmulatorServer(lyria_settings()) as server:
        yield server


def refused(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(RequestError) as caught:
        parse_request({"version": 1, **data}, DEFAULTS)
    return {issue.field: issue.message for issue in caught.value.issues}


# --- what each contract can carry, judged at intake --------------------------------------


def test_a_lyria_create_is_judged_for_the_lyria_contract_and_a_fuzz_one_for_the_seeds() -> None:
    lyria = parse_request(
        {"version": 1, "action": "create_music", "model": LYRIA, "prompts": [{"text": "dub"}]},
        DEFAULTS,
    )
    fuzz = parse_request(
        {"version": 1, "action": "create_music", "prompts": [{"text": "x"}]}, DEFAULTS
    )
    assert (lyria.provider, lyria.contract) == ("mountsea", "mountsea-lyria")
    assert (fuzz.provider, fuzz.contract) == ("mountsea", "mountsea-fuzz")


@pytest.mark.parametrize(
    ("request_", "field", "words"),
    [
        ({"prompts": [{"text": "noise", "strength": -0.5}]}, "prompts[0].strength", "negative"),
        ({"prompts": [{"text": "drop", "timeStart": 10}]}, "prompts[0].timeStart", "time-ranged"),
        ({"prompts": [{"text": "a"}, {"text": "b"}]}, "prompts", "more than one prompt"),
        ({"prompts": [{"text": "a"}], "params": {"weirdness": 0.4}}, "weirdness", "weirdness"),
        ({"lyrics": "[Verse] la", "params": {"lyricsStrength": 0.4}}, "lyricsStrength", ""),
        ({"params": {"title": "only a title"}}, "prompts", "a prompt or lyrics"),
    ],
)
def test_what_lyria_cannot_carry_is_refused_at_intake_naming_the_fix(
    request_: dict[str, Any], field: str, words: str
) -> None:
    found = refused({"action": "create_music", "model": LYRIA, **request_})
    assert words in found[field]
    if field != "prompts" or "more than" in words:
        assert f"'{FUZZ}'" in found[field]  # the fix: a model whose contract carries it


def test_an_edit_under_lyria_is_refused_naming_the_action_and_a_model_that_has_it() -> None:
    found = refused(
        {
            "action": "replace_music",
            "model": LYRIA,
            "audioId": "a1",
            "params": {"replaceStart": 1, "replaceEnd": 2},
        }
    )
    assert found["action"].startswith("replace_music is not part of what 'Lyria 3 Pro' speaks")
    assert f"use a model such as '{FUZZ}'" in found["action"]


def test_stems_of_a_clip_speak_every_contract() -> None:
    request = parse_request(
        {"version": 1, "action": "stems_only", "model": LYRIA, "audioId": "a1"}, DEFAULTS
    )
    assert request.contract == "mountsea-lyria"


def test_the_lyria_body_carries_one_sound_prompt_and_only_its_own_fields() -> None:
    audio = AudioRequest(
        "create_music",
        LYRIA,
        (Sound("warm dub", 0.7),),
        lyrics="[Verse] la",
        title="t",
        seed=3,
        make_instrumental=False,
    )
    assert LYRIA_CONTRACT.audio_body(audio) == {
        "action": "create_music",
        "model": LYRIA,
        "soundPrompt": "warm dub",
        "lyrics": "[Verse] la",
        "title": "t",
        "seed": 3,
        "makeInstrumental": False,
    }
    assert MOUNTSEA_PROVIDER.contract_for(LYRIA) is LYRIA_CONTRACT
    assert MOUNTSEA_PROVIDER.contract_for("House Model").name == "mountsea-fuzz"


def test_a_job_judged_for_another_provider_is_not_sent_to_this_one() -> None:
    with pytest.raises(JobError, match=r"set api\.provider = 'acedata'"):
        MOUNTSEA_PROVIDER.judged("acedata", "acedata", FUZZ)


# --- the lyria twin over loopback ---------------------------------------------------------


def post(server: EmulatorServer, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token}"}
    return httpx.post(f"{server.url}/producer/audios", json=body, headers=headers)


def test_the_lyria_twin_refuses_every_action_but_create_and_every_model_but_lyria(
    lyria_twin: EmulatorServer,
) -> None:
    edit = post(lyria_twin, {"action": "replace_music", "model": LYRIA, "soundPrompt": "x"})
    fuzz = post(lyria_twin, {"action": "create_music", "model": FUZZ, "soundPrompt": "x"})
    empty = post(lyria_twin, {"action": "create_music", "model": LYRIA})
    assert (edit.status_code, edit.json()["field"]) == (400, "action")
    assert "replace_music" in edit.json()["message"]
    assert (fuzz.status_code, fuzz.json()["field"]) == (400, "model")
    assert FUZZ in fuzz.json()["message"]
    assert (empty.status_code, empty.json()["field"]) == (400, "soundPrompt")
    assert lyria_twin.stats()["tasks_created"] == {}


async def test_a_lyria_create_lands_in_the_project_at_44100_with_its_credits(
    lyria_twin: EmulatorServer, tmp_path: Path
) -> None:
    project = tmp_path / "song"
    data = {"action": "create_music", "model": LYRIA, "prompts": [{"text": "dub"}]}
    request = parse_request({"version": 1, **data}, Defaults(LYRIA, BUILTIN_MODELS, str(project)))
    async with pipeline_runner(lyria_twin, tmp_path) as runner:
        job = runner.submit(request)
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    assert finished.facts.manifest is not None
    manifest = json.loads((project / finished.facts.manifest).read_text())
    assert manifest["credits"] == 10
    (entry,) = manifest["files"]
    info = sf.info(str(project / entry["path"]))
    assert (info.samplerate, info.channels) == (44100, 2)
    assert lyria_twin.created("create_music") == 1


async def test_stems_of_a_clip_work_under_the_lyria_twin(
    lyria_twin: EmulatorServer, tmp_path: Path, tone: Any
) -> None:
    project = tmp_path / "song"
    data = {"action": "stems_only", "model": LYRIA, "clip": {"path": str(tone(3.0))}}
    request = parse_request({"version": 1, **data}, Defaults(LYRIA, BUILTIN_MODELS, str(project)))
    async with pipeline_runner(lyria_twin, tmp_path) as runner:
        job = runner.submit(request)
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    assert finished.facts.spent() == 5  # one stems task
    assert len([p for p in finished.facts.written if "stems" in p]) == 4


async def test_a_fuzz_job_records_its_credits_in_the_manifest(
    make_emulator: Any, tmp_path: Path
) -> None:
    server = make_emulator()
    project = tmp_path / "song"
    data = {"action": "create_music", "prompts": [{"text": "x"}], "options": {"stems": True}}
    request = parse_request({"version": 1, **data}, Defaults(FUZZ, BUILTIN_MODELS, str(project)))
    async with pipeline_runner(server, tmp_path) as runner:
        job = runner.submit(request)
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    assert finished.facts.manifest is not None
    manifest = json.loads((project / finished.facts.manifest).read_text())
    assert manifest["credits"] == 15  # an audios task (10) and a stems task (5)


def test_the_emulator_command_takes_its_contract_and_starting_credits() -> None:
    args = build_parser("emulator").parse_args(
        ["emulator", "--provider", "mountsea-lyria", "--credits", "500"]
    )
    settings = settings_from(args, Config())
    assert (settings.provider, settings.credits) == ("mountsea-lyria", 500)
    acedata = build_parser("emulator").parse_args(["emulator", "--provider", "acedata"])
    assert settings_from(acedata, Config()).provider == "acedata"
    wrong = build_parser("emulator").parse_args(["emulator", "--provider", "aimusicapi"])
    with pytest.raises(ConfigError) as caught:
        settings_from(wrong, Config())
    assert caught.value.fields == ("--provider",)


def test_the_usage_api_wants_its_key_in_x_api_key(lyria_twin: EmulatorServer) -> None:
    url = f"{lyria_twin.url}/api-user/credits"
    bearer = httpx.get(url, headers={"Authorization": f"Bearer {lyria_twin.token}"})
    keyed = httpx.get(url, headers={"X-API-Key": lyria_twin.token})
    query = httpx.get(url, params={"key": lyria_twin.token})
    assert bearer.status_code == 401
    assert keyed.json() == query.json() == {"credits": 10000}
    assert lyria_twin.stats()["requests"]["api-user/credits"] == 3
