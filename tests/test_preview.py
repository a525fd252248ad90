"""Previews: the player with a fake stream, PortAudio's failures in the bridge's words, which
file a job plays, and the real `producer-bridge play` in a subprocess.

The end-to-end tests play through real PortAudio into ALSA's `file` plugin (over its `null`
device), named by ALSA_CONFIG_PATH: no sound card is needed, and the plugin writes what it
was given to a file, so the test can compare it with the audio file sample for sample.
"""

from __future__ import annotations

import _thread
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
from rich.console import Console

from bridge.audio.preview import (
    STOP_TIMEOUT,
    Block,
    Device,
    Playback,
    Player,
    PreviewDesk,
    SoundDeviceBackend,
)
from bridge.cli.play import LineDisplay, play_file
from bridge.errors import AudioError, JobError
from bridge.jobs import JobRequest
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import Event, Job
from bridge.journal import Journal
from bridge.project import FileEntry, Manifest, write_manifest
from bridge.project.playable import pick_file, resolve_target
from tests.conftest import need_library

RATE = 8000
WAIT = 10.0  # seconds a test waits for a thread it released; never reached when all is well


# Fakes and files -------------------------------------------------------------------------


class FakeStream:
    def __init__(self, on_write: Callable[[int], None] | None = None) -> None:
        self.blocks: list[Block] = []
        self.closed: str | None = None
        self._on_write = on_write

    def write(self, block: Block) -> None:
        self.blocks.append(block.copy())
        if self._on_write is not None:
            self._on_write(len(self.blocks))

    def close(self, *, drain: bool) -> None:
        self.closed = "drained" if drain else "aborted"

    def frames(self) -> Block:
        return np.concatenate(self.blocks)


class FakeBackend:
    def __init__(self, on_write: Callable[[int], None] | None = None) -> None:
        self.opened: list[tuple[int, int, Device]] = []
        self.streams: list[FakeStream] = []
        self.on_write = on_write

    def open_output(self, *, samplerate: int, channels: int, device: Device) -> FakeStream:
        self.opened.append((samplerate, channels, device))
        self.streams.append(FakeStream(self.on_write))
        return self.streams[-1]


def ramp(path: Path, frames: int, channels: int, rate: int = RATE) -> npt.NDArray[np.int16]:
    """A file whose every sample differs from its neighbours (and none is 0), so that a
    dropped, repeated or reordered frame shows."""
    values = (np.arange(frames * channels) % 30000 + 1).astype(np.int16)
    samples = values.reshape(frames, channels)
    sf.write(str(path), samples, rate, subtype="PCM_16")
    return samples


def as_float(samples: npt.NDArray[np.int16]) -> Block:
    return (samples / 32768.0).astype(np.float32)


# The player ------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2])
def test_the_player_writes_exactly_the_files_frames_in_order_from_the_start_offset(
    tmp_path: Path, channels: int
) -> None:
    samples = ramp(tmp_path / "ramp.wav", 5000, channels)
    backend = FakeBackend()
    player = Player(
        tmp_path / "ramp.wav", backend=backend, start=0.25, device="Speakers", block_frames=300
    )
    assert player.play() is True
    (stream,) = backend.streams
    assert backend.opened == [(RATE, channels, "Speakers")]
    np.testing.assert_array_equal(stream.frames(), as_float(samples[2000:]))
    assert all(block.shape[1] == channels and len(block) <= 300 for block in stream.blocks)
    assert stream.closed == "drained"
    assert player.position == pytest.approx(5000 / RATE)


def test_a_stop_halts_the_player_after_the_block_being_written(tmp_path: Path) -> None:
    samples = ramp(tmp_path / "ramp.wav", 5000, 2)
    backend = FakeBackend()
    player = Player(tmp_path / "ramp.wav", backend=backend, block_frames=256)
    backend.on_write = lambda count: player.stop() if count == 3 else None
    assert player.play() is False
    (stream,) = backend.streams
    np.testing.assert_array_equal(stream.frames(), as_float(samples[: 3 * 256]))
    assert stream.closed == "aborted"  # what is buffered is dropped: the stop is heard at once
    assert player.position == 3 * 256 / RATE


