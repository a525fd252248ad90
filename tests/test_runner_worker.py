"""A runner's worker never dies: an error outside a job's steps fails that job, journaled
with a message saying what happened, and the queue goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from bridge.emulator.server import EmulatorServer
from bridge.jobs import JobRequest, validate_request
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import Job, JobStatus
from tests.conftest import Quiet, pipeline_runner


def create(project: Path, title: str) -> JobRequest:
    audio = AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),), title=title)
    return validate_request(JobRequest(audio, project=str(project)), ("FUZZ-2.0",))


def progress_for(job: Job) -> Quiet:
    # A stand-in for any fault between taking a job and running its steps.
    if job.request.audio.title == "broken":
        raise RuntimeError("the progress display is gone")
    return Quiet()


async def test_an_error_outside_the_steps_fails_that_job_and_the_queue_goes_on(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator()
    finished: list[Job] = []
    async with pipeline_runner(
        server, tmp_path, progress=progress_for, max_running=1, on_finished=finished.append
    ) as runner:
        broken = runner.submit(create(tmp_path / "song", "broken"))
        fine = runner.submit(create(tmp_path / "song", "fine"))
        done = await asyncio.wait_for(runner.run_until_idle(), 20)
        journaled = runner.deps.journal.get(broken.id)
        assert not runner.deps.journal.running_elsewhere(broken.id)
    assert done[fine.id].status == JobStatus.COMPLETED
    assert journaled.status == JobStatus.FAILED
    assert journaled.error == "internal error: RuntimeError: the progress display is gone"
    assert done[broken.id] == journaled
    assert [job.id for job in finished] == [broken.id, fine.id]
