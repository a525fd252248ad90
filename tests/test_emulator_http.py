"""The emulator's HTTP contract, pinned down with raw httpx over loopback (no ProducerClient),
so that the server is checked independently of the bridge's own client."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import soundfile as sf

from bridge.config import EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.staging import LocalHttpStager
from tests.waiting import wait_until

MODEL = "FUZZ-2.0"
RATE = 44100
TERMINAL = {"completed", "failed", "cancelled", "timeout"}
STATUS_KEYS = {
    *("taskId", "status", "result", "errorMessage"),
    *("errorCode", "createdAt", "finishedAt", "traceId"),
}
POSTS = ("audios", "upload", "stems", "download", "download-video", "tasks")
PRODUCER_CALLS = [("POST", f"/producer/{name}") for name in POSTS] + [("GET", "/producer/tasks")]
# action -> (its own fields, the expected duration on a 10 s clip)
ACTIONS: dict[str, tuple[dict[str, Any], float]] = {
    "create_music": ({"sounds": [{"text": "drums and bass", "strength": 0.5}]}, 30.0),
    "extend_music": ({"continueAt": 6, "extendDuration": 5}, 11.0),
    "replace_music": ({"replaceStart": 2, "replaceEnd": 4}, 10.0),
    "cover_music": ({"coverStrength": 0.5}, 10.0),
    "swap_music_sound": ({"sounds": [{"text": "jazz trio", "strength": 0.6}]}, 10.0),
    "swap_music_vocals": ({"sounds": [{"text": "female soprano", "strength": 0.6}]}, 10.0),
    "music_variation": ({"sounds": [{"text": "", "strength": 0.4}]}, 10.0),
}
REPLACE = {"replaceStart": 1, "replaceEnd": 2}
WEAK = [{"text": "piano", "strength": 0.1}]  # below the 0.2 that edit actions need


# --- helpers ---------------------------------------------------------------------------


@contextmanager
def api(server: EmulatorServer, token: str | None = None, **kwargs: Any) -> Iterator[httpx.Client]:
    """A raw client for the Producer API, with the server's token unless told otherwise."""
    headers = {"Authorization": f"Bearer {server.token if token is None else token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10.0, **kwargs) as client:
        yield client


def wait(client: httpx.Client, task_id: str, seen: list[Any] | None = None) -> dict[str, Any]:
    """Poll the task every 20 ms (for at most 20 s) until it reaches a terminal status."""
    docs: list[dict[str, Any]] = [] if seen is None else seen

    def finished() -> dict[str, Any] | None:
        response = client.get("/producer/tasks", params={"taskId": task_id})
        assert response.status_code == 200, response.text
        docs.append(response.json())
        return docs[-1] if docs[-1]["status"] in TERMINAL else None

    return wait_until(
        finished,
        within=20.0,
        interval=0.02,
        what=lambda: f"task {task_id} to finish (still {docs[-1]['status']})",
    )


def start(client: httpx.Client, endpoint: str, body: Any) -> str:
    response = client.post(f"/producer/{endpoint}", json=body)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"taskId"}
    return str(response.json()["taskId"])


def run(client: httpx.Client, endpoint: str, body: Any) -> dict[str, Any]:
    return wait(client, start(client, endpoint, body))


def result(client: httpx.Client, endpoint: str, body: Any) -> Any:
    doc = run(client, endpoint, body)
    assert doc["status"] == "completed", doc
    return doc["result"]


def upload(client: httpx.Client, path: Path) -> dict[str, Any]:
    """Stage `path` and upload it; the finished task's document."""
    with LocalHttpStager() as stager:
        return run(client, "upload", {"audioUrl": stager.stage(path).url})


def uploaded_id(client: httpx.Client, path: Path) -> str:
    doc = upload(client, path)
    assert doc["status"] == "completed", doc
    return str(doc["result"]["id"])


def audios(action: str, audio_id: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"action": action, "model": MODEL, **fields}
    return body if audio_id is None else {**body, "audioId": audio_id}


def fetch(url: str, **headers: str) -> httpx.Response:
    """A file, fetched as a downloader would: a fresh client, no API key."""
    with httpx.Client(timeout=10.0) as client:
        return client.get(url, headers=headers)


def decode(url: str) -> tuple[np.ndarray, int]:
    response = fetch(url)
    assert response.status_code == 200, response.text
    return sf.read(io.BytesIO(response.content), always_2d=True)