def test_a_stop_from_another_thread_halts_a_playback(tmp_path: Path) -> None:
    ramp(tmp_path / "ramp.wav", 5000, 2)
    reached = threading.Event()
    backend = FakeBackend()
    player = Player(tmp_path / "ramp.wav", backend=backend, block_frames=256)

    def hold(count: int) -> None:
        if count == 2:
            reached.set()
            player.stop_requested.wait(WAIT)

    backend.on_write = hold
    with Playback(player) as playback:
        playback.start()
        assert reached.wait(WAIT)
        playback.stop(STOP_TIMEOUT)
        assert playback.wait(WAIT)
    assert (len(backend.streams[0].blocks), playback.finished, playback.error) == (2, False, None)


def test_ctrl_c_during_play_stops_it_cleanly_and_exits_130(tmp_path: Path) -> None:
    ramp(tmp_path / "ramp.wav", 5000, 2)
    backend = FakeBackend()
    player = Player(tmp_path / "ramp.wav", backend=backend, block_frames=256)

    def ctrl_c(count: int) -> None:
        if count == 2:
            _thread.interrupt_main()  # what Ctrl-C does to the main thread
            player.stop_requested.wait(WAIT)

    backend.on_write = ctrl_c
    printed = StringIO()
    assert play_file(player, LineDisplay(Console(file=printed, width=200))) == 130
    assert backend.streams[0].closed == "aborted"
    assert len(backend.streams[0].blocks) == 2
    assert printed.getvalue().splitlines()[-1] == "stopped at 0:00.1"


def test_a_file_that_cannot_be_decoded_or_started_is_refused_naming_it(tmp_path: Path) -> None:
    garbage = tmp_path / "take.wav"
    garbage.write_bytes(b"RIFF not really a wave file" * 10)
    with pytest.raises(AudioError, match=r"take\.wav: not an audio file"):
        Player(garbage, backend=FakeBackend())
    ramp(tmp_path / "ramp.wav", RATE, 1)
    with pytest.raises(AudioError, match=r"ramp\.wav: cannot start at 2 s; it is 1\.000 s long"):
        Player(tmp_path / "ramp.wav", backend=FakeBackend(), start=2.0)


# PortAudio's failures, in the bridge's words -----------------------------------------------


def no_portaudio() -> Any:
    raise OSError("PortAudio library not found")  # what sounddevice raises without it


class PortAudioError(Exception):
    pass


def fake_sounddevice(outputs: list[str]) -> SimpleNamespace:
    """A sounddevice with no default output: PortAudio's answer on a machine without one."""
    devices = [
        {"index": i, "name": name, "max_output_channels": 2} for i, name in enumerate(outputs)
    ]

    def query_devices(device: Device = None, kind: str | None = None) -> Any:
        if kind is None:
            return devices
        if device is None:
            raise PortAudioError("Error querying device -1")
        raise ValueError(f"No output device matching {device!r}")

    return SimpleNamespace(PortAudioError=PortAudioError, query_devices=query_devices)


def test_without_portaudio_a_preview_says_it_is_missing_and_how_to_install_it(
    tmp_path: Path,
) -> None:
    ramp(tmp_path / "ramp.wav", 1000, 2)
    player = Player(tmp_path / "ramp.wav", backend=SoundDeviceBackend(load=no_portaudio))
    with Playback(player) as playback, pytest.raises(AudioError) as caught:
        playback.start()
    message = caught.value.message
    assert "PortAudio cannot be used (PortAudio library not found)" in message
    assert "`apt install libportaudio2` (Debian, Ubuntu)" in message
    assert "`brew install portaudio` (macOS)" in message


