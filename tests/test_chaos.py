"""kill -9 at every step boundary and inside steps: nothing lost, nothing paid twice,
nothing half-written.

A real `producer-bridge run` in a subprocess talks to an emulator (with latency) in
this process. The test watches the child's journal and SIGKILLs it right after a
chosen event, so the kill lands in whatever the child does next (an HTTP request,
a download, a file being written). `producer-bridge jobs resume` then finishes it, in this
process (the killed run is the one that has to be a process of its own).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import soundfile as sf

from bridge.__main__ import main
from bridge.emulator.server import EmulatorServer
from bridge.jobs.state import JobStatus, lost_billed_create
from bridge.journal import Journal
from bridge.journal.crash import ENV_KILL_AFTER
from bridge.project import INDEX_NAME, read_index, schema
from bridge.project.index import INDEX_LOCK_NAME
from tests.conftest import emulator_settings

PROJECT_RATE = 48000  # the emulator renders at 44.1 kHz: the write step resamples
STEM_NAMES = ("bass", "drums", "other", "vocals")

# (event kind, step, occurrence): kill right after the child journals that event.
KILL_POINTS = [
    ("started", "stage", 1),
    ("fact", "stage", 1),
    ("started", "upload", 1),
    ("fact", "upload", 1),  # clip staged, upload not sent
    ("intent", "upload", 1),  # upload POST in flight
    ("submitted", "upload", 1),
    ("status", "upload", 1),
    ("fact", "upload", 2),  # audioId known
    ("started", "generate", 1),
    ("intent", "generate", 1),  # the billed create in flight
    ("submitted", "generate", 1),
    ("status", "generate", 1),
    ("fact", "generate", 1),  # clips known
    ("intent", "download", 1),
    ("submitted", "download", 1),
    ("fact", "download", 1),  # link known, fetch in flight
    ("fact", "download", 2),
    ("intent", "stems", 1),
    ("submitted", "stems", 1),
    ("fact", "stems", 1),  # stem links known
    ("fact", "stems", 2),  # one stem fetched, the next in flight
    ("fact", "stems", 4),
    ("started", "write", 1),
    ("fact", "write", 1),  # folder named, first file being written
    ("fact", "write", 2),  # result written, spliced.wav next
    ("fact", "write", 3),  # spliced.wav written, stems next
    ("fact", "write", 5),
    ("fact", "write", 7),  # every file written, manifest next
    ("fact", "write", 8),  # manifest written, index next
    ("started", "notify", 1),
]
# Kills while a create the service may bill is in flight: the job waits for a person.
IN_FLIGHT_BILLED = {("intent", "generate", 1), ("intent", "stems", 1)}


def bridge(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bridge", "--config", str(config), *args]


def jobs_here(
    capsys: pytest.CaptureFixture[str], config: Path, server: EmulatorServer, *args: str
) -> tuple[int, str]:
    """`producer-bridge jobs ARGS --api-url <server>` in this process: (exit code, stderr)."""
    capsys.readouterr()
    code = main(["--config", str(config), "jobs", *args, "--api-url", server.url])
    return code, capsys.readouterr().err


def replace_with_stems(
    config: Path, clip: Path, project: Path, server: EmulatorServer
) -> list[str]:
    """`run` of a replace with stems: every step, a spliced file and four stems."""
    return bridge(
        config,
        "run",
        "replace_music",
        "--clip",
        str(clip),
        "--position",
        "12",
        "--selection",
        "13:15",
        "--prompt",
        "strings",
        "--stems",
        "--sample-rate",
        str(PROJECT_RATE),
        "--project",
        str(project),
        "--api-url",
        server.url,
    )


def killed_at(run: list[str], point: tuple[str, str, int]) -> bool:
    """Run `run` as a process that SIGKILLs itself the moment its journal has committed the
    event (`bridge/journal/crash.py`); False if it ended first."""
    kind, step, occurrence = point
    env = {**os.environ, ENV_KILL_AFTER: f"{kind}:{step}:{occurrence}"}
    child = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        return child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def the_job(journal: Path) -> tuple[str, str, str | None]:
    with Journal(journal) as opened:
        (job,) = opened.jobs()
        return job.id, job.status, job.error


@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda p: f"{p[0]}-{p[1]}-{p[2]}")
def test_a_job_killed_at_any_point_completes_once_with_one_complete_set_of_files(
    point: tuple[str, str, int],
    jobs_config: Path,
    tmp_path: Path,
    make_emulator: Callable[..., EmulatorServer],
    tone: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator(latency=0.03)
    clip = tone(6.0, rate=PROJECT_RATE)
    project = tmp_path / "project"
    journal = tmp_path / "data" / "journal.sqlite3"
    run = replace_with_stems(jobs_config, clip, project, server)
    assert killed_at(run, point), "the run ended before the kill point"
    lost = lost_create(journal)
    if point in IN_FLIGHT_BILLED:
        assert lost is not None  # these points must exercise the lost-create path

    resumed, resume_err = jobs_here(capsys, jobs_config, server, "resume")
    job_id, status, error = the_job(journal)
    if lost is not None:
        # The kill came between the intent and the recorded answer of a billed create.
        assert resumed == 1
        assert status == JobStatus.NEEDS_ATTENTION
        assert error is not None
        assert "may have started (and billed) it" in error
        assert f"jobs retry {job_id[:8]} --force" in error
        billed_before = _billed(server, lost)
        assert billed_before in (0, 1)  # killed before or after the POST left
        refused, refused_err = jobs_here(capsys, jobs_config, server, "retry", job_id[:8])
        assert refused == 1
        assert "--force" in refused_err
        forced, forced_err = jobs_here(capsys, jobs_config, server, "retry", job_id[:8], "--force")
        assert forced == 0, forced_err
        assert _billed(server, lost) == billed_before + 1
    else:
        assert resumed == 0, resume_err
        assert server.created("replace_music") == 1
        assert server.created("stems") == 1
    assert the_job(journal)[1] == JobStatus.COMPLETED
    assert_one_complete_set(project, job_id)
    assert not (tmp_path / "data" / "work" / job_id).exists()


def lost_create(journal: Path) -> str | None:
    """The billed create the journal shows as sent without a recorded answer."""
    with Journal(journal) as opened:
        (job,) = opened.jobs()
        return lost_billed_create(job)


def _billed(server: EmulatorServer, key: str) -> int:
    return server.created("replace_music" if key == "generate" else "stems")


def assert_one_complete_set(project: Path, job_id: str) -> None:
    results = project / "ProducerBridge"
    (entry,) = read_index(results)
    assert entry["jobId"] == job_id
    (folder,) = (path for path in results.iterdir() if path.is_dir())
    manifest = json.loads((folder / "manifest.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(manifest)
    expected = {
        "result.wav",
        "spliced.wav",
        "manifest.json",
        *(f"stems/{name}.wav" for name in STEM_NAMES),
    }
    found = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
    assert found == expected
    # Beside the job's folder only the index and the lock file its appends take.
    assert {path.name for path in results.iterdir()} == {folder.name, INDEX_NAME, INDEX_LOCK_NAME}
    for item in manifest["files"]:
        info = sf.info(str(project / item["path"]))
        assert (info.frames, info.samplerate) == (item["lengthSamples"], PROJECT_RATE)
        assert item["position"] == {"seconds": 12.0, "samples": 12 * PROJECT_RATE}
    hidden = [path for path in project.rglob(".*") if path.name != INDEX_LOCK_NAME]
    assert hidden == [], f"temporary files left: {hidden}"


# Every event the stage and upload steps journal. The service fetches the staged clip a
# while after the upload task is made (0.2 of a task's time), so a kill at any of these
# lands before the fetch, and the URL it fetches dies with the killed process's stager.
STAGE_AND_UPLOAD_POINTS = [
    ("started", "stage", 1),
    ("fact", "stage", 1),  # span and cut known
    ("done", "stage", 1),
    ("started", "upload", 1),
    ("fact", "upload", 1),  # clip staged, upload not sent
    ("intent", "upload", 1),  # upload POST in flight
    ("submitted", "upload", 1),  # upload task known, its fetch not yet made
    ("status", "upload", 1),  # the task is pending
    ("status", "upload", 2),  # the task is fetching the clip
    ("fact", "upload", 2),  # audioId known
    ("done", "upload", 1),
]


@pytest.mark.parametrize("point", STAGE_AND_UPLOAD_POINTS, ids=lambda p: f"{p[0]}-{p[1]}-{p[2]}")
def test_a_job_killed_while_its_clip_is_staged_or_uploaded_resumes_to_completed_paying_once(
    point: tuple[str, str, int],
    jobs_config: Path,
    tmp_path: Path,
    tone: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = emulator_settings(latency=0.03).model_copy(update={"task_seconds": 0.5})
    journal = tmp_path / "data" / "journal.sqlite3"
    project = tmp_path / "project"
    with EmulatorServer(settings) as server:
        run = replace_with_stems(jobs_config, tone(6.0, rate=PROJECT_RATE), project, server)
        assert killed_at(run, point), "the run ended before the kill point"
        resumed, resume_err = jobs_here(capsys, jobs_config, server, "resume")
        job_id, status, error = the_job(journal)
        assert (resumed, status) == (0, JobStatus.COMPLETED), (error, resume_err)
        assert server.created("replace_music") == 1
        assert server.created("stems") == 1
    assert_one_complete_set(project, job_id)


def test_a_download_link_that_expired_while_the_bridge_was_down_is_asked_for_again(
    jobs_config: Path,
    tmp_path: Path,
    make_emulator: Callable[..., EmulatorServer],
    tone: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator(link_ttl=0.3, latency=0.03)
    project = tmp_path / "project"
    journal = tmp_path / "data" / "journal.sqlite3"
    run = bridge(
        jobs_config,
        "run",
        "music_variation",
        "--clip",
        str(tone(4.0)),
        "--prompt",
        "",
        "--project",
        str(project),
        "--api-url",
        server.url,
    )
    assert killed_at(run, ("fact", "download", 1))  # link known, fetch in flight
    time.sleep(0.5)  # the link expires while nothing runs
    resumed, resume_err = jobs_here(capsys, jobs_config, server, "resume")
    assert resumed == 0, resume_err
    assert "expired" in resume_err
    job_id, status, _ = the_job(journal)
    assert status == JobStatus.COMPLETED
    assert server.created("download") == 2
    assert server.created("music_variation") == 1
    with Journal(journal) as opened:
        forgotten = [e.key for e in opened.events(job_id) if e.kind == "forget"]
    assert forgotten == ["result:1"]