def stems_and_mix(client: httpx.Client, audio_id: str) -> tuple[dict[str, str], np.ndarray]:
    stems = result(client, "stems", {"audioId": audio_id})
    mix = result(client, "download", {"audioId": audio_id, "format": "wav"})
    return stems, decode(mix["url"])[0]


def failed(doc: dict[str, Any], code: int | None = None) -> None:
    assert doc["status"] == "failed", doc
    assert doc["result"] is None
    assert isinstance(doc["errorCode"], int)
    assert doc["errorMessage"]
    if code is not None:
        assert doc["errorCode"] == code, doc


# --- the task model --------------------------------------------------------------------


def test_every_post_answers_201_with_only_a_task_id(emulator, tone) -> None:
    with api(emulator) as client:
        audio_id = uploaded_id(client, tone(10))  # upload is checked by start()
        task_ids = [
            start(client, "audios", audios("create_music", sounds=[])),
            start(client, "stems", {"audioId": audio_id}),
            start(client, "download", {"audioId": audio_id, "format": "wav"}),
            start(client, "download-video", {"audioId": audio_id}),
        ]
        assert all(wait(client, task_id)["status"] == "completed" for task_id in task_ids)


def test_status_by_get_and_by_post_is_the_same_document(emulator) -> None:
    with api(emulator) as client:
        task_id = start(client, "audios", audios("create_music"))
        wait(client, task_id)
        by_get = client.get("/producer/tasks", params={"taskId": task_id})
        by_post = client.post("/producer/tasks", json={"taskId": task_id})
    assert by_get.status_code == by_post.status_code == 200
    assert by_get.json() == by_post.json()
    assert set(by_get.json()) == STATUS_KEYS
    assert by_get.json()["taskId"] == task_id


def test_a_task_is_pending_or_processing_before_completed_with_no_result_until_then() -> None:
    seen: list[dict[str, Any]] = []
    with EmulatorServer(EmulatorSettings(port=0, task_seconds=0.5)) as server, api(server) as c:
        wait(c, start(c, "audios", audios("create_music")), seen)
    *waiting, last = seen
    assert waiting, "the task was never seen before it finished"
    assert {doc["status"] for doc in waiting} <= {"pending", "processing"}
    assert all(doc["result"] is None and doc["finishedAt"] is None for doc in waiting)
    statuses = [doc["status"] for doc in waiting]
    assert statuses == sorted(statuses, key=["pending", "processing"].index)
    assert last["status"] == "completed"
    assert last["result"]["audioId"]
    assert last["finishedAt"]


def test_an_unknown_task_is_404(emulator) -> None:
    with api(emulator) as client:
        by_get = client.get("/producer/tasks", params={"taskId": "no-such-task"})
        by_post = client.post("/producer/tasks", json={"taskId": "no-such-task"})
    assert by_get.status_code == by_post.status_code == 404
    assert by_get.json()["statusCode"] == 404


@pytest.mark.parametrize(("method", "path"), PRODUCER_CALLS)
@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["missing", "wrong"])
def test_every_producer_endpoint_refuses_a_missing_or_wrong_token(
    emulator, method: str, path: str, token: str | None
) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=10.0) as client:
        response = client.request(method, path, json={"taskId": "x"}, params={"taskId": "x"})
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401


