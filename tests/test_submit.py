"""`producer-bridge submit` answers every bad request file with one clear line and exit 1,
reads files as the drop folder does, and refuses what cannot travel to the daemon."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.daemon.client import MAX_DATAGRAM
from bridge.emulator.server import EmulatorServer
from bridge.jobs.wire import MAX_JSON_BYTES
from tests.daemon_harness import daemon_config, running_daemon
from tests.fake_live import free_udp_port


@pytest.fixture
def config(jobs_config: Path, tmp_path: Path) -> Path:
    # A port no daemon listens on: every case here is refused before a daemon is asked.
    path = tmp_path / "submit.toml"
    path.write_text(jobs_config.read_text() + f"\n[osc]\nport = {free_udp_port()}\n")
    return path


def submit(config: Path, request: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bridge", "--config", str(config), "submit", str(request)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def create(tmp_path: Path, **fields: Any) -> dict[str, Any]:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return {"version": 1, "action": "create_music", "project": {"folder": str(project)}, **fields}


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_deeply_nested_json_is_one_clear_line(config: Path, tmp_path: Path) -> None:
    request = tmp_path / "deep.json"
    request.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nested too deeply" in one_error_line(submit(config, request))


def test_an_integer_of_thousands_of_digits_is_one_clear_line(config: Path, tmp_path: Path) -> None:
    request = tmp_path / "seed.json"
    request.write_text('{"version": 1, "params": {"seed": 1' + "0" * 5000 + "}}")
    assert "holds an integer of over 4300 digits" in one_error_line(submit(config, request))


def test_a_file_larger_than_any_request_is_refused_before_reading_it_as_json(
    config: Path, tmp_path: Path
) -> None:
    request = tmp_path / "huge.json"
    request.write_text(json.dumps(create(tmp_path, lyrics="la " * (MAX_JSON_BYTES // 3 + 1))))
    assert f"larger than {MAX_JSON_BYTES} bytes" in one_error_line(submit(config, request))


def test_a_request_too_big_for_one_datagram_is_refused_before_sending(
    jobs_config: Path, tmp_path: Path, port: int, make_emulator: Callable[..., EmulatorServer]
) -> None:
    emulator = make_emulator()  # its own, so that it counts this test's creates only
    request = tmp_path / "long-lyrics.json"
    request.write_text(json.dumps(create(tmp_path, lyrics="la " * (MAX_DATAGRAM // 3 + 10))))
    config = daemon_config(jobs_config, tmp_path, port)
    with running_daemon(config, emulator.url, port):
        line = one_error_line(submit(config, request))
    assert f"at most {MAX_DATAGRAM} bytes" in line
    assert "drop folder" in line
    assert emulator.created("create_music") == 0


def test_a_nul_in_a_path_is_refused_naming_the_field(config: Path, tmp_path: Path) -> None:
    request = tmp_path / "nul.json"
    data = create(tmp_path)
    data["project"]["folder"] += "\u0000evil"
    request.write_text(json.dumps(data))
    assert "project.folder" in one_error_line(submit(config, request))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_submit_reads_the_encodings_the_drop_folder_reads(
    config: Path, tmp_path: Path, encoding: str
) -> None:
    # A request refused for what it says (not for how it is written) proves it was read.
    request = tmp_path / "encoded.json"
    request.write_bytes(json.dumps(create(tmp_path, prompts=[{"text": "x"}] * 5)).encode(encoding))
    assert "prompts" in one_error_line(submit(config, request))