def test_without_an_output_device_a_preview_says_how_to_choose_one() -> None:
    backend = SoundDeviceBackend(load=lambda: fake_sounddevice([]))
    with pytest.raises(AudioError) as caught:
        backend.open_output(samplerate=RATE, channels=2, device=None)
    message = caught.value.message
    assert message.startswith("no default output device (0 output(s) seen)")
    assert "`producer-bridge play --device NAME` (outputs: none)" in message
    backend = SoundDeviceBackend(load=lambda: fake_sounddevice(["HDMI", "USB Audio"]))
    with pytest.raises(AudioError) as caught:
        backend.open_output(samplerate=RATE, channels=2, device="Speakers")
    assert caught.value.message == (
        "no output device matching 'Speakers'; pick one with --device NAME or INDEX "
        "(outputs: 0: HDMI, 1: USB Audio)"
    )


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ({"missing": "PortAudio library not found"}, "`apt install libportaudio2`"),
        ({"hung": "PortAudio did not answer within 10 s"}, "did not answer within 10 s"),
        (
            {"crashed": "PortAudio crashed while loading (exit status -6)"},
            "PortAudio crashed while loading (exit status -6)",
        ),
        ({"outputs": [], "default": None}, "no default output device"),
    ],
)
def test_the_child_process_probe_fails_a_preview_without_loading_portaudio_here(
    found: dict[str, object], expected: str
) -> None:
    def load() -> Any:
        raise AssertionError("PortAudio was loaded in the process after the probe failed")

    backend = SoundDeviceBackend(load=load, probe=lambda: found)
    with pytest.raises(AudioError) as caught:
        backend.open_output(samplerate=RATE, channels=2, device=None)
    assert expected in caught.value.message


def test_a_stream_that_never_opens_is_given_up_and_the_desk_refuses_the_next_at_once(
    tmp_path: Path,
) -> None:
    ramp(tmp_path / "ramp.wav", 1000, 2)
    release = threading.Event()

    class Stuck(FakeBackend):
        def open_output(self, *, samplerate: int, channels: int, device: Device) -> FakeStream:
            release.wait(WAIT)  # a sound server that does not answer
            return super().open_output(samplerate=samplerate, channels=channels, device=device)

    backend = Stuck()
    desk = PreviewDesk([tmp_path], backend=backend, open_timeout=0.01)
    try:
        with pytest.raises(AudioError, match=r"PortAudio did not answer within 0\.01 s"):
            desk.play(tmp_path / "ramp.wav")
        with pytest.raises(AudioError, match=r"check the sound server.*restart the daemon"):
            desk.play(tmp_path / "ramp.wav")
    finally:
        release.set()
        desk.close()
    for thread in threading.enumerate():
        if thread.name == "preview":
            thread.join(WAIT)
    assert backend.streams[0].blocks == []  # it gave up: nothing plays once it opens late


def test_a_new_preview_stops_the_one_playing(tmp_path: Path) -> None:
    ramp(tmp_path / "first.wav", 5000, 2)
    ramp(tmp_path / "second.wav", 500, 1)
    playing: list[Playback] = []
    known, reached = threading.Event(), threading.Event()

    def hold(count: int) -> None:  # the first preview plays until it is stopped
        reached.set()
        known.wait(WAIT)
        playing[0].player.stop_requested.wait(WAIT)

    backend = FakeBackend(on_write=hold)
    with PreviewDesk([tmp_path], backend=backend) as desk:
        playing.append(desk.play(tmp_path / "first.wav"))
        known.set()
        assert reached.wait(WAIT)
        backend.on_write = None
        second = desk.play(tmp_path / "second.wav")
        assert second.wait(WAIT)
    assert (playing[0].finished, second.finished) == (False, True)
    assert [stream.closed for stream in backend.streams] == ["aborted", "drained"]
    assert backend.opened == [(RATE, 2, None), (RATE, 1, None)]


