"""One door, one judgment: whatever brings a request (OSC, the drop folder, `submit`,
`run`), what can be judged without the service is judged before a job exists. A clip that
does not decode, a section past its end, a cover longer than the service takes, a project
that cannot be written or whose disk is full: each is refused, and the journal stays empty."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.emulator.server import EmulatorServer
from bridge.errors import BridgeError, explain
from bridge.jobs.wire import Defaults, parse_request
from bridge.pipeline.admission import room_issues
from tests.conftest import pipeline_runner, write_tone
from tests.daemon_harness import OscListener, daemon_config, running_daemon

MODELS = ("FUZZ-2.0",)


def cover(clip: Path, project: Path, **clip_fields: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "action": "cover_music",
        "prompts": [{"text": "jazz"}],
        "project": {"folder": str(project)},
        "clip": {"path": str(clip), **clip_fields},
    }


def replace(clip: Path, project: Path, start: float, end: float) -> dict[str, Any]:
    return {
        "version": 1,
        "action": "replace_music",
        "prompts": [{"text": "piano"}],
        "project": {"folder": str(project)},
        "clip": {"path": str(clip), "itemPosition": 0.0},
        "selection": {"start": start, "end": end},
    }


def cases(tmp_path: Path) -> dict[str, tuple[dict[str, Any], str]]:
    project = tmp_path / "song"
    text = tmp_path / "notes.wav"
    text.write_text("these are my lyrics, not audio")
    ten_minutes = write_tone(tmp_path / "long.wav", 600.0, rate=8000, channels=1)
    short = write_tone(tmp_path / "short.wav", 6.0)
    folder_file = tmp_path / "a-file"
    folder_file.write_text("")
    return {
        "text renamed .wav": (cover(text, project), "not an audio file this machine can decode"),
        "ten-minute cover": (cover(ten_minutes, project), "the service takes at most 240 s"),
        "section past the end": (
            replace(short, project, 4.0, 9.0),
            "4..9 s ends after the item, which ends at 6 s on the timeline",
        ),
        "project under a file": (cover(short, folder_file / "song"), "is a file, not a folder"),
    }


@pytest.mark.parametrize(
    "case",
    ["text renamed .wav", "ten-minute cover", "section past the end", "project under a file"],
)
async def test_what_the_world_tells_is_judged_before_a_job_exists(
    emulator: EmulatorServer, tmp_path: Path, case: str
) -> None:
    data, said = cases(tmp_path)[case]
    request = parse_request(data, Defaults("FUZZ-2.0", MODELS, str(tmp_path / "default")))
    async with pipeline_runner(emulator, tmp_path) as runner:
        with pytest.raises(BridgeError) as caught:
            runner.submit(request)
        assert runner.deps.journal.jobs() == []
    assert said in explain(caught.value)


def test_a_disk_without_room_for_the_results_is_refused_naming_the_space(tmp_path: Path) -> None:
    (issue,) = room_issues(tmp_path / "song", needed=10**18)
    assert issue.field == "project.folder"
    assert "MB free and this job may write up to 1000000000000 MB" in issue.message
    assert room_issues(tmp_path / "song", needed=1) == []
    assert list(tmp_path.iterdir()) == []  # the write probe left nothing


def test_over_osc_each_is_refused_at_once_and_never_journaled(
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    make_emulator: Callable[..., EmulatorServer],
) -> None:
    server = make_emulator()
    config = daemon_config(
        jobs_config, tmp_path, port, osc=f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
    )
    requests = cases(tmp_path)
    with running_daemon(config, server.url, port):
        for data, said in requests.values():
            listener.send(port, "/bridge/job", json.dumps(data))
            address, reason = listener.wait_for("/bridge/rejected")
            assert address == "/bridge/job"
            assert said in reason
    assert listener.of("/bridge/job/accepted") == []
    assert server.stats()["requests"].get("upload", 0) == 0
