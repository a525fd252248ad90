"""The daemon's other inputs end to end: the drop folder, Ableton Live, MIDI, and a fuzzer
that throws arbitrary OSC at a running daemon."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mido
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.daemon.osc_api import ROUTES
from bridge.emulator.server import EmulatorServer
from tests.daemon_harness import OscListener, daemon_config, free_udp_port, running_daemon
from tests.fake_live import FakeLive, LiveState
from tests.midi_peer import Peer
from tests.waiting import wait_until

ANSWERS = {
    "/bridge/rejected",
    "/bridge/ok",
    "/bridge/job/accepted",
    "/bridge/pong",
    "/bridge/context/state",
    "/bridge/job/status",
    "/bridge/status/summary",
    "/bridge/capabilities/state",
}


def reply_to(port: int, listener: OscListener) -> str:
    return f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'


def test_a_clip_dropped_with_a_sidecar_becomes_a_job_and_moves_to_done(
    jobs_config: Path,
    tmp_path: Path,
    listener: OscListener,
    emulator: EmulatorServer,
    tone: Callable[..., Path],
) -> None:
    port = free_udp_port()
    config = daemon_config(jobs_config, tmp_path, port, osc=reply_to(port, listener))
    drop = tmp_path / "drop"
    project = tmp_path / "project"
    early = tone(3.0, name="夏天 take.wav")
    (drop / "music_variation").mkdir(parents=True)
    early.rename(drop / "music_variation" / early.name)  # there before the daemon starts
    with running_daemon(config, emulator.url, port):
        sidecar = {"prompts": [{"text": "brighter"}], "project": {"folder": str(project)}}
        (drop / "cover_music" / "late.json").write_text(json.dumps(sidecar))
        tone(3.0, name="late.wav").rename(drop / "cover_music" / "late.wav")
        (drop / "cover_music" / "notes.txt").write_text("not audio")
        (drop / "cover_music" / "lyrics.wav").write_text("text, named as if it were audio")
        first = listener.wait_for("/bridge/job/accepted")
        second = listener.wait_for("/bridge/job/accepted", lambda a: a != first)
        assert {first[1], second[1]} == {"music_variation", "cover_music"}
        for job_id in (first[0], second[0]):
            listener.wait_for("/bridge/job/done", lambda a, j=job_id: a[0] == j)
        rejected = listener.wait_for("/bridge/rejected", lambda a: "notes.txt" in a[0])
        undecodable = listener.wait_for("/bridge/rejected", lambda a: "lyrics.wav" in a[0])
    assert "not an audio file" in rejected[1]
    assert "not an audio file this machine can decode" in undecodable[1]
    failed = drop / "failed"
    assert (failed / "lyrics.wav").is_file()
    assert "not an audio file this machine can decode" in (failed / "lyrics.error.txt").read_text()
    done = {path.name for path in (drop / "done").iterdir()}
    assert {"夏天 take.wav", "late.wav", "late.json"} <= done
    assert (drop / "failed" / "notes.txt.error.txt").is_file() or any(
        p.name.startswith("notes") and p.name.endswith(".error.txt")
        for p in (drop / "failed").iterdir()
    )
    assert list((project / "ProducerBridge").glob("*/manifest.json"))


def test_a_trigger_with_ableton_uses_the_loop_region_and_the_selected_clip(
    jobs_config: Path,
    tmp_path: Path,
    listener: OscListener,
    emulator: EmulatorServer,
    tone: Callable[..., Path],
) -> None:
    port = free_udp_port()
    clip = tone(10.0)
    state = LiveState(tempo=120.0, loop_start=8.0, loop_length=8.0, clips={(0, 0): str(clip)})
    with FakeLive(reply_port=free_udp_port(), state=state) as live:
        ableton = (
            f'enabled = true\nlink = "abletonosc"\nport = {live.port}\n'
            f"listen_port = {live.reply_port}"
        )
        config = daemon_config(
            jobs_config, tmp_path, port, osc=reply_to(port, listener), ableton=ableton
        )
        with running_daemon(config, emulator.url, port):
            (tmp_path / "project").mkdir(exist_ok=True)
            listener.send(port, "/bridge/context/project", str(tmp_path / "project"))
            listener.send(port, "/bridge/context/prompt", "sparse piano")
            listener.send(port, "/bridge/trigger", "replace")
            job_id, _ = listener.wait_for("/bridge/job/accepted")
            _, manifest, _ = listener.wait_for("/bridge/job/done", lambda a: a[0] == job_id)
        assert "/live/song/get/tempo" in live.addresses()
    written = json.loads(Path(manifest).read_text())
    assert written["selection"] == {"start": 4.0, "end": 8.0}  # beats 8..16 at 120 bpm
    assert written["clip"]["path"] == str(clip)
    assert (written["request"]["replaceStart"], written["request"]["replaceEnd"]) == (4.0, 8.0)


def test_a_trigger_when_live_does_not_answer_is_rejected_and_the_daemon_goes_on(
    jobs_config: Path, tmp_path: Path, listener: OscListener, emulator: EmulatorServer
) -> None:
    port = free_udp_port()
    with FakeLive(reply_port=free_udp_port()) as live:
        live.silent = True
        ableton = (
            f'enabled = true\nlink = "abletonosc"\nport = {live.port}\n'
            f"listen_port = {live.reply_port}\ntimeout = 0.3"
        )
        config = daemon_config(
            jobs_config, tmp_path, port, osc=reply_to(port, listener), ableton=ableton
        )
        with running_daemon(config, emulator.url, port):
            listener.send(port, "/bridge/trigger", "variation")
            _, reason = listener.wait_for("/bridge/rejected")
            listener.send(port, "/bridge/ping")
            listener.wait_for("/bridge/pong")
    assert "did not answer" in reason


OSC_ARG = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.floats(width=32, allow_nan=False),
    st.text(max_size=12),
    st.booleans(),
)
ADDRESSES = st.one_of(
    st.sampled_from([route.address for route in ROUTES]),
    st.text(min_size=1, max_size=12).map(lambda text: "/" + text.replace("\x00", "")),
)


def test_arbitrary_osc_never_stops_the_daemon_and_always_gets_an_answer(
    jobs_config: Path, tmp_path: Path, listener: OscListener, emulator: EmulatorServer
) -> None:
    port = free_udp_port()
    config = daemon_config(jobs_config, tmp_path, port, osc=f"port = {port}")
    with running_daemon(config, emulator.url, port) as daemon:

        @settings(
            max_examples=150,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(ADDRESSES, st.lists(OSC_ARG, max_size=5))
        def one_message(address: str, args: list[Any]) -> None:
            def answers() -> int:
                return sum(1 for found, _ in listener.messages if found in ANSWERS)

            before = answers()
            listener.send(port, address, *args)
            wait_until(
                lambda: answers() > before,
                within=5.0,
                interval=0.002,
                what=f"an answer to {address} {args!r}",
            )

        one_message()
        listener.send(port, "/bridge/ping")
        listener.wait_for("/bridge/pong")
        assert daemon.process.poll() is None


def test_midi_pads_and_faders_drive_jobs_through_the_context(
    jobs_config: Path,
    tmp_path: Path,
    listener: OscListener,
    emulator: EmulatorServer,
    tone: Callable[..., Path],
) -> None:
    port = free_udp_port()
    peer = Peer()
    try:
        midi = (
            f'inputs = ["{peer.spec}", "No Such Keyboard"]\n'
            'map = { "note 36" = "variation", "cc 21" = "set strength 0.2..1", '
            '"cc 22" = "cover at 100" }'
        )
        config = daemon_config(jobs_config, tmp_path, port, osc=reply_to(port, listener), midi=midi)
        with running_daemon(config, emulator.url, port) as daemon:
            peer.wait_for_clients()
            (tmp_path / "project").mkdir(exist_ok=True)
            listener.send(port, "/bridge/context/project", str(tmp_path / "project"))
            listener.send(port, "/bridge/context/clip", str(tone(3.0)))
            listener.send(port, "/bridge/context/prompt", "brighter")
            for _ in range(3):
                listener.wait_for("/bridge/ok")
            peer.send(
                mido.Message("note_on", note=36, velocity=0),  # a note-off: nothing
                mido.Message("note_on", note=40, velocity=100),  # unmapped: nothing
                mido.Message("control_change", control=21, value=127),  # strength 1.0
                mido.Message("control_change", control=22, value=99),  # below the threshold
                mido.Message("note_on", note=36, velocity=90),
            )
            job_id, action = listener.wait_for("/bridge/job/accepted")
            assert action == "music_variation"
            _, manifest, _ = listener.wait_for("/bridge/job/done", lambda a: a[0] == job_id)
            peer.send(mido.Message("control_change", control=22, value=100))  # crosses 100
            listener.wait_for("/bridge/job/accepted", lambda a: a[1] == "cover_music")
            assert len(listener.of("/bridge/job/accepted")) == 2
    finally:
        peer.close()
    assert "No Such Keyboard" in daemon.err  # a warning; the daemon ran on
    written = json.loads(Path(manifest).read_text())
    assert written["request"]["sounds"] == [{"text": "brighter", "strength": 1.0}]


def test_a_taken_live_reply_port_is_a_warning_and_triggers_say_why(
    jobs_config: Path, tmp_path: Path, listener: OscListener, emulator: EmulatorServer
) -> None:
    port = free_udp_port()
    with OscListener() as squatter:  # another AbletonOSC client holds the reply port
        ableton = (
            f'enabled = true\nlink = "abletonosc"\nport = {free_udp_port()}\n'
            f"listen_port = {squatter.port}"
        )
        config = daemon_config(
            jobs_config, tmp_path, port, osc=reply_to(port, listener), ableton=ableton
        )
        with running_daemon(config, emulator.url, port) as daemon:
            listener.send(port, "/bridge/trigger", "variation")
            _, reason = listener.wait_for("/bridge/rejected")
    assert str(squatter.port) in reason
    assert "warning: " in daemon.err
    assert str(squatter.port) in daemon.err


def test_a_finished_job_asks_reaper_to_run_the_import_script(
    jobs_config: Path,
    tmp_path: Path,
    listener: OscListener,
    emulator: EmulatorServer,
) -> None:
    port = free_udp_port()
    with OscListener() as reaper:
        config = daemon_config(
            jobs_config,
            tmp_path,
            port,
            osc=reply_to(port, listener),
            reaper=f'osc = "127.0.0.1:{reaper.port}"\nimport_action = "_RS7f3a9c"',
        )
        with running_daemon(config, emulator.url, port):
            listener.send(port, "/bridge/create", "warm synth pop")
            job_id, _ = listener.wait_for("/bridge/job/accepted")
            listener.wait_for("/bridge/job/done", lambda a: a[0] == job_id)
            assert reaper.wait_for("/action/str") == ["_RS7f3a9c"]
