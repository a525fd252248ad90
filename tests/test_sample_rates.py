"""A project sample rate no DAW runs at (12345, a typo) is refused wherever a rate is taken,
naming the rates that are accepted: the request document, `run --sample-rate`, and the
`/bridge/context/project` a controller sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.app import request_defaults
from bridge.cli.main import main
from bridge.config import load_config
from bridge.emulator.server import EmulatorServer
from bridge.errors import RequestError
from bridge.jobs.wire import parse_request
from tests.daemon_harness import OscListener, daemon_config, running_daemon

ACCEPTED = (
    "8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000, 352800, 384000"
)


def document(folder: Path, rate: int) -> dict[str, object]:
    return {
        "version": 1,
        "action": "create_music",
        "prompts": [{"text": "pop"}],
        "project": {"folder": str(folder), "sampleRate": rate},
    }


@pytest.mark.parametrize("rate", [12345, 44000, 47999])
def test_a_request_at_a_rate_no_daw_uses_is_refused_naming_the_accepted_ones(
    jobs_config: Path, tmp_path: Path, rate: int
) -> None:
    defaults = request_defaults(load_config(jobs_config).config)
    with pytest.raises(RequestError) as caught:
        parse_request(document(tmp_path, rate), defaults)
    assert [(issue.field, issue.message) for issue in caught.value.issues] == [
        ("project.sampleRate", f"must be one of {ACCEPTED} (got {rate})")
    ]


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000, 192000, 384000])
def test_every_rate_daws_use_is_accepted(jobs_config: Path, tmp_path: Path, rate: int) -> None:
    defaults = request_defaults(load_config(jobs_config).config)
    assert parse_request(document(tmp_path, rate), defaults).sample_rate == rate


def test_run_refuses_the_rate_before_anything_is_made(
    jobs_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["--config", str(jobs_config), "run", "create_music", "--prompt", "pop"]
    assert main([*argv, "--sample-rate", "12345", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"sampleRate: must be one of {ACCEPTED} (got 12345)" in err
    assert not out.exists()


def test_a_controller_setting_the_rate_is_refused_and_the_context_kept(
    jobs_config: Path, tmp_path: Path, port: int, listener: OscListener, emulator: EmulatorServer
) -> None:
    reply = f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
    config = daemon_config(jobs_config, tmp_path, port, osc=reply)
    project = tmp_path / "song"
    project.mkdir()
    with running_daemon(config, emulator.url, port):
        listener.send(port, "/bridge/context/project", str(project), 12345)
        address, reason = listener.wait_for("/bridge/rejected")
        assert address == "/bridge/context/project"
        assert f"sampleRate: must be one of {ACCEPTED} (got 12345)" in reason
        listener.send(port, "/bridge/job", json.dumps(document(project, 12345)))
        listener.wait_for(
            "/bridge/rejected", lambda a: a[0] == "/bridge/job" and "(got 12345)" in a[1]
        )
        listener.send(port, "/bridge/context/get")
        (state,) = listener.wait_for("/bridge/context/state")
    assert json.loads(state)["project"] is None
