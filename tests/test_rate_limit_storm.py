"""A storm of 429s: six of ten requests refused, and every job still completes.

A request the service answers with 429 was not acted on, so it is free to repeat: the
client waits it out for the job's patience instead of giving up after a few attempts,
never creates a task twice, and tells whoever watches the job of each wait.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bridge.api import RetryPolicy
from bridge.emulator.server import EmulatorServer
from bridge.jobs import ClipPlacement, JobRequest, Selection, validate_request
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import Job, JobStatus
from tests.conftest import Quiet, pipeline_runner

MODELS = ("FUZZ-2.0",)
# Today's number of attempts for other failures; only the waits are short, for the test.
STORM_RETRY = RetryPolicy(max_attempts=6, base=0.005, cap=0.02, patience=120.0)


class Waits(Quiet):
    """Progress that keeps every wait a job was told of."""

    def __init__(self, seen: list[tuple[str, str, float, str]], job: Job) -> None:
        self._seen = seen
        self._id = job.id

    def waiting(self, step: str, seconds: float, reason: str) -> None:
        self._seen.append((self._id, step, seconds, reason))


def requests(project: Path, clip: Path) -> list[JobRequest]:
    creates = [
        JobRequest(
            AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),), title=f"song {n}"),
            project=str(project),
            sample_rate=None,
            selection=Selection(4.0 * n, 4.0 * n + 8.0),
        )
        for n in range(3)
    ]
    placed = ClipPlacement(str(clip), item_position=10.0, take_offset=0.0, length=6.0)
    replace = JobRequest(
        AudioRequest("replace_music", "FUZZ-2.0", (Sound("strings", 0.5),)),
        str(project),
        48000,
        placed,
        Selection(11.0, 13.0),
    )
    return [validate_request(request, MODELS) for request in [*creates, replace]]


async def test_every_job_completes_when_six_in_ten_requests_are_refused_with_429(
    make_emulator: Callable[..., EmulatorServer], tone: Callable[..., Path], tmp_path: Path
) -> None:
    server = make_emulator(rate_429=0.6, retry_after=0.005, seed=7)
    seen: list[tuple[str, str, float, str]] = []
    project = tmp_path / "song"
    async with pipeline_runner(
        server,
        tmp_path,
        retry=STORM_RETRY,
        progress=lambda job: Waits(seen, job),
        max_running=4,
    ) as runner:
        jobs = [runner.submit(request) for request in requests(project, tone(6.0))]
        finished = await runner.run_until_idle()
    for job in jobs:
        assert finished[job.id].status == JobStatus.COMPLETED, finished[job.id].error
    stats = server.stats()
    assert stats["faults"]["429"] >= 30
    assert server.created("create_music") == 3  # each create sent and billed once
    assert server.created("replace_music") == 1
    assert server.created("upload") == 1
    assert {job_id for job_id, *_ in seen} == {job.id for job in jobs}  # every job told
    assert all(reason.endswith("the service asked to wait (429)") for *_, reason in seen)
    assert {step for _, step, _, _ in seen} >= {"generate", "download"}