# Which file a job plays --------------------------------------------------------------------


def file_entry(path: str, kind: str) -> FileEntry:
    return FileEntry(path, kind, 1, None, 0.0, 0, 4000, RATE, 2, 1.0)


def finished_job(journal: Journal, project: Path, kinds: list[str]) -> Job:
    """A completed job with one file per kind and its manifest, as the pipeline leaves it."""
    job = journal.create(
        JobRequest(AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),)), str(project))
    )
    folder = f"ProducerBridge/{job.short_id}"
    (project / folder).mkdir(parents=True)
    entries = []
    for kind in kinds:
        ramp(project / folder / f"{kind}.wav", 4000, 2)
        entries.append(file_entry(f"{folder}/{kind}.wav", kind))
    manifest = Manifest(
        job_id=job.id,
        created_at="2025-01-02T03:04:05Z",
        action="create_music",
        model="FUZZ-2.0",
        seed=None,
        title=None,
        request={},
        project_folder=str(project),
        project_sample_rate=RATE,
        clip=None,
        selection=None,
        task_ids={},
        audio_ids={},
        folder=folder,
        files=tuple(entries),
    )
    write_manifest(project / folder, manifest)
    job = journal.record(job, Event("started", "write"))
    facts = {"folder": folder, "manifest": f"{folder}/manifest.json"}
    job = journal.record(job, Event("fact", "write", data=facts))
    return journal.record(job, Event("completed"))


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "data" / "journal.sqlite3") as opened:
        yield opened


def test_a_job_plays_its_spliced_file_when_it_has_one_else_its_first_result(
    journal: Journal, tmp_path: Path
) -> None:
    project = tmp_path / "song"
    spliced = finished_job(journal, project, ["result", "vocals", "spliced"])
    plain = finished_job(journal, project, ["vocals", "result", "drums"])
    found = resolve_target(spliced.short_id, journal.get)
    assert found == project / "ProducerBridge" / spliced.short_id / "spliced.wav"
    found = resolve_target(plain.id[:6], journal.get)
    assert found == project / "ProducerBridge" / plain.short_id / "result.wav"
    assert pick_file([file_entry("a.wav", "vocals")]) is None


def test_a_job_that_has_not_finished_or_wrote_nothing_has_nothing_to_play(
    journal: Journal, tmp_path: Path
) -> None:
    request = JobRequest(AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),)), "/p")
    queued = journal.create(request)
    running = journal.record(journal.create(request), Event("started", "generate"))
    failed = journal.record(running, Event("failed", data={"message": "task failed"}))
    with pytest.raises(JobError, match=f"job {queued.short_id} is queued: it has nothing"):
        resolve_target(queued.short_id, journal.get)
    running = journal.record(journal.create(request), Event("started", "generate"))
    with pytest.raises(JobError, match="is running at generate: it has nothing to play until"):
        resolve_target(running.short_id, journal.get)
    with pytest.raises(JobError, match=f"job {failed.short_id} is failed and wrote no files"):
        resolve_target(failed.short_id, journal.get)
    with pytest.raises(JobError, match="'ffffffff' is neither a file nor a known job: no job"):
        resolve_target("ffffffff", journal.get)


