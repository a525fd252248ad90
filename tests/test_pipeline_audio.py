"""Whole jobs against the emulator over loopback, checked sample by sample: the upload
window of a long song, results fitted to their span, MP3 results, mono originals, and
spliced files that keep the original bit for bit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from bridge.emulator.server import EmulatorServer
from bridge.errors import RequestError
from bridge.jobs import ClipPlacement, JobOptions, JobRequest, Selection, validate_request
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import Job, JobStatus
from bridge.pipeline.output import Splicing
from tests.conftest import emulator_settings, pipeline_runner

MODELS = ("FUZZ-2.0",)


def song(path: Path, seconds: float, rate: int, channels: int, subtype: str) -> Path:
    data = np.random.default_rng(7).uniform(-0.5, 0.5, (round(seconds * rate), channels))
    sf.write(str(path), data, rate, subtype=subtype)
    return path


def request(
    action: str,
    clip: ClipPlacement,
    project: Path,
    *,
    rate: int | None,
    selection: Selection | None = None,
    fetch: str = "wav",
    **fields: Any,
) -> JobRequest:
    audio = AudioRequest(action, "FUZZ-2.0", (Sound("strings", 0.5),), **fields)
    options = JobOptions(fetch_format=fetch)
    return validate_request(JobRequest(audio, str(project), rate, clip, selection, options), MODELS)


async def run_one(
    server: EmulatorServer, tmp_path: Path, job_request: JobRequest, **deps: Any
) -> Job:
    async with pipeline_runner(server, tmp_path, **deps) as runner:
        job = runner.submit(job_request)
        return (await runner.run_until_idle())[job.id]


def files_of(project: Path, job: Job) -> dict[str, dict[str, Any]]:
    assert job.facts.manifest is not None
    manifest = json.loads((project / job.facts.manifest).read_text())
    return {entry["kind"]: {**entry, "manifest": manifest} for entry in manifest["files"]}


def read(project: Path, entry: dict[str, Any]) -> np.ndarray:
    data, _ = sf.read(str(project / entry["path"]), dtype="float64", always_2d=True)
    return data


@pytest.fixture
def low_rate_emulator() -> Any:
    """An emulator working at 8 kHz: a five-minute song stays cheap to render."""
    settings = emulator_settings().model_copy(update={"sample_rate": 8000})
    with EmulatorServer(settings) as server:
        yield server


async def test_a_section_of_a_long_song_is_uploaded_with_the_context_that_fits(
    low_rate_emulator: EmulatorServer, tmp_path: Path
) -> None:
    rate = 8000
    source = song(tmp_path / "song.wav", 300.0, rate, 1, "PCM_16")
    clip = ClipPlacement(str(source), item_position=10.0)
    project = tmp_path / "project"
    # 200..205 s on the timeline is 190..195 s of the song. 240 s fit: 105 s after the
    # section reach the song's end, so the other 130 s go before it.
    job_request = request(
        "replace_music", clip, project, rate=rate, selection=Selection(200.0, 205.0)
    )
    job = await run_one(low_rate_emulator, tmp_path, job_request)
    assert job.status == JobStatus.COMPLETED, job.error
    assert job.facts.span == {"start": 60.0, "duration": 240.0}

    files = files_of(project, job)
    sent = files["result"]["manifest"]["request"]
    assert (sent["replaceStart"], sent["replaceEnd"]) == (130.0, 135.0)
    original, _ = sf.read(str(source), dtype="float64", always_2d=True)
    window = original[60 * rate : 300 * rate]
    for kind in ("result", "spliced"):
        entry = files[kind]
        assert entry["position"] == {"seconds": 70.0, "samples": 70 * rate}
        assert entry["lengthSamples"] == 240 * rate
    spliced = read(project, files["spliced"])
    assert spliced.shape == (240 * rate, 1)  # mono like the song, though the service sent stereo
    assert np.array_equal(spliced[: 130 * rate], window[: 130 * rate])
    assert np.array_equal(spliced[135 * rate :], window[135 * rate :])
    assert not np.array_equal(spliced[130 * rate : 135 * rate], window[130 * rate : 135 * rate])


async def test_a_selection_longer_than_the_service_takes_is_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    source = song(tmp_path / "song.wav", 1.0, 8000, 1, "PCM_16")
    clip = ClipPlacement(str(source), item_position=0.0)
    with pytest.raises(RequestError) as caught:
        request("cover_music", clip, tmp_path, rate=None, selection=Selection(0.0, 250.0))
    assert caught.value.fields == ("selection",)
    assert "250.0 s of audio; the service takes at most 240 s" in caught.value.message


async def test_a_whole_item_too_long_is_refused_at_submit_with_nothing_paid(
    low_rate_emulator: EmulatorServer, tmp_path: Path
) -> None:
    source = song(tmp_path / "song.wav", 250.0, 8000, 1, "PCM_16")
    clip = ClipPlacement(str(source), item_position=0.0)
    async with pipeline_runner(low_rate_emulator, tmp_path) as runner:
        with pytest.raises(RequestError, match=r"visible part holds 250\.0 s of audio"):
            runner.submit(request("cover_music", clip, tmp_path, rate=None))
        assert runner.deps.journal.jobs() == []
    assert low_rate_emulator.created("cover_music") == 0


async def test_a_journaled_item_that_grew_too_long_fails_at_the_cut_with_nothing_paid(
    low_rate_emulator: EmulatorServer, tmp_path: Path
) -> None:
    source = song(tmp_path / "song.wav", 250.0, 8000, 1, "PCM_16")
    clip = ClipPlacement(str(source), item_position=0.0)
    async with pipeline_runner(low_rate_emulator, tmp_path) as runner:
        # Journaled when the file was shorter: the cut judges the file as it is now.
        job = runner.deps.journal.create(request("cover_music", clip, tmp_path, rate=None))
        runner.resume()
        job = (await runner.run_until_idle())[job.id]
    assert job.status == JobStatus.FAILED
    assert job.error is not None
    assert "the clip's visible part holds 250.0 s of audio" in job.error
    assert low_rate_emulator.created("cover_music") == 0


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
async def test_an_mp3_result_is_decoded_resampled_and_spliced_into_the_original(
    emulator: EmulatorServer, tmp_path: Path, subtype: str
) -> None:
    rate = 48000  # the emulator answers at 44.1 kHz, in MP3
    source = song(tmp_path / "take.wav", 6.0, rate, 2, subtype)
    clip = ClipPlacement(str(source), item_position=4.0, take_offset=1.0, length=4.0)
    project = tmp_path / "project"
    job_request = request(
        "replace_music", clip, project, rate=rate, selection=Selection(5.0, 6.5), fetch="mp3"
    )
    job = await run_one(emulator, tmp_path, job_request, splicing=Splicing(crossfade=0.01))
    assert job.status == JobStatus.COMPLETED, job.error
    files = files_of(project, job)
    assert files["result"]["lengthSamples"] == 4 * rate  # exactly the 4 s uploaded
    spliced = read(project, files["spliced"])
    original, _ = sf.read(str(source), dtype="float64", always_2d=True)
    kept = original[rate : 5 * rate]
    assert spliced.shape == kept.shape
    assert sf.info(str(project / files["spliced"]["path"])).subtype == (
        "FLOAT" if subtype == "FLOAT" else "PCM_24"
    )
    assert np.array_equal(spliced[:rate], kept[:rate])  # 4..5 s on the timeline
    assert np.array_equal(spliced[round(2.5 * rate) :], kept[round(2.5 * rate) :])


async def test_an_extension_keeps_the_original_up_to_the_point_then_the_continuation(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    source = song(tmp_path / "take.wav", 8.0, 44100, 2, "PCM_24")
    clip = ClipPlacement(str(source), item_position=0.0, length=8.0)
    project = tmp_path / "project"
    job_request = request(
        "extend_music",
        clip,
        project,
        rate=None,
        selection=Selection(6.0, 7.0),
        extend_duration=5.0,
    )
    job = await run_one(emulator, tmp_path, job_request)
    assert job.status == JobStatus.COMPLETED, job.error
    files = files_of(project, job)
    assert job.facts.span == {"start": 0.0, "duration": 6.0}  # nothing past the point
    spliced = read(project, files["spliced"])
    original, _ = sf.read(str(source), dtype="float64", always_2d=True)
    assert files["spliced"]["lengthSamples"] >= 11 * 44100  # the whole continuation
    assert np.array_equal(spliced[: 6 * 44100], original[: 6 * 44100])


async def test_without_splicing_only_the_result_is_written(
    emulator: EmulatorServer, tone: Callable[..., Path], tmp_path: Path
) -> None:
    clip = ClipPlacement(str(tone(4.0)), item_position=0.0)
    project = tmp_path / "project"
    job_request = request("replace_music", clip, project, rate=None, selection=Selection(1, 2))
    job = await run_one(emulator, tmp_path, job_request, splicing=None)
    assert job.status == JobStatus.COMPLETED, job.error
    assert list(files_of(project, job)) == ["result"]


@pytest.mark.parametrize(("fetch", "tolerance"), [("wav", 2e-3), ("mp3", 0.05)])
async def test_a_result_resampled_back_to_the_project_rate_lines_up_with_the_original(
    emulator: EmulatorServer,
    tone: Callable[..., Path],
    tmp_path: Path,
    fetch: str,
    tolerance: float,
) -> None:
    # The emulator works at 44.1 kHz: a 48 kHz clip goes there and back. Outside the
    # section its replace keeps the input, so the result must match the clip to within
    # resampling and coding error, at the same sample positions: no offset, no drift.
    rate = 48000
    clip = ClipPlacement(str(tone(6.0, rate=rate)), item_position=2.0)
    project = tmp_path / "project"
    job_request = request(
        "replace_music", clip, project, rate=rate, selection=Selection(6.0, 7.0), fetch=fetch
    )
    job = await run_one(emulator, tmp_path, job_request)
    assert job.status == JobStatus.COMPLETED, job.error
    result = read(project, files_of(project, job)["result"])
    original, _ = sf.read(str(clip.path), dtype="float64", always_2d=True)
    assert result.shape == original.shape
    settled = slice(rate // 10, 3 * rate)  # away from the file's start and the section
    assert np.max(np.abs(result[settled] - original[settled])) < tolerance
