"""The acedata provider through the daemon's doors: kill -9 at the journal points of a `run`
(it resumes on its twin and completes once, its billed create never sent twice behind the
user's back, as under mountsea in tests/test_chaos.py, whose helpers this uses), and jobs
from OSC and the drop folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.emulator.server import EmulatorServer
from bridge.jobs.state import JobStatus
from tests.conftest import emulator_settings
from tests.daemon_harness import OscListener, daemon_config, free_udp_port, running_daemon
from tests.test_chaos import PROJECT_RATE, bridge, jobs_here, killed_at, lost_create, the_job

KILL_POINTS = [
    ("started", "stage", 1),
    ("started", "upload", 1),
    ("intent", "generate", 1),  # the billed create in flight: a person decides
    ("submitted", "generate", 1),
    ("status", "generate", 1),
    ("fact", "generate", 1),
    ("started", "download", 1),
    ("fact", "download", 1),
    ("started", "write", 1),
]


@pytest.fixture
def twin() -> Iterator[EmulatorServer]:
    settings = emulator_settings(latency=0.03).model_copy(update={"provider": "acedata"})
    with EmulatorServer(settings) as server:
        yield server


@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda p: f"{p[0]}-{p[1]}-{p[2]}")
def test_an_acedata_job_killed_at_any_point_completes_paying_once(
    point: tuple[str, str, int],
    jobs_config: Path,
    tmp_path: Path,
    twin: EmulatorServer,
    tone: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRODUCER_API_PROVIDER", "acedata")
    project = tmp_path / "project"
    journal = tmp_path / "data" / "journal.sqlite3"
    clip = tone(6.0, rate=PROJECT_RATE)
    run = bridge(
        jobs_config,
        *("run", "replace_music", "--clip", str(clip), "--position", "12"),
        *("--selection", "13:15", "--prompt", "strings", "--project", str(project)),
        *("--api-url", twin.url),
    )
    assert killed_at(run, point), "the run ended before the kill point"
    lost = lost_create(journal)
    if point == ("intent", "generate", 1):
        assert lost is not None  # this point must exercise the lost-create path
    resumed, resume_err = jobs_here(capsys, jobs_config, twin, "resume")
    job_id, status, error = the_job(journal)
    if lost is not None:
        assert status == JobStatus.NEEDS_ATTENTION, error
        billed = twin.created("replace_music")
        assert billed in (0, 1)  # killed before or after the POST left
        forced, forced_err = jobs_here(capsys, jobs_config, twin, "retry", job_id[:8], "--force")
        assert forced == 0, forced_err
        assert twin.created("replace_music") == billed + 1
    else:
        assert resumed == 0, resume_err
        assert twin.created("replace_music") == 1
    assert the_job(journal)[1] == JobStatus.COMPLETED
    results = project / "ProducerBridge"
    (folder,) = (path for path in results.iterdir() if path.is_dir())
    found = {path.name for path in folder.iterdir() if path.is_file()}
    assert found == {"result.wav", "spliced.wav", "manifest.json"}
    assert not (tmp_path / "data" / "work" / job_id).exists()


def test_the_daemon_runs_acedata_jobs_from_osc_and_the_drop_folder(
    jobs_config: Path,
    tmp_path: Path,
    twin: EmulatorServer,
    tone: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRODUCER_API_PROVIDER", "acedata")  # the daemon inherits it
    with OscListener() as listener:
        port = free_udp_port()
        osc = f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
        config = daemon_config(jobs_config, tmp_path, port, osc=osc)
        project = tmp_path / "project"
        request = {
            "version": 1,
            "action": "replace_music",
            "prompts": [{"text": "sparse piano"}],
            "project": {"folder": str(project), "sampleRate": 48000},
            "clip": {"path": str(tone(6.0)), "itemPosition": 10.0},
            "selection": {"start": 12.0, "end": 14.0},
        }
        with running_daemon(config, twin.url, port):
            listener.send(port, "/bridge/job", json.dumps(request))
            by_osc, _ = listener.wait_for("/bridge/job/accepted")
            tone(4.0, name="dropped.wav").rename(tmp_path / "drop" / "cover_music" / "dropped.wav")
            by_drop, action = listener.wait_for("/bridge/job/accepted")
            assert action == "cover_music"
            for job_id in (by_osc, by_drop):
                _, manifest, *_ = listener.wait_for(
                    "/bridge/job/done", lambda a, j=job_id: a[0] == j
                )
                assert Path(manifest).is_file()
    assert twin.created("replace_music") == 1
    assert twin.created("cover_music") == 1