def test_a_file_that_exists_wins_over_a_job_id_and_roots_bound_what_is_named(
    journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = finished_job(journal, tmp_path / "song", ["result"])
    monkeypatch.chdir(tmp_path)
    # A file named like the job, in the current folder.
    sf.write(job.short_id, np.zeros(100), RATE, format="WAV", subtype="PCM_16")
    assert resolve_target(job.short_id, journal.get) == Path(job.short_id)
    outside = tmp_path.parent / "elsewhere.wav"
    with pytest.raises(AudioError, match="outside the folders previews may read"):
        resolve_target(str(outside), journal.get, roots=[tmp_path / "song"])
    with pytest.raises(AudioError, match=r"nope\.wav: no such file"):
        resolve_target(str(tmp_path / "nope.wav"), journal.get, roots=[tmp_path])


# The real command --------------------------------------------------------------------------


def play_command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bridge", "--config", str(config), "play", *args]


def run_play(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real `producer-bridge play` in a subprocess."""
    return subprocess.run(
        play_command(config, *args),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def alsa_env(config: Path, text: str) -> dict[str, str]:
    config.write_text(text)
    return {**os.environ, "ALSA_CONFIG_PATH": str(config)}


def test_play_without_portaudio_or_a_device_fails_in_one_clear_line(
    jobs_config: Path, tmp_path: Path
) -> None:
    ramp(tmp_path / "take.wav", 1000, 2)
    # An ALSA without any card: PortAudio, if installed, finds no output.
    env = alsa_env(tmp_path / "asound.conf", "pcm.!default { type hw card 99 }\n")
    done = run_play(jobs_config, str(tmp_path / "take.wav"), env=env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ")
    missing = "PortAudio cannot be used" in lines[-1] and "apt install libportaudio2" in lines[-1]
    no_device = "no default output device" in lines[-1] and "--device" in lines[-1]
    assert missing or no_device, lines[-1]


def need_portaudio() -> None:
    need_library("portaudio", "libportaudio2")


def file_device(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An ALSA whose default output writes what it plays to a file: (environment, file)."""
    out = tmp_path / "played.raw"
    text = (
        f'pcm.!default {{ type file slave.pcm "null" file "{out}" format "raw" }}\n'
        "pcm.null { type null }\n"
    )
    return alsa_env(tmp_path / "asound.conf", text), out


def test_play_plays_a_file_through_portaudio_sample_for_sample(
    jobs_config: Path, tmp_path: Path
) -> None:
    need_portaudio()
    samples = ramp(tmp_path / "take.wav", 12345, 2, rate=44100)
    env, played = file_device(tmp_path)
    done = run_play(jobs_config, str(tmp_path / "take.wav"), "--start", "0.1", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "played to the end (0:00.3)"
    # PortAudio negotiated 32-bit float with the device: the file holds what it was given.
    heard = np.fromfile(played, dtype=np.float32).reshape(-1, 2)
    np.testing.assert_array_equal(heard, as_float(samples[4410:]))


def test_play_job_plays_the_jobs_spliced_file(jobs_config: Path, tmp_path: Path) -> None:
    need_portaudio()
    with Journal(tmp_path / "data" / "journal.sqlite3") as opened:
        job = finished_job(opened, tmp_path / "song", ["result", "spliced"])
    env, played = file_device(tmp_path)
    done = run_play(jobs_config, job.short_id, env=env)
    assert done.returncode == 0, done.stderr
    spliced = tmp_path / "song" / "ProducerBridge" / job.short_id / "spliced.wav"
    assert done.stderr.splitlines()[0].startswith(f"playing {spliced}: ")
    heard = np.fromfile(played, dtype=np.float32).reshape(-1, 2)
    np.testing.assert_array_equal(heard, sf.read(str(spliced), dtype="float32")[0])


def test_play_options_are_checked_as_usage_errors(jobs_config: Path) -> None:
    done = run_play(jobs_config, "x.wav", "--start", "-1")
    assert done.returncode == 2
    assert "argument --start: expected seconds, 0 or more (got '-1')" in done.stderr


def test_the_manifest_of_a_job_is_read_not_guessed(journal: Journal, tmp_path: Path) -> None:
    job = finished_job(journal, tmp_path / "song", ["result"])
    assert job.facts.manifest is not None
    manifest = tmp_path / "song" / job.facts.manifest
    data = json.loads(manifest.read_text())
    data["files"][0]["path"] = f"ProducerBridge/{job.short_id}/moved.wav"
    manifest.write_text(json.dumps(data))
    found = resolve_target(job.short_id, journal.get)
    assert found.name == "moved.wav"
