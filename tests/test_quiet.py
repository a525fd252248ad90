"""What a person sees without -v: one line per job event in the daemon's terminal, and no
text a C library writes on its own (alsa-lib's `open /dev/snd/seq failed`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.emulator.server import EmulatorServer
from bridge.midi.quiet import alsa_lines
from tests.daemon_harness import OscListener, daemon_config, running_daemon


def test_a_failed_job_is_one_line_in_the_daemons_terminal(
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    make_emulator: Callable[..., EmulatorServer],
) -> None:
    server = make_emulator(rate_task_failed=1.0)
    reply = f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
    config = daemon_config(jobs_config, tmp_path, port, osc=reply)
    request = {
        "version": 1,
        "action": "create_music",
        "prompts": [{"text": "pop"}],
        "project": {"folder": str(tmp_path / "song")},
    }
    with running_daemon(config, server.url, port) as served:
        listener.send(port, "/bridge/job", json.dumps(request))
        job_id, _ = listener.wait_for("/bridge/job/accepted")
        listener.wait_for("/bridge/job/failed", lambda a: a[0] == job_id)
    printed = (served.out + served.err).splitlines()
    about_the_job = [line for line in printed if job_id[:8] in line]
    assert [line.split(":")[0] for line in about_the_job] == [
        f"job {job_id[:8]} accepted",
        f"job {job_id[:8]} failed",
    ], "\n".join(printed)
    assert not [line for line in printed if " WARNING " in line], "\n".join(printed)


ALSA_SAYS = b"ALSA lib seq_hw.c:466:(snd_seq_hw_open) open /dev/snd/seq failed: No such file\n"


def test_what_alsa_lib_writes_to_fd_2_is_kept_and_anything_else_put_back(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with alsa_lines() as alsa:
        os.write(2, ALSA_SAYS)
        os.write(2, b"a log line from another thread\n")
    assert alsa == ["open /dev/snd/seq failed: No such file"]
    assert capfd.readouterr().err == "a log line from another thread\n"


def bridge(config: Path, home: Path, *args: str) -> str:
    """What a command prints to the terminal, both streams, run as a person runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "--config", str(config), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(home)},
        check=False,
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["doctor"],
        ["midi-learn"],
        ["midi-learn", "--input", "virtual:pads"],
        ["midi-learn", "--input", "Launchpad"],
    ],
)
def test_doctor_and_midi_learn_print_no_alsa_lib_lines(
    jobs_config: Path, tmp_path: Path, command: list[str]
) -> None:
    printed = bridge(jobs_config, tmp_path, *command)
    assert "ALSA lib" not in printed
    assert "snd_seq_hw_open" not in printed
    if not Path("/dev/snd/seq").exists():  # then say it once, in the bridge's own line
        assert printed.count("open /dev/snd/seq failed") == 1, printed
        assert re.search(r"no MIDI backend[^(\n]* \(open /dev/snd/seq failed", printed), printed
