"""`/bridge/preview` in a real daemon process, over real UDP OSC.

Which ALSA the daemon sees is set by ALSA_CONFIG_PATH, which it inherits: one without any
card (a machine with nothing to play on), or one whose default output writes to a file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.emulator.server import EmulatorServer
from bridge.journal import Journal
from tests.daemon_harness import OscListener, daemon_config, running_daemon
from tests.test_preview import finished_job, need_portaudio, ramp
from tests.waiting import wait_until

PREVIEW = "/bridge/preview"


@pytest.fixture
def config(jobs_config: Path, tmp_path: Path, port: int) -> Path:
    return daemon_config(jobs_config, tmp_path, port)


def use_alsa(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> None:
    path = tmp_path / "asound.conf"
    path.write_text(text)
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(path))


def test_a_preview_this_machine_cannot_play_is_refused_and_the_daemon_goes_on(
    config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_alsa(monkeypatch, tmp_path, "pcm.!default { type hw card 99 }\n")
    ramp(tmp_path / "take.wav", 1000, 2)
    with running_daemon(config, emulator.url, port):
        listener.send(port, PREVIEW, str(tmp_path / "take.wav"))
        _, reason = listener.wait_for("/bridge/rejected", lambda a: a[0] == PREVIEW)
        missing = "PortAudio cannot be used" in reason and "apt install libportaudio2" in reason
        no_device = "no default output device" in reason and "--device" in reason
        assert missing or no_device, reason
        listener.send(port, "/bridge/preview/stop")
        assert listener.wait_for("/bridge/ok") == ["/bridge/preview/stop", "nothing was playing"]
        listener.send(port, "/bridge/ping")
        listener.wait_for("/bridge/pong")


def test_previews_outside_the_allowed_roots_or_of_unknown_jobs_are_refused(
    config: Path, tmp_path: Path, port: int, listener: OscListener, emulator: EmulatorServer
) -> None:
    with tempfile.TemporaryDirectory() as elsewhere:
        ramp(Path(elsewhere) / "secret.wav", 100, 1)
        sent = [
            ([str(Path(elsewhere) / "secret.wav")], "outside the folders previews may read"),
            (["ffffffff"], "'ffffffff' is neither a file nor a known job"),
            ([str(tmp_path / "take.wav"), -1.0], "start: must be 0 or more seconds"),
            ([], "takes 1 to 2 argument(s)"),
        ]
        with running_daemon(config, emulator.url, port):
            for args, _ in sent:
                listener.send(port, PREVIEW, *args)
            for _, reason in sent:
                listener.wait_for(
                    "/bridge/rejected", lambda a, r=reason: a[0] == PREVIEW and r in a[1]
                )
            listener.send(port, "/bridge/ping")
            listener.wait_for("/bridge/pong")


def test_the_daemon_plays_a_jobs_spliced_file_and_answers_ok(
    config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    need_portaudio()
    played = tmp_path / "played.raw"
    use_alsa(
        monkeypatch,
        tmp_path,
        f'pcm.!default {{ type file slave.pcm "null" file "{played}" format "raw" }}\n'
        "pcm.null { type null }\n",
    )
    with Journal(tmp_path / "data" / "journal.sqlite3") as journal:
        job = finished_job(journal, tmp_path / "song", ["result", "spliced"])
    spliced = tmp_path / "song" / "ProducerBridge" / job.short_id / "spliced.wav"
    expected = sf.read(str(spliced), dtype="float32")[0]
    with running_daemon(config, emulator.url, port):
        listener.send(port, PREVIEW, job.short_id)
        answer = listener.wait_for("/bridge/ok", lambda a: a[0] == PREVIEW)
        assert answer == [PREVIEW, f"playing {spliced} from 0 s"]
        wait_until(
            lambda: played.exists() and played.stat().st_size >= expected.nbytes,
            what="the preview to reach the device",
        )
        listener.send(port, "/bridge/ping")
        listener.wait_for("/bridge/pong")
    heard = np.fromfile(played, dtype=np.float32).reshape(-1, 2)
    np.testing.assert_array_equal(heard, expected)