# --- request validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("audios", audios("replace_music", "a", **REPLACE, sounds=WEAK), "sounds[0].strength"),
        ("audios", audios("replace_music", "a", replaceStart=5, replaceEnd=5), "replaceEnd"),
        ("audios", audios("extend_music", "a", extendDuration=5), "continueAt"),
        ("audios", audios("create_music", title="歌" * 81), "title"),
        ("audios", {"action": "create_music", "model": "FUZZ-9.9"}, "model"),
        ("upload", {"audioUrl": "clip.wav"}, "audioUrl"),
        ("download", {"audioId": "a", "format": "flac"}, "format"),
    ],
    ids=["strength", "replace-order", "no-continueAt", "long-title", "model", "url", "flac"],
)
def test_an_invalid_body_is_400_naming_the_field(emulator, endpoint, body, field) -> None:
    with api(emulator) as client:
        response = client.post(f"/producer/{endpoint}", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["statusCode"] == 400


def test_a_title_of_80_chinese_characters_is_accepted(emulator) -> None:
    with api(emulator) as client:
        doc = run(client, "audios", audios("create_music", title="歌" * 80))
    assert doc["status"] == "completed"
    assert doc["result"]["title"] == "歌" * 80


@pytest.mark.parametrize("endpoint", ["audios", "upload", "download", "tasks"])
def test_a_body_that_is_not_json_is_400(emulator, endpoint: str) -> None:
    with api(emulator) as client:
        response = client.post(f"/producer/{endpoint}", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["statusCode"] == 400
    assert "JSON" in response.json()["message"]


# --- upload ----------------------------------------------------------------------------


def test_upload_of_a_wav_completes_with_an_audio_id(emulator, tone) -> None:
    with api(emulator) as client:
        doc = upload(client, tone(10))
    assert doc["status"] == "completed", doc
    assert set(doc["result"]) == {"id", "url", "lyrics", "isFlagged", "transcriptionJobId"}
    assert doc["result"]["id"]


def test_upload_refuses_an_extension_the_service_does_not_accept(emulator, tone, tmp_path):
    aiff = tmp_path / "clip.aiff"
    aiff.write_bytes(tone(2).read_bytes())
    with api(emulator) as client:
        doc = upload(client, aiff)
    failed(doc)
    assert "aiff" in doc["errorMessage"]


def test_upload_of_a_wav_that_is_not_audio_fails(emulator, tmp_path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("these are my lyrics, not a recording\n" * 50)
    with api(emulator) as client:
        failed(upload(client, fake))


@pytest.mark.parametrize(("seconds", "status"), [(240, "completed"), (241, "failed")])
def test_upload_is_limited_to_four_minutes(emulator, tone, seconds: int, status: str) -> None:
    with api(emulator) as client:
        doc = upload(client, tone(seconds, rate=8000, channels=1))
    assert doc["status"] == status, doc
    if status == "failed":
        failed(doc)
        assert "240" in doc["errorMessage"]


def test_upload_of_a_url_that_404s_fails_with_4001(emulator) -> None:
    with LocalHttpStager() as stager, api(emulator) as client:
        doc = run(client, "upload", {"audioUrl": f"{stager.base_url}/clips/nothing/clip.wav"})
    failed(doc, 4001)


# --- audios ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_action_returns_an_mp3_clip_of_the_expected_length(emulator, tone, action) -> None:
    fields, seconds = ACTIONS[action]
    with api(emulator) as client:
        audio_id = None if action == "create_music" else uploaded_id(client, tone(10))
        clip = result(client, "audios", audios(action, audio_id, **fields))
    assert {"audioId", "audioUrl", "duration", "title"} <= set(clip)
    assert clip["duration"] == pytest.approx(seconds, abs=1e-3)
    assert clip["title"]
    assert urlsplit(clip["audioUrl"]).path.endswith(".mp3")
    audio, rate = decode(clip["audioUrl"])
    assert rate == RATE
    assert len(audio) / rate == pytest.approx(seconds, abs=0.1)


def test_create_lasts_until_the_latest_time_range(emulator) -> None:
    sounds = [{"text": "piano intro", "strength": 0.8, "timeStart": 20, "timeEnd": 42}]
    with api(emulator) as client:
        clip = result(client, "audios", audios("create_music", sounds=sounds))
    assert clip["duration"] == pytest.approx(42.0, abs=1e-3)


def test_two_clips_per_result_gives_a_list_of_two_different_clips(make_emulator) -> None:
    server = make_emulator(clips_per_result=2)
    with api(server) as client:
        clips = result(client, "audios", audios("create_music"))
        assert isinstance(clips, list)
        assert len(clips) == 2
        assert clips[0]["audioId"] != clips[1]["audioId"]
        wavs = [
            result(client, "download", {"audioId": c["audioId"], "format": "wav"}) for c in clips
        ]
    first, second = (decode(wav["url"])[0] for wav in wavs)
    assert first.shape == second.shape
    assert not np.allclose(first, second)


# --- download, stems, video ------------------------------------------------------------


def test_download_wav_has_exactly_the_clip_duration_in_frames(emulator, tone) -> None:
    with api(emulator) as client:
        audio_id = uploaded_id(client, tone(10))
        extend = audios("extend_music", audio_id, continueAt=6, extendDuration=5)
        clip = result(client, "audios", extend)
        wav = result(client, "download", {"audioId": clip["audioId"], "format": "wav"})
    assert wav["format"] == "wav"
    assert urlsplit(wav["url"]).path.endswith(".wav")
    audio, rate = decode(wav["url"])
    assert rate == RATE
    assert len(audio) == round(clip["duration"] * RATE) == round(11 * RATE)


def test_download_mp3_decodes(emulator, tone) -> None:
    with api(emulator) as client:
        mp3 = result(client, "download", {"audioId": uploaded_id(client, tone(5)), "format": "mp3"})
    assert mp3["format"] == "mp3"
    audio, rate = decode(mp3["url"])
    assert rate == RATE
    assert len(audio) / rate == pytest.approx(5.0, abs=0.1)


def test_download_m4a_fails_with_4005_asking_for_wav_or_mp3(emulator, tone) -> None:
    with api(emulator) as client:
        doc = run(client, "download", {"audioId": uploaded_id(client, tone(2)), "format": "m4a"})
    failed(doc, 4005)
    assert "wav" in doc["errorMessage"]
    assert "mp3" in doc["errorMessage"]


def test_stems_are_four_wavs_that_add_up_to_the_mix(emulator) -> None:
    with api(emulator) as client:
        song = result(client, "audios", audios("create_music", seed=7))
        stems, whole = stems_and_mix(client, song["audioId"])
    assert set(stems) == {"vocals", "drums", "bass", "other"}
    assert all(urlsplit(url).path.endswith(".wav") for url in stems.values())
    decoded = [decode(url) for url in stems.values()]
    assert {rate for _, rate in decoded} == {RATE}
    total = sum(audio for audio, _ in decoded)
    assert np.max(np.abs(total - whole)) <= 4 / 32768


def test_stems_of_a_loud_clip_still_add_up_to_the_mix(emulator, tmp_path) -> None:
    t = np.arange(3 * RATE) / RATE
    square = 0.9 * np.where(np.sin(2 * np.pi * 400 * t) >= 0, 1.0, -1.0)  # peak -1 dBFS
    sf.write(tmp_path / "loud.wav", np.stack([square, square], axis=1), RATE, subtype="PCM_16")
    with api(emulator) as client:
        stems, whole = stems_and_mix(client, uploaded_id(client, tmp_path / "loud.wav"))
    total = sum(decode(url)[0] for url in stems.values())
    assert np.max(np.abs(total - whole)) <= 4 / 32768


def test_download_video_is_a_placeholder(emulator, tone) -> None:
    with api(emulator) as client:
        body = {"audioId": uploaded_id(client, tone(2)), "preset": "player"}
        video = result(client, "download-video", body)
    assert video["preset"] == "player"
    assert video["placeholder"] is True
    assert fetch(video["videoUrl"]).status_code == 200


def test_links_expire(make_emulator, tone) -> None:
    server = make_emulator(link_ttl=-1)
    with api(server) as client:
        audio_id = uploaded_id(client, tone(2))
        wav = result(client, "download", {"audioId": audio_id, "format": "wav"})
    response = fetch(wav["url"])
    assert response.status_code == 403
    assert "expired" in response.json()["message"]


# --- faults ----------------------------------------------------------------------------


def test_rate_429_answers_429_with_the_configured_retry_after(make_emulator) -> None:
    server = make_emulator(rate_429=1.0, retry_after=3)
    with api(server) as client:
        response = client.post("/producer/audios", json=audios("create_music"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert server.stats()["tasks_created"] == {}


def test_rate_5xx_answers_a_server_error(make_emulator) -> None:
    server = make_emulator(rate_5xx=1.0)
    with api(server) as client:
        response = client.post("/producer/audios", json=audios("create_music"))
    assert response.status_code in {500, 502, 503}


def test_rate_drop_closes_the_connection_without_an_answer(make_emulator) -> None:
    server = make_emulator(rate_drop=1.0)
    with api(server) as client, pytest.raises(httpx.RemoteProtocolError):
        client.post("/producer/audios", json=audios("create_music"))


def test_rate_truncate_on_files_cuts_file_bodies_but_not_api_answers(make_emulator, tone) -> None:
    server = make_emulator(rate_truncate=1.0, endpoints=["files"])
    with api(server) as client:
        wav = result(client, "download", {"audioId": uploaded_id(client, tone(2)), "format": "wav"})
    with pytest.raises(httpx.RemoteProtocolError):
        fetch(wav["url"])


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [("rate_task_failed", "failed", 5001), ("rate_task_timeout", "timeout", None)],
)
def test_task_end_faults_end_the_task_failed_or_timed_out(make_emulator, fault, status, code):
    server = make_emulator(**{fault: 1.0})
    with api(server) as client:
        doc = run(client, "audios", audios("create_music"))
    assert (doc["status"], doc["errorCode"], doc["result"]) == (status, code, None)


def test_latency_delays_the_answer_but_the_task_exists(make_emulator) -> None:
    server = make_emulator(latency=0.3)
    with api(server) as client:
        began = time.monotonic()
        response = client.post("/producer/audios", json=audios("create_music"))
        took = time.monotonic() - began
    assert response.status_code == 201
    assert took >= 0.3
    assert server.created("create_music") == 1


def test_a_fault_confined_to_an_endpoint_spares_the_others(make_emulator) -> None:
    server = make_emulator(rate_429=1.0, endpoints=["tasks"])
    with api(server) as client:
        task_id = start(client, "audios", audios("create_music"))
        response = client.get("/producer/tasks", params={"taskId": task_id})
    assert response.status_code == 429


# --- counting and concurrency ----------------------------------------------------------


def test_stats_count_tasks_per_kind_and_requests_per_endpoint(make_emulator, tone) -> None:
    server = make_emulator()
    sent: Counter[str] = Counter()

    def tally(request: httpx.Request) -> None:
        path = request.url.path
        sent["files" if path.startswith("/files/") else path.removeprefix("/producer/")] += 1

    with api(server, event_hooks={"request": [tally]}) as client:
        audio_id = uploaded_id(client, tone(10))
        for action, (fields, _) in ACTIONS.items():
            source = None if action == "create_music" else audio_id
            result(client, "audios", audios(action, source, **fields))
        wav = result(client, "download", {"audioId": audio_id, "format": "wav"})
        result(client, "stems", {"audioId": audio_id})
        result(client, "download-video", {"audioId": audio_id})
    assert fetch(wav["url"]).status_code == 200
    sent["files"] += 1
    over_http = fetch(f"{server.url}/_emulator/stats").json()
    expected = {"upload": 1, "download": 1, "stems": 1, "download-video": 1}
    assert server.stats()["tasks_created"] == expected | dict.fromkeys(ACTIONS, 1)
    assert server.stats()["requests"] == dict(sent)
    assert sent["audios"] == len(ACTIONS)
    assert sent["upload"] == sent["files"] == 1
    assert over_http == server.stats()


def test_forty_tasks_started_at_once_all_complete() -> None:
    # Short songs: this is about the task layer under concurrency, not about DSP speed.
    settings = EmulatorSettings(port=0, task_seconds=0.05, create_seconds=2.0)
    with EmulatorServer(settings) as server, api(server) as client, ThreadPoolExecutor(40) as pool:
        body = audios("create_music")
        task_ids = list(pool.map(lambda _: start(client, "audios", body), range(40)))
        docs = list(pool.map(lambda task_id: wait(client, task_id), task_ids))
        created = server.stats()["tasks_created"]
    assert len(set(task_ids)) == 40
    assert [doc["status"] for doc in docs] == ["completed"] * 40
    assert created == {"create_music": 40}


def test_files_fetched_without_a_key_never_carry_one(make_emulator, tone) -> None:
    server = make_emulator()
    with api(server) as client:
        clip = upload(client, tone(2))["result"]
    assert fetch(clip["url"]).status_code == 200
    assert server.stats()["keys_on_files"] == 0
    assert fetch(clip["url"], Authorization=f"Bearer {server.token}").status_code == 200
    assert server.stats()["keys_on_files"] == 1


def test_the_bearer_scheme_is_case_insensitive_but_the_token_is_not(emulator) -> None:
    for header, status in (
        (f"bearer {emulator.token}", 201),
        (f"Bearer {emulator.token.upper()}", 401),
    ):
        with httpx.Client(base_url=emulator.url, headers={"Authorization": header}) as client:
            answer = client.post("/producer/audios", json=audios("create_music"))
        assert answer.status_code == status


def test_a_song_longer_than_the_emulator_renders_fails_the_task_not_the_machine(emulator) -> None:
    body = audios("create_music", sounds=[{"text": "x", "strength": 0.5, "timeEnd": 1e6}])
    with api(emulator) as client:
        doc = run(client, "audios", body)
    failed(doc, 4010)
    assert "at most 600 s" in doc["errorMessage"]
