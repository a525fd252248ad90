"""The acedata provider against its twin over loopback: every action and stems end to
end, placement and splicing as under mountsea-fuzz, what it cannot carry refused at intake,
its envelope, tasks and errors on the wire, and credits: null."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from bridge.api.providers import ACEDATA_PROVIDER, MOUNTSEA_PROVIDER
from bridge.config import BUILTIN_MODELS, EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.errors import JobError, RequestError
from bridge.jobs.offers import ACEDATA
from bridge.jobs.state import Job, JobStatus
from bridge.jobs.wire import Defaults, parse_request
from tests.conftest import pipeline_runner

FUZZ = "FUZZ-2.0 Pro"


def acedata_settings(**changes: Any) -> EmulatorSettings:
    return EmulatorSettings(
        port=0, task_seconds=0.05, create_seconds=2.0, provider="acedata", **changes
    )


@pytest.fixture
def twin() -> Iterator[EmulatorServer]:
    with EmulatorServer(acedata_settings()) as server:
        yield server


def defaults(project: Path) -> Defaults:
    return Defaults(FUZZ, BUILTIN_MODELS, str(project), offer=ACEDATA)


def judged(data: dict[str, Any], project: Path) -> Any:
    return parse_request({"version": 1, **data}, defaults(project))


async def run_job(server: EmulatorServer, tmp_path: Path, request: Any) -> Job:
    async with pipeline_runner(server, tmp_path, provider=ACEDATA_PROVIDER) as runner:
        job = runner.submit(request)
        return (await runner.run_until_idle())[job.id]


def manifest_of(project: Path, job: Job) -> dict[str, Any]:
    assert job.facts.manifest is not None
    data: dict[str, Any] = json.loads((project / job.facts.manifest).read_text())
    return data


def audio(path: Path) -> np.ndarray:
    data, _ = sf.read(str(path), dtype="float64", always_2d=True)
    return data


# --- end to end against the twin ---------------------------------------------------------


async def test_a_create_lands_in_the_project_with_credits_null(
    twin: EmulatorServer, tmp_path: Path
) -> None:
    project = tmp_path / "song"
    request = judged({"action": "create_music", "prompts": [{"text": "dub"}]}, project)
    assert (request.provider, request.contract) == ("acedata", "acedata")
    finished = await run_job(twin, tmp_path, request)
    assert finished.status == JobStatus.COMPLETED, finished.error
    manifest = manifest_of(project, finished)
    assert manifest["credits"] is None
    (entry,) = manifest["files"]
    assert sf.info(str(project / entry["path"])).duration == pytest.approx(2.0, abs=0.01)
    assert twin.created("create_music") == 1


EDITS = [
    ("replace_music", {"selection": {"start": 2.0, "end": 3.0}}, "replace_music"),
    (
        "extend_music",
        {"selection": {"start": 3.0, "end": 3.5}, "params": {"extendDuration": 2.0}},
        "extend_music",
    ),
    ("cover_music", {"params": {"coverStrength": 0.6}}, "cover_music"),
    ("swap_music_vocals", {}, "swap_music_vocals"),
    ("swap_music_sound", {}, "swap_music_sound"),
    ("music_variation", {}, "music_variation"),
]


@pytest.mark.parametrize(("action", "extra", "kind"), EDITS)
async def test_every_edit_of_a_clip_lands_on_its_place_with_stems(
    twin: EmulatorServer,
    tmp_path: Path,
    tone: Callable[..., Path],
    action: str,
    extra: dict[str, Any],
    kind: str,
) -> None:
    project = tmp_path / "song"
    clip = {"path": str(tone(4.0, rate=44100)), "itemPosition": 1.0}
    data = {"action": action, "prompts": [{"text": "brass"}], "clip": clip,
            "options": {"stems": True}, **extra}  # fmt: skip
    finished = await run_job(twin, tmp_path, judged(data, project))
    assert finished.status == JobStatus.COMPLETED, finished.error
    assert twin.created(kind) == 1
    assert (twin.created("upload"), twin.created("stems")) == (1, 1)
    manifest = manifest_of(project, finished)
    assert manifest["credits"] is None
    files = {Path(entry["path"]).name: entry for entry in manifest["files"]}
    assert {"vocals.wav", "instrumental.wav"} <= set(files)
    result = files["result.wav"]
    assert result["position"]["seconds"] == pytest.approx(1.0)
    stems = [audio(project / files[name]["path"]) for name in ("vocals.wav", "instrumental.wav")]
    assert all(len(stem) == result["lengthSamples"] for stem in stems)


async def test_a_replaced_section_is_spliced_keeping_the_original_around_it(
    twin: EmulatorServer, tmp_path: Path, tone: Callable[..., Path]
) -> None:
    project = tmp_path / "song"
    source = tone(4.0, rate=44100)
    data = {"action": "replace_music", "clip": {"path": str(source)},
            "selection": {"start": 1.0, "end": 2.0}}  # fmt: skip
    finished = await run_job(twin, tmp_path, judged(data, project))
    assert finished.status == JobStatus.COMPLETED, finished.error
    files = {entry["kind"]: entry for entry in manifest_of(project, finished)["files"]}
    spliced, original = audio(project / files["spliced"]["path"]), audio(source)
    rate = 44100
    assert spliced.shape == original.shape
    assert np.array_equal(spliced[: rate - 2000], original[: rate - 2000])
    assert np.array_equal(spliced[2 * rate + 2000 :], original[2 * rate + 2000 :])
    assert not np.array_equal(spliced[rate + 2000 : 2 * rate - 2000],
                              original[rate + 2000 : 2 * rate - 2000])  # fmt: skip


# --- what the acedata contract cannot carry, judged at intake ---------------------------


@pytest.mark.parametrize(
    ("request_", "field", "words"),
    [
        ({"prompts": [{"text": "a"}, {"text": "b"}]}, "prompts", "more than one prompt"),
        ({"prompts": [{"text": "noise", "strength": -0.5}]}, "prompts[0].strength", "negative"),
        ({"prompts": [{"text": "drop", "timeStart": 10}]}, "prompts[0].timeStart", "time-ranged"),
        ({"prompts": [{"text": "soft", "strength": 0.1}]}, "prompts[0].strength", "0.2 to 1"),
        ({"prompts": [{"text": "a"}], "params": {"seed": 7}}, "seed", "acedata"),
        ({"params": {"title": "only a title"}}, "prompts", "a prompt or lyrics"),
    ],
)
def test_what_acedata_cannot_carry_is_refused_at_intake_naming_the_field(
    request_: dict[str, Any], field: str, words: str, tmp_path: Path
) -> None:
    with pytest.raises(RequestError) as caught:
        judged({"action": "create_music", **request_}, tmp_path)
    found = {issue.field: issue.message for issue in caught.value.issues}
    assert words in found[field]


def test_a_cover_strength_below_acedatas_range_is_refused_naming_it(tmp_path: Path) -> None:
    data = {"action": "cover_music", "audioId": "a1", "params": {"coverStrength": 0.1}}
    with pytest.raises(RequestError) as caught:
        judged(data, tmp_path)
    assert [issue.field for issue in caught.value.issues] == ["coverStrength"]


def test_the_body_is_acedatas_snake_case_with_its_action_names() -> None:
    request = judged(
        {
            "action": "extend_music",
            "audioId": "song-1",
            "prompts": [{"text": "brass", "strength": 0.4}],
            "lyrics": "[Verse] la",
            "params": {"continueAt": 3.0, "extendDuration": 9.0, "weirdness": 0.3,
                       "makeInstrumental": False, "title": "Ext"},
        },
        Path("/music/song"),
    ).audio  # fmt: skip
    contract = ACEDATA_PROVIDER.contract_for(FUZZ)
    assert contract.audio_body(request) == {
        "action": "extend",
        "model": FUZZ,
        "async": True,
        "prompt": "brass",
        "sound_strength": 0.4,
        "custom": True,
        "lyric": "[Verse] la",
        "title": "Ext",
        "audio_id": "song-1",
        "weirdness": 0.3,
        "instrumental": False,
        "continue_at": 3.0,
    }
    assert contract.audio_body(request, uploaded=True)["action"] == "upload_extend"


# --- the twin's wire ----------------------------------------------------------------------


def post(server: EmulatorServer, path: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token}"}
    return httpx.post(f"{server.url}/producer/{path}", json=body, headers=headers, timeout=10)


def test_the_twin_answers_at_once_when_async_and_with_the_songs_when_not(
    twin: EmulatorServer,
) -> None:
    body = {"action": "generate", "model": FUZZ, "prompt": "a song for Christmas"}
    waited = post(twin, "audios", body).json()
    at_once = post(twin, "audios", {**body, "async": True}).json()
    assert waited["success"] is True
    (song,) = waited["data"]
    assert isinstance(song["duration"], str)
    assert float(song["duration"]) == pytest.approx(2.0, abs=0.01)
    assert set(at_once) == {"success", "task_id", "trace_id"}
    task = post(twin, "tasks", {"id": waited["task_id"], "action": "retrieve"}).json()
    assert task["state"] == "complete"
    assert task["response"]["data"] == waited["data"]


def test_the_twin_refuses_in_acedatas_error_shape_naming_the_field(twin: EmulatorServer) -> None:
    refused = post(twin, "audios", {"action": "replace_section", "model": FUZZ, "audio_id": "x"})
    unknown = post(twin, "audios", {"action": "replace_music", "model": FUZZ})
    wrong_key = httpx.post(f"{twin.url}/producer/audios", json={}, headers={"Authorization": "x"})
    assert refused.status_code == 400
    assert refused.json()["success"] is False
    assert "replace_section_start" in refused.json()["error"]["message"]
    assert "unknown action 'replace_music'" in unknown.json()["error"]["message"]
    assert (wrong_key.status_code, wrong_key.json()["error"]["code"]) == (401, "invalid_token")
    assert twin.stats()["tasks_created"] == {}


# --- a job stays with the provider it started on ------------------------------------------


def test_a_job_judged_for_acedata_is_not_sent_to_mountsea_and_back(tmp_path: Path) -> None:
    with pytest.raises(JobError, match=r"set api\.provider = 'acedata'"):
        MOUNTSEA_PROVIDER.judged("acedata", "acedata", FUZZ)
    with pytest.raises(JobError, match=r"set api\.provider = 'mountsea'"):
        ACEDATA_PROVIDER.judged("mountsea", "mountsea-fuzz", FUZZ)
    assert ACEDATA_PROVIDER.judged("acedata", "acedata", FUZZ).name == "acedata"
