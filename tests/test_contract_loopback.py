"""End to end over loopback: what the client refuses before sending, the emulator refuses
when the same body arrives raw over HTTP, naming the same fields in its 400 answer; what
both accept, the emulator takes and runs to a documented end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bridge.config import BUILTIN_MODELS, EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.errors import RequestError
from bridge.jobs.offers import FUZZ_MODELS
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.rules import validate_audio
from tests.conftest import client_for
from tests.test_contract_agreement import INVALID, VALID, body, client_says
from tests.test_emulator_http import api, wait

SOURCE_NOT_FOUND = 4001
BAD_PARAMETER = 4010


@pytest.fixture(scope="module")
def short_songs() -> Iterator[EmulatorServer]:
    """An emulator whose songs are two seconds long, for the bodies that start tasks."""
    settings = EmulatorSettings(port=0, task_seconds=0.02, create_seconds=2.0)
    with EmulatorServer(settings) as server:
        yield server


def post_raw(client: httpx.Client, endpoint: str, given: Any) -> httpx.Response:
    """POST `given` as the standard library's JSON writes it: NaN and Infinity included,
    which httpx's own encoder would refuse to send."""
    content = json.dumps(given).encode()
    headers = {"Content-Type": "application/json"}
    return client.post(f"/producer/{endpoint}", content=content, headers=headers)


@pytest.mark.parametrize(("given", "fields"), INVALID)
def test_a_body_the_client_refuses_the_emulator_refuses_at_the_same_fields(
    emulator: EmulatorServer, given: Any, fields: frozenset[str]
) -> None:
    assert client_says(given) == fields
    with api(emulator) as client:
        answer = post_raw(client, "audios", given)
    assert answer.status_code == 400, answer.text
    doc = answer.json()
    assert (doc["statusCode"], doc["error"]) == (400, "Bad Request")
    assert doc["field"] in fields
    assert {issue["field"] for issue in doc["issues"]} == fields
    assert doc["message"] == doc["issues"][0]["message"]


@pytest.mark.parametrize("given", VALID.values(), ids=VALID.keys())
def test_a_body_both_accept_starts_a_task_that_ends_as_documented(
    short_songs: EmulatorServer, given: dict[str, Any]
) -> None:
    """create_music completes; an edit of an audioId the emulator never made fails with
    4001, "Audio source not found" (PRODUCER_API.md); never an emulator crash (5000)."""
    assert client_says(given) is None
    with api(short_songs) as client:
        answer = post_raw(client, "audios", given)
        assert answer.status_code == 201, answer.text
        doc = wait(client, answer.json()["taskId"])
    if given["action"] == "create_music":
        assert doc["status"] == "completed", doc
    else:
        assert (doc["status"], doc["errorCode"]) == ("failed", SOURCE_NOT_FOUND), doc


def test_a_seed_past_what_the_emulator_renders_fails_the_task_not_the_request(
    short_songs: EmulatorServer,
) -> None:
    """PRODUCER_API.md gives a seed no upper limit, so both accept 2**64; the emulator's DSP
    takes seeds below it and ends the task failed with a bad-parameter code."""
    given = body("create_music", seed=2**64)
    assert client_says(given) is None
    with api(short_songs) as client:
        answer = post_raw(client, "audios", given)
        assert answer.status_code == 201, answer.text
        doc = wait(client, answer.json()["taskId"])
    assert (doc["status"], doc["errorCode"]) == ("failed", BAD_PARAMETER)
    assert "seed" in doc["errorMessage"]


@pytest.mark.parametrize(("call", "field"), [("download", "format")])
async def test_a_choice_the_client_refuses_is_never_sent_and_the_emulator_refuses_it(
    make_emulator: Any, call: str, field: str
) -> None:
    server: EmulatorServer = make_emulator()
    endpoint = call.replace("_", "-")
    async with client_for(server) as client:
        with pytest.raises(RequestError) as caught:
            await getattr(client, call)("a1", "flac")
    assert caught.value.fields == (field,)
    assert server.stats()["requests"] == {}
    with api(server) as raw:
        answer = post_raw(raw, endpoint, {"audioId": "a1", field: "flac"})
    assert answer.status_code == 400
    assert answer.json()["field"] == field


async def test_a_request_the_client_validates_is_accepted_by_the_emulator_as_sent() -> None:
    """The body the client builds (`to_body`) is read by the emulator's own contract:
    the names and types the client writes are the ones the emulator documents."""
    request = AudioRequest(
        action="create_music",
        model=FUZZ_MODELS[-1],
        title="夏天",
        seed=7,
        lyrics_strength=0.5,
        weirdness=0.5,
        make_instrumental=True,
        sounds=(Sound("pop", 0.5), Sound("跑调", -0.5, time_start=0.0, time_end=1.0)),
    )
    validate_audio(request, BUILTIN_MODELS)
    settings = EmulatorSettings(port=0, task_seconds=0.02, create_seconds=2.0)
    with EmulatorServer(settings) as server:
        async with client_for(server) as client:
            clips = await client.wait_clips(await client.create_audio(request))
        assert server.created("create_music") == 1
    assert clips[0].title == "夏天"
    assert clips[0].duration == pytest.approx(2.0)
