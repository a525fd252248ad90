"""The client against the emulator over loopback, with faults injected by the emulator.

Recovered where repeating is safe (status, links, files); reported clearly where not
(creates), and the emulator's own task counts prove nothing was created twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile as sf

from bridge.api import ProducerClient, RetryPolicy
from bridge.emulator.server import EmulatorServer
from bridge.errors import AuthError, DownloadError, SubmitUncertainError, TaskFailedError
from bridge.jobs.request import AudioRequest, Sound
from bridge.staging import LocalHttpStager
from tests.conftest import client_for

CREATE = AudioRequest(action="create_music", model="FUZZ-2.0", sounds=(Sound("pop", 0.5),))
MakeEmulator = Callable[..., EmulatorServer]


async def create_and_fetch(client: ProducerClient, dest: Path) -> Path:
    """The whole chain: create -> wait -> download link -> wait -> file."""
    clip = (await client.wait_clips(await client.create_audio(CREATE)))[0]
    link = await client.wait_download(await client.download(clip.audio_id, "wav"))
    await client.fetch(link.url, dest)
    return dest


def assert_whole_wav(path: Path, server: EmulatorServer) -> None:
    """`path` is as long as the creates of `server` last, to the sample."""
    info = sf.info(str(path))
    assert info.frames == round(server.settings.create_seconds * info.samplerate)


async def test_the_whole_chain_works_on_a_clean_emulator(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with client_for(emulator) as client:
        assert_whole_wav(await create_and_fetch(client, tmp_path / "song.wav"), emulator)


async def test_an_upload_goes_through_the_stager_and_back(
    emulator: EmulatorServer, tmp_path: Path, tone: Callable[..., Path]
) -> None:
    with LocalHttpStager() as stager:
        staged = stager.stage(tone(6.0))
        async with client_for(emulator) as client:
            uploaded = await client.wait_upload(await client.upload(staged.url))
        assert stager.fetch_count(staged) == 1
    assert uploaded.audio_id
    assert uploaded.is_flagged is False


async def test_a_429_storm_on_status_lookups_is_ridden_out(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(rate_429=0.5, retry_after=0.01, endpoints=["tasks"], seed=3)
    async with client_for(
        server, retry=RetryPolicy(max_attempts=12, base=0.01, cap=0.02)
    ) as client:
        assert_whole_wav(await create_and_fetch(client, tmp_path / "song.wav"), server)
    stats = server.stats()
    assert stats["faults"]["429"] >= 2
    assert stats["tasks_created"] == {"create_music": 1, "download": 1}


async def test_server_errors_and_dropped_connections_on_safe_calls_are_retried(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(rate_5xx=0.3, rate_drop=0.3, endpoints=["tasks", "files"], seed=11)
    async with client_for(
        server, retry=RetryPolicy(max_attempts=15, base=0.01, cap=0.02)
    ) as client:
        assert_whole_wav(await create_and_fetch(client, tmp_path / "song.wav"), server)
    faults = server.stats()["faults"]
    assert faults.get("5xx", 0) + faults.get("drop", 0) >= 2


async def test_truncated_downloads_are_fetched_again_until_whole(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(rate_truncate=0.6, seed=1)
    async with client_for(
        server, retry=RetryPolicy(max_attempts=15, base=0.01, cap=0.02)
    ) as client:
        song = await create_and_fetch(client, tmp_path / "song.wav")
    assert_whole_wav(song, server)
    assert server.stats()["faults"]["truncate"] >= 1
    assert [p.name for p in tmp_path.iterdir()] == ["song.wav"]  # no partial files left


async def test_a_download_that_never_completes_fails_clearly_and_leaves_nothing(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(rate_truncate=1.0)
    async with client_for(server, retry=RetryPolicy(max_attempts=3, base=0.01, cap=0.02)) as client:
        with pytest.raises(DownloadError, match=r"failed after 3 attempts"):
            await create_and_fetch(client, tmp_path / "song.wav")
    assert list(tmp_path.iterdir()) == []


async def test_an_existing_file_is_never_overwritten(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    mine = tmp_path / "song.wav"
    mine.write_bytes(b"the user's own take")
    async with client_for(emulator) as client:
        with pytest.raises(DownloadError, match="never overwritten"):
            await create_and_fetch(client, mine)
    assert mine.read_bytes() == b"the user's own take"


async def test_a_create_that_timed_out_after_sending_is_not_repeated(
    make_emulator: MakeEmulator,
) -> None:
    server = make_emulator(latency=1.0, endpoints=["audios"])
    async with client_for(server, read_timeout=0.3) as client:
        with pytest.raises(SubmitUncertainError) as caught:
            await client.create_audio(CREATE)
    await asyncio.sleep(0.8)  # let the emulator's slow answer finish
    assert "may pay twice" in str(caught.value)
    assert server.created("create_music") == 1  # the service has it, once
    assert server.stats()["requests"]["audios"] == 1  # and the client did not send it again


async def test_a_create_whose_connection_dropped_is_not_repeated(
    make_emulator: MakeEmulator,
) -> None:
    server = make_emulator(rate_drop=1.0, endpoints=["upload"])
    async with client_for(server) as client:
        with pytest.raises(SubmitUncertainError):
            await client.upload("http://127.0.0.1:9/clip.wav")
    assert server.stats()["requests"]["upload"] == 1


async def test_a_create_refused_with_429_is_repeated_and_created_once(
    make_emulator: MakeEmulator,
) -> None:
    server = make_emulator(rate_429=0.5, retry_after=0.01, endpoints=["audios"], seed=1)
    async with client_for(
        server, retry=RetryPolicy(max_attempts=12, base=0.01, cap=0.02)
    ) as client:
        for _ in range(4):
            await client.create_audio(CREATE)
    assert server.stats()["faults"]["429"] >= 1
    assert server.created("create_music") == 4


async def test_a_task_the_service_fails_raises_with_its_code(make_emulator: MakeEmulator) -> None:
    server = make_emulator(rate_task_failed=1.0)
    async with client_for(server) as client:
        with pytest.raises(TaskFailedError) as caught:
            await client.wait(await client.create_audio(CREATE))
    assert caught.value.error_code == 5001
    assert caught.value.status == "failed"
    assert caught.value.task_id
    assert caught.value.trace_id


async def test_a_wrong_key_is_refused_with_a_hint(emulator: EmulatorServer) -> None:
    async with client_for(emulator, key="not-the-token") as client:
        with pytest.raises(AuthError, match="PRODUCER_API_KEY"):
            await client.create_audio(CREATE)


async def test_file_hosts_never_receive_the_key(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator()
    async with client_for(server) as client:
        await create_and_fetch(client, tmp_path / "song.wav")
    stats = server.stats()
    assert stats["requests"]["files"] == 1
    assert stats["keys_on_files"] == 0
