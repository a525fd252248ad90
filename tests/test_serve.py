"""`producer-bridge serve` end to end: a real daemon process, real UDP OSC, the emulator.

Requests go in over OSC (python-osc's packets and liblo's `oscsend`), answers are heard by
a real OSC receiver (or liblo's `oscdump`), results land in a temporary project folder.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import soundfile as sf

from bridge.emulator.server import EmulatorServer
from bridge.jobs.state import JobStatus
from bridge.journal import Journal
from bridge.project import schema
from tests.conftest import need_tool
from tests.daemon_harness import (
    OscListener,
    daemon_config,
    free_udp_port,
    running_daemon,
    serve_command,
)
from tests.waiting import wait_until


@pytest.fixture
def config(jobs_config: Path, tmp_path: Path, port: int, listener: OscListener) -> Path:
    return daemon_config(
        jobs_config, tmp_path, port, osc=f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
    )


def replace_request(clip: Path, project: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "action": "replace_music",
        "prompts": [{"text": "sparse piano"}],
        "project": {"folder": str(project), "sampleRate": 48000},
        "clip": {"path": str(clip), "itemPosition": 10.0, "length": 6.0},
        "selection": {"start": 12.0, "end": 14.0},
    }


def test_an_osc_request_ends_as_files_in_the_project_and_a_done_message(
    config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
    tone: Callable[..., Path],
) -> None:
    project = tmp_path / "project"
    status = tmp_path / "drop" / "status.json"
    with running_daemon(config, emulator.url, port):
        listener.send(port, "/bridge/job", json.dumps(replace_request(tone(6.0), project)))
        job_id, action = listener.wait_for("/bridge/job/accepted")
        assert action == "replace_music"
        _, manifest_path, _ = listener.wait_for("/bridge/job/done", lambda a: a[0] == job_id)
        wait_until(
            lambda: status.exists() and '"completed"' in status.read_text(),
            what="status.json to show the job completed",
        )
    board = json.loads(status.read_text())
    assert board["daemon"]["running"] is False  # written once more at the stop
    (entry,) = board["jobs"]
    assert (entry["id"], entry["status"], entry["fraction"]) == (job_id, "completed", 1.0)
    assert entry["project"] == str(project)
    assert list((tmp_path / "drop" / "failed").iterdir()) == []  # the board is not an input
    manifest = json.loads(Path(manifest_path).read_text())
    jsonschema.Draft202012Validator(schema()).validate(manifest)
    assert [entry["kind"] for entry in manifest["files"]] == ["result", "spliced"]
    for entry in manifest["files"]:
        info = sf.info(str(project / entry["path"]))
        assert (info.samplerate, info.frames) == (48000, 6 * 48000)
        assert entry["position"] == {"seconds": 10.0, "samples": 480000}
    fractions = [args[2] for args in listener.of("/bridge/job/progress") if args[0] == job_id]
    assert fractions == sorted(fractions)
    assert fractions
    assert fractions[-1] <= 1.0


def test_a_job_rate_limited_by_the_service_says_it_waits_and_still_completes(
    config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    make_emulator: Callable[..., EmulatorServer],
    tone: Callable[..., Path],
) -> None:
    server = make_emulator(rate_429=0.8, retry_after=0.01, endpoints=["tasks"], seed=5)
    with running_daemon(config, server.url, port):
        listener.send(port, "/bridge/job", json.dumps(replace_request(tone(6.0), tmp_path / "p")))
        job_id, _ = listener.wait_for("/bridge/job/accepted")
        listener.wait_for("/bridge/job/done", lambda a: a[0] == job_id)
    waits = [args for args in listener.of("/bridge/job/waiting") if args[0] == job_id]
    assert len(waits) >= 3
    for _, step, seconds, reason in waits:
        assert step in ("upload", "generate", "download")
        assert seconds >= 0.0099  # Retry-After is honoured (an OSC float has 24 bits)
        assert reason == "GET /producer/tasks: the service asked to wait (429)"


def test_every_message_gets_an_answer_and_bad_ones_say_why(
    config: Path, port: int, listener: OscListener, emulator: EmulatorServer
) -> None:
    sent = [
        ("/bridge/job", ["{not json"], "not valid JSON"),
        ("/bridge/job", ['{"params": {"seed": 1' + "0" * 5000 + "}}"], "over 4300 digits"),
        ("/bridge/nope", [1], "unknown address"),
        ("/bridge/replace", ["/x.wav"], "takes 4 argument(s)"),
        ("/bridge/job", [json.dumps({"version": 1, "action": "cover_music"})], "needs a clip"),
        ("/bridge/context/selection", [5.0, 2.0], "start must come before end"),
        ("/bridge/trigger", ["variaton"], "did you mean 'variation'"),
        ("/bridge/cancel", ["ffffffff"], "no job ffffffff"),
    ]
    with running_daemon(config, emulator.url, port):
        for address, args, _ in sent:
            listener.send(port, address, *args)
        listener._sock.sendto(b"\x00garbage", ("127.0.0.1", port))
        for address, _, reason in sent:
            listener.wait_for(
                "/bridge/rejected", lambda a, r=reason, d=address: a[0] == d and r in a[1]
            )
        listener.wait_for("/bridge/rejected", lambda a: a[0] == "" and "not a valid OSC" in a[1])
        listener.send(port, "/bridge/ping")
        _, service = listener.wait_for("/bridge/pong")  # and it keeps serving
    assert service == emulator.url


def test_a_trigger_runs_with_the_context_a_controller_set(
    config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
    tone: Callable[..., Path],
) -> None:
    project = tmp_path / "project"
    project.mkdir()  # a controller names a project that exists
    clip = tone(4.0)
    with running_daemon(config, emulator.url, port):
        listener.send(port, "/bridge/context/project", str(project), 44100)
        listener.send(port, "/bridge/context/clip", str(clip), 20, 0, 1, 4)
        listener.send(port, "/bridge/context/prompt", "classic disco", 0.8)
        listener.send(port, "/bridge/context/param", "seed", 11)
        for _ in range(4):
            listener.wait_for("/bridge/ok")
        listener.send(port, "/bridge/context/get")
        (state,) = listener.wait_for("/bridge/context/state")
        assert json.loads(state)["clip"]["itemPosition"] == 20
        listener.send(port, "/bridge/trigger", "swap_sound")
        job_id, action = listener.wait_for("/bridge/job/accepted")
        assert action == "swap_music_sound"
        _, manifest_path, _ = listener.wait_for("/bridge/job/done", lambda a: a[0] == job_id)
        listener.send(port, "/bridge/status", job_id[:8])
        status = listener.wait_for("/bridge/job/status")
    assert status[:2] == [job_id, JobStatus.COMPLETED]
    manifest = json.loads(Path(manifest_path).read_text())
    assert manifest["seed"] == 11
    assert manifest["request"]["sounds"] == [{"text": "classic disco", "strength": 0.8}]
    assert manifest["files"][0]["position"]["samples"] == 20 * 44100


def test_ping_from_oscsend_is_answered_to_oscdump(
    jobs_config: Path, tmp_path: Path, port: int, emulator: EmulatorServer
) -> None:
    oscsend = need_tool("oscsend", "liblo-tools")
    oscdump = need_tool("oscdump", "liblo-tools")
    dump_port = free_udp_port()
    config = daemon_config(
        jobs_config, tmp_path, port, osc=f'port = {port}\nreply_to = "127.0.0.1:{dump_port}"'
    )
    dump = subprocess.Popen(
        [oscdump, "-L", str(dump_port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    heard = DumpLines(dump)
    try:
        wait_until(lambda: udp_port_taken(dump_port), what="oscdump to bind its port")
        with running_daemon(config, emulator.url, port):
            sent = subprocess.run(
                [oscsend, "127.0.0.1", str(port), "/bridge/ping"], capture_output=True, timeout=10
            )
            assert sent.returncode == 0
            subprocess.run(
                [oscsend, "127.0.0.1", str(port), "/bridge/status", "s", "abc"], timeout=10
            )
            wait_until(
                lambda: heard.has("/bridge/pong ss", "/bridge/rejected ss"),
                what="oscdump to print the pong and the refusal",
            )
    finally:
        dump.terminate()
        dump.wait(timeout=10)
    out = heard.text()
    assert emulator.url in out
    assert "too short" in out  # "abc" is too short for a job id: said so


class DumpLines:
    """What a running oscdump has printed so far, read on a thread as it comes."""

    def __init__(self, dump: subprocess.Popen[str]) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, args=(dump,), daemon=True)
        self._reader.start()

    def _read(self, dump: subprocess.Popen[str]) -> None:
        assert dump.stdout is not None
        for line in dump.stdout:
            with self._lock:
                self._lines.append(line)

    def text(self) -> str:
        self._reader.join(timeout=10)
        with self._lock:
            return "".join(self._lines)

    def has(self, *texts: str) -> bool:
        with self._lock:
            printed = "".join(self._lines)
        return all(text in printed for text in texts)


def udp_port_taken(port: int) -> bool:
    """Whether some socket is bound to UDP `port`, read from the kernel's table (binding
    the port to find out could take it from under oscdump)."""
    tables = [Path("/proc/net/udp"), Path("/proc/net/udp6")]
    rows = [
        line.split()
        for table in tables
        if table.exists()
        for line in table.read_text().splitlines()[1:]
    ]
    return any(int(row[1].rsplit(":", 1)[1], 16) == port for row in rows)


def test_a_second_daemon_on_the_same_port_stops_at_once_naming_it(
    config: Path, port: int, emulator: EmulatorServer
) -> None:
    with running_daemon(config, emulator.url, port):
        second = subprocess.run(
            serve_command(config, emulator.url), capture_output=True, text=True, timeout=30
        )
    assert second.returncode == 1
    assert f"OSC port {port}" in second.stderr
    assert "already in use" in second.stderr


def test_sigterm_stops_cleanly_and_the_next_start_finishes_the_job(
    config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    make_emulator: Callable[..., EmulatorServer],
    tone: Callable[..., Path],
) -> None:
    slow = make_emulator(latency=0.15)
    project = tmp_path / "project"
    journal = tmp_path / "data" / "journal.sqlite3"
    with running_daemon(config, slow.url, port) as daemon:
        listener.send(port, "/bridge/job", json.dumps(replace_request(tone(6.0), project)))
        job_id, _ = listener.wait_for("/bridge/job/accepted")
        listener.wait_for("/bridge/job/progress", lambda a: a[1] == "generate")
        assert daemon.stop(signal.SIGTERM) == 0, daemon.err
        assert "stopping" in daemon.err
    with Journal(journal) as opened:
        assert opened.get(job_id).status == JobStatus.RUNNING  # left for the next start, not failed
    with running_daemon(config, slow.url, port) as daemon:
        _, manifest, _ = listener.wait_for("/bridge/job/done", lambda a: a[0] == job_id, timeout=60)
    assert "1 unfinished job(s) resumed" in daemon.err
    with Journal(journal) as opened:
        assert opened.get(job_id).status == JobStatus.COMPLETED
    assert slow.created("replace_music") == 1  # resumed by polling, never sent twice
    assert Path(manifest).is_file()


def test_a_controllers_context_survives_a_restart_of_the_daemon(
    config: Path, tmp_path: Path, port: int, listener: OscListener, emulator: EmulatorServer
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with running_daemon(config, emulator.url, port):
        listener.send(port, "/bridge/context/project", str(project), 48000)
        listener.send(port, "/bridge/context/prompt", "warm tape choir", 0.7)
        listener.send(port, "/bridge/context/param", "seed", 11)
        for _ in range(3):
            listener.wait_for("/bridge/ok")
        listener.send(port, "/bridge/context/get")
        (before,) = listener.wait_for("/bridge/context/state")
    with running_daemon(config, emulator.url, port):
        listener.send(port, "/bridge/context/get")
        (after,) = listener.wait_for("/bridge/context/state")
        listener.send(port, "/bridge/context/clear")
        listener.wait_for("/bridge/ok")
    kept = json.loads(after)
    assert kept == json.loads(before)
    assert (kept["project"], kept["prompt"], kept["params"]) == (
        str(project),
        "warm tape choir",
        {"strength": 0.7, "seed": 11},
    )
    saved = json.loads((tmp_path / "data" / "context.json").read_text())
    assert saved["project"] is None  # the clear is kept too


def submit_command(config: Path, tmp_path: Path, tone: Callable[..., Path]) -> list[str]:
    """`producer-bridge submit` of a replace request file written in `tmp_path`."""
    request = tmp_path / "request.json"
    request.write_text(json.dumps(replace_request(tone(6.0), tmp_path / "project")))
    return [sys.executable, "-m", "bridge", "--config", str(config), "submit", str(request)]


def test_submit_hands_a_request_file_to_the_daemon_and_prints_the_manifest(
    config: Path,
    tmp_path: Path,
    port: int,
    emulator: EmulatorServer,
    tone: Callable[..., Path],
) -> None:
    command = submit_command(config, tmp_path, tone)
    with running_daemon(config, emulator.url, port):
        submitted = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert submitted.returncode == 0, submitted.stderr
    assert "accepted by the daemon" in submitted.stderr
    assert Path(submitted.stdout.strip()).name == "manifest.json"


def test_submit_with_no_daemon_runs_the_request_itself_and_prints_the_manifest(
    config: Path, tmp_path: Path, emulator: EmulatorServer, tone: Callable[..., Path]
) -> None:
    command = submit_command(config, tmp_path, tone)
    alone = subprocess.run(
        [*command, "--api-url", emulator.url], capture_output=True, text=True, timeout=60
    )
    assert alone.returncode == 0, alone.stderr
    assert "no daemon answers" in alone.stderr
    assert any(line.endswith("manifest.json") for line in alone.stdout.splitlines())


def test_listening_beyond_loopback_needs_an_explicit_option_and_warns(
    jobs_config: Path, tmp_path: Path, port: int, emulator: EmulatorServer
) -> None:
    config = daemon_config(jobs_config, tmp_path, port, osc=f'host = "0.0.0.0"\nport = {port}')
    refused = subprocess.run(
        serve_command(config, emulator.url), capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 1
    assert "osc.host: 0.0.0.0 lets other machines send jobs" in refused.stderr
    with running_daemon(config, emulator.url, port, "--allow-remote") as daemon:
        pass
    assert "warning: OSC listens on 0.0.0.0" in daemon.err


def test_a_live_on_another_machine_is_a_warning_that_its_reply_port_listens_beyond_loopback(
    jobs_config: Path, tmp_path: Path, port: int, emulator: EmulatorServer
) -> None:
    listen = free_udp_port()
    live = f'enabled = true\nlink = "abletonosc"\nhost = "192.0.2.77"\nlisten_port = {listen}'
    config = daemon_config(jobs_config, tmp_path, port, ableton=live)
    with running_daemon(config, emulator.url, port) as daemon:
        pass
    assert f"warning: the Ableton Live reader listens on 0.0.0.0:{listen}" in daemon.err


def test_the_banner_says_where_everything_listens(
    config: Path, tmp_path: Path, port: int, emulator: EmulatorServer
) -> None:
    with running_daemon(config, emulator.url, port) as daemon:
        pass
    assert "producer-bridge is serving; stop it with Ctrl-C" in daemon.err
    assert f"OSC:     127.0.0.1:{port}" in daemon.err
    assert f"service: {emulator.url}" in daemon.err
    assert f"drop:    {tmp_path / 'drop'}" in daemon.err
    assert f"results: {tmp_path / 'default-project'} (for requests that name no project)" in (
        daemon.err
    )
    assert "MIDI:    none" in daemon.err
    assert "left on the emulator (pretend: nothing is paid)" in daemon.err
    assert "0 unfinished job(s) resumed" in daemon.err


def test_a_public_staging_address_is_warned_about(
    jobs_config: Path, tmp_path: Path, port: int, emulator: EmulatorServer
) -> None:
    config = daemon_config(
        jobs_config,
        tmp_path,
        port,
        staging='public_base_url = "https://clips.example.net"\nttl = 600.0',
    )
    with running_daemon(config, emulator.url, port) as daemon:
        pass
    assert (
        "warning: clips are reachable at https://clips.example.net by anyone holding a clip's "
        "URL while it is staged (staging.ttl 600 s)"
    ) in daemon.err
