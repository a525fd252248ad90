"""`producer-bridge jobs`: the table, show, cancel, prune, and retry after a full disk or a
read-only project folder, with real mounts (tmpfs) when the tests run as root."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.emulator.server import EmulatorServer
from bridge.errors import ProjectError
from bridge.jobs import JobRequest
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import Event, Job, JobStatus
from bridge.journal import Journal
from bridge.pipeline.output import write_results


@pytest.fixture
def config(jobs_config: Path) -> Path:
    return jobs_config


def journal_of(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "data" / "journal.sqlite3")


def only_job(tmp_path: Path) -> Job:
    with journal_of(tmp_path) as journal:
        (job,) = journal.jobs()
        return job


def create(config: Path, server: EmulatorServer, project: Path, *extra: str) -> int:
    return main(
        [
            "--config",
            str(config),
            "run",
            "create_music",
            "--prompt",
            "pop",
            "--project",
            str(project),
            "--api-url",
            server.url,
            *extra,
        ]
    )


def jobs(config: Path, *args: str) -> int:
    return main(["--config", str(config), "jobs", *args])


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """A real small filesystem for the project; needs root (as in CI)."""
    mounted: list[Path] = []

    def make(size: str) -> Path:
        folder = tmp_path / "mnt"
        folder.mkdir()
        try:
            mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
        except (OSError, subprocess.CalledProcessError) as exc:
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI must be able to mount a tmpfs (run as root): {exc}")
            pytest.skip(f"mounting a tmpfs needs root: {exc}")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_disk_too_small_for_the_results_is_refused_before_anything_is_paid(
    config: Path,
    tmp_path: Path,
    make_emulator: Callable[..., EmulatorServer],
    tmpfs: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator()
    project = tmpfs("256k")  # a 30 s result at 24 bits needs about 8 MB
    assert create(config, server, project) == 1
    assert "MB free and this job may write up to" in capsys.readouterr().err
    with journal_of(tmp_path) as journal:
        assert journal.jobs() == []
    assert server.created("create_music") == 0


def admitted(tmp_path: Path, project: Path) -> Job:
    """A job intake took while its project had room and could be written."""
    with journal_of(tmp_path) as journal:
        audio = AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),))
        return journal.create(JobRequest(audio, project=str(project)))


def test_a_disk_that_fills_after_intake_fails_the_job_and_retry_finishes_it_unpaid_again(
    config: Path,
    tmp_path: Path,
    make_emulator: Callable[..., EmulatorServer],
    tmpfs: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator()
    project = tmpfs("16m")
    job = admitted(tmp_path, project)
    filler = project / "another program's file"
    # The disk fills while the job waits for the service.
    with filler.open("wb", buffering=0) as full, contextlib.suppress(OSError):
        while True:
            full.write(b"\0" * (1 << 20))
    assert jobs(config, "resume", "--api-url", server.url) == 1
    failed = only_job(tmp_path)
    assert (failed.id, failed.status) == (job.id, JobStatus.FAILED)
    assert failed.error is not None
    assert "no space left" in failed.error
    assert failed.facts.tasks["generate"]  # what was paid for is kept
    written = [p for p in project.rglob("*") if p.is_file() and p.name != "index.jsonl"]
    assert written == [filler]

    filler.unlink()
    assert jobs(config, "retry", job.short_id, "--api-url", server.url) == 0
    done = only_job(tmp_path)
    assert done.status == JobStatus.COMPLETED
    assert server.created("create_music") == 1
    assert done.facts.manifest is not None
    assert (project / done.facts.manifest).is_file()


def test_a_read_only_project_is_refused_at_intake(
    config: Path,
    make_emulator: Callable[..., EmulatorServer],
    tmpfs: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator()
    project = tmpfs("64m")
    mount("-o", "remount,ro", str(project))
    assert create(config, server, project) == 1
    assert "Read-only file system" in capsys.readouterr().err
    assert server.created("create_music") == 0


def test_a_project_made_read_only_after_intake_fails_the_job_and_retry_succeeds_once_writable(
    config: Path,
    tmp_path: Path,
    make_emulator: Callable[..., EmulatorServer],
    tmpfs: Callable[[str], Path],
) -> None:
    server = make_emulator()
    project = tmpfs("64m")
    job = admitted(tmp_path, project)
    mount("-o", "remount,ro", str(project))
    assert jobs(config, "resume", "--api-url", server.url) == 1
    failed = only_job(tmp_path)
    assert failed.status == JobStatus.FAILED
    assert failed.error is not None
    assert "read-only" in failed.error

    mount("-o", "remount,rw", str(project))
    assert jobs(config, "retry", job.short_id, "--api-url", server.url) == 0
    assert only_job(tmp_path).status == JobStatus.COMPLETED
    assert server.created("create_music") == 1


def test_the_table_lists_jobs_and_show_gives_every_step_with_its_ids(
    config: Path,
    tmp_path: Path,
    make_emulator: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator()
    assert create(config, server, tmp_path / "song") == 0
    job = only_job(tmp_path)
    capsys.readouterr()
    assert jobs(config) == 0
    table = capsys.readouterr().out
    assert job.short_id in table
    assert "create_music" in table
    assert "completed" in table
    assert str(tmp_path / "song") in table
    assert jobs(config, "show", job.short_id) == 0
    shown = capsys.readouterr().out
    assert job.facts.tasks["generate"] in shown
    assert job.facts.audio_ids["result:1"] in shown
    for step in ("generate", "download", "write", "notify"):
        assert step in shown
    assert "submitted" in shown


def test_an_unknown_job_is_named_with_how_to_find_the_right_one(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert jobs(config, "show", "deadbeef") == 1
    assert "no job deadbeef: `producer-bridge jobs` lists them" in capsys.readouterr().err


def test_cancel_stops_a_queued_job_and_a_finished_one_cannot_be_cancelled(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with journal_of(tmp_path) as journal:
        queued = journal.create(request(tmp_path))
        done = journal.record(journal.create(request(tmp_path)), Event("completed"))
    assert jobs(config, "cancel", queued.short_id) == 0
    assert "the service has no cancel" in capsys.readouterr().out
    assert jobs(config, "cancel", done.short_id) == 1
    assert "already completed" in capsys.readouterr().err
    with journal_of(tmp_path) as journal:
        assert journal.get(queued.id).status == JobStatus.CANCELLED


def test_prune_forgets_old_finished_jobs_only(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = [time.time() - 10 * 86400]
    with Journal(tmp_path / "data" / "journal.sqlite3", clock=lambda: clock[0]) as journal:
        old_done = journal.record(journal.create(request(tmp_path)), Event("completed"))
        old_queued = journal.create(request(tmp_path))
        clock[0] = time.time()
        new_done = journal.record(journal.create(request(tmp_path)), Event("completed"))
    assert jobs(config, "prune", "--older-than", "7d", "--yes") == 0
    assert "pruned 1 job(s)" in capsys.readouterr().out
    with journal_of(tmp_path) as journal:
        left = {job.id for job in journal.jobs()}
    assert left == {old_queued.id, new_done.id}
    assert old_done.id not in left


def test_prune_needs_an_age_it_understands(config: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        jobs(config, "prune", "--older-than", "a week")
    assert caught.value.code == 2


def test_a_stem_name_from_the_api_that_climbs_out_of_the_folder_is_refused(
    tmp_path: Path,
) -> None:
    with journal_of(tmp_path) as journal:
        job = journal.create(request(tmp_path))
        evil = tmp_path / "evil.wav"
        evil.write_bytes(b"RIFF")
        job = journal.record(
            job,
            Event(
                "fact",
                data={
                    "clips": [{"audioId": "a1", "title": None, "duration": 1.0}],
                    "work": {"result:1": str(evil), "stems:1:../../../escape": str(evil)},
                },
            ),
        )
        with pytest.raises(ProjectError, match="stem name from the API result"):
            write_results(
                job,
                allowed_roots=(tmp_path,),
                results_folder="ProducerBridge",
                record=lambda facts: journal.record(job, Event("fact", data=facts)),
            )
    assert not (tmp_path / "escape.wav").exists()
    assert not list((tmp_path / "song").rglob("*.wav"))


def request(tmp_path: Path) -> JobRequest:
    audio = AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),))
    return JobRequest(audio, project=str(tmp_path / "song"))


def test_resume_with_nothing_unfinished_still_removes_a_completed_jobs_work_folder(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stop between a job's completion and the removal of its work folder leaves one.
    with journal_of(tmp_path) as journal:
        done = journal.record(journal.create(request(tmp_path)), Event("completed"))
        queued_elsewhere = journal.create(request(tmp_path))
        journal.record(queued_elsewhere, Event("cancelled"))
    work = tmp_path / "data" / "work"
    (work / done.id).mkdir(parents=True)
    (work / done.id / "result_1.wav").write_bytes(b"RIFF")
    (work / "not-a-job").mkdir()
    assert jobs(config, "resume") == 0
    assert "no unfinished jobs" in capsys.readouterr().out
    assert sorted(path.name for path in work.iterdir()) == ["not-a-job"]
