"""The journaled pipeline against the real emulator over loopback: placement, several
clips, the queue's order and limit, cancel, and refusals of paths outside the project."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import soundfile as sf

from bridge.daemon.feedback import Feedback, Origin
from bridge.daemon.intake import Intake
from bridge.emulator.server import EmulatorServer
from bridge.errors import ProjectError
from bridge.jobs import ClipPlacement, JobOptions, JobRequest, Selection, validate_request
from bridge.jobs.request import ACTIONS, AudioRequest, Sound
from bridge.jobs.results import TaskStatus
from bridge.jobs.state import Job, JobStatus, lost_billed_create, plan
from bridge.jobs.wire import Defaults, parse_request
from bridge.journal import Journal
from bridge.pipeline import JobRunner
from bridge.project import schema
from tests.conftest import TaskPolls, emulator_settings, pipeline_runner
from tests.waiting import wait_until_async

MODELS = ("FUZZ-2.0",)
EMULATOR_RATE = 44100


class Recorder:
    """Progress that remembers which steps started, in order."""

    def __init__(self, log: list[tuple[str, str]], job: Job) -> None:
        self._log = log
        self._id = job.id

    def step(self, step: str, detail: str) -> None:
        self._log.append((self._id, step))

    def task(self, step: str, status: TaskStatus) -> None:
        return None

    def transfer(self, step: str, done: int, total: int | None) -> None:
        return None

    def waiting(self, step: str, seconds: float, reason: str) -> None:
        return None

    def finished(self, step: str, detail: str) -> None:
        self._log.append((self._id, f"{step} done"))


@asynccontextmanager
async def runner_for(
    server: EmulatorServer,
    tmp_path: Path,
    *,
    max_running: int = 2,
    roots: tuple[Path, ...] | None = None,
    log: list[tuple[str, str]] | None = None,
    notices: list[Job] | None = None,
    **options: Any,
) -> AsyncIterator[JobRunner]:
    steps = [] if log is None else log

    async def notify(job: Job) -> None:
        if notices is not None:
            notices.append(job)

    async with pipeline_runner(
        server,
        tmp_path,
        roots=roots,
        notify=notify,
        progress=lambda job: Recorder(steps, job),
        max_running=max_running,
        **options,
    ) as runner:
        yield runner


def edit(
    action: str,
    clip: ClipPlacement,
    project: Path,
    *,
    rate: int | None = 48000,
    selection: Selection | None = None,
    **fields: Any,
) -> JobRequest:
    audio = AudioRequest(action, "FUZZ-2.0", (Sound("strings", 0.5),), **fields)
    request = JobRequest(audio, str(project), rate, clip, selection)
    return validate_request(request, MODELS)


def create(project: Path, *, title: str = "song", selection: Selection | None = None) -> JobRequest:
    audio = AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),), title=title)
    return validate_request(
        JobRequest(audio, project=str(project), sample_rate=None, selection=selection), MODELS
    )


def journaled(runner: JobRunner, job: Job) -> Job:
    """The job as its journal has it now (the journal is the only signal of a step)."""
    return runner.deps.journal.get(job.id)


def slow_emulator() -> EmulatorServer:
    """Tasks that take 30 s: long enough to be cancelled while polled."""
    return EmulatorServer(emulator_settings().model_copy(update={"task_seconds": 30.0})).start()


def manifest_of(project: Path, job: Job) -> dict[str, Any]:
    assert job.facts.manifest is not None
    data: dict[str, Any] = json.loads((project / job.facts.manifest).read_text())
    jsonschema.Draft202012Validator(schema()).validate(data)
    return data


async def test_an_offset_clip_is_cut_uploaded_and_its_result_placed_at_the_item_start(
    make_emulator: Callable[..., EmulatorServer], tone: Callable[..., Path], tmp_path: Path
) -> None:
    server = make_emulator()
    source = tone(12.0, rate=96000)
    clip = ClipPlacement(str(source), item_position=30.0, take_offset=2.5, length=4.0)
    project = tmp_path / "song"
    async with runner_for(server, tmp_path) as runner:
        job = runner.submit(edit("cover_music", clip, project, rate=48000, cover_strength=0.5))
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    (entry,) = manifest_of(project, finished)["files"]
    assert entry["position"] == {"seconds": 30.0, "samples": 30 * 48000}
    assert (entry["sampleRate"], entry["playrate"]) == (48000, 1.0)
    info = sf.info(str(project / entry["path"]))
    assert (info.samplerate, info.subtype, info.frames) == (48000, "PCM_24", 4 * 48000)
    assert entry["lengthSamples"] == info.frames


async def test_a_faster_playrate_uploads_more_source_and_asks_the_daw_to_play_it_faster(
    make_emulator: Callable[..., EmulatorServer], tone: Callable[..., Path], tmp_path: Path
) -> None:
    server = make_emulator()
    source = tone(20.0)
    clip = ClipPlacement(str(source), item_position=5.0, take_offset=1.0, playrate=2.0, length=3.0)
    project = tmp_path / "song"
    request = edit("replace_music", clip, project, rate=None, selection=Selection(6.0, 7.0))
    assert (request.audio.replace_start, request.audio.replace_end) == (2.0, 4.0)
    async with runner_for(server, tmp_path) as runner:
        job = runner.submit(request)
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    files = manifest_of(project, finished)["files"]
    # No project rate: the result keeps the emulator's 44.1 kHz, the spliced file the
    # original's 48 kHz. 3 s on the timeline at playrate 2 is 6 s of source.
    rates = {"result": EMULATOR_RATE, "spliced": 48000}
    assert [entry["kind"] for entry in files] == list(rates)
    for entry in files:
        rate = rates[entry["kind"]]
        assert (entry["sampleRate"], entry["lengthSamples"]) == (rate, 6 * rate)
        assert entry["position"] == {"seconds": 5.0, "samples": 5 * rate}
        assert entry["playrate"] == 2.0


async def test_create_lands_at_the_selection_start_and_several_clips_get_numbered_files(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator(clips_per_result=2)
    project = tmp_path / "song"
    request = create(project, selection=Selection(64.0, 96.0))
    request = JobRequest(
        request.audio, request.project, 48000, None, request.selection, JobOptions(stems=True)
    )
    async with runner_for(server, tmp_path) as runner:
        job = runner.submit(request)
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    manifest = manifest_of(project, finished)
    names = sorted(
        Path(entry["path"]).relative_to(manifest["folder"]).as_posix()
        for entry in manifest["files"]
    )
    stems = [
        f"stems_{i}/{name}.wav" for i in (1, 2) for name in ("bass", "drums", "other", "vocals")
    ]
    assert names == sorted(["result_1.wav", "result_2.wav", *stems])
    assert {entry["clip"] for entry in manifest["files"]} == {1, 2}
    assert all(entry["position"]["seconds"] == 64.0 for entry in manifest["files"])
    assert all(entry["position"]["samples"] == 64 * 48000 for entry in manifest["files"])
    assert Path(manifest["folder"]).name.endswith(f"_create_music_song_{job.short_id}")


async def test_jobs_start_in_order_and_never_more_than_the_limit_at_once(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator()
    log: list[tuple[str, str]] = []
    async with runner_for(server, tmp_path, max_running=2, log=log) as runner:
        jobs = [runner.submit(create(tmp_path / "song", title=f"t{i}")) for i in range(6)]
        finished = await runner.run_until_idle()
    assert all(finished[job.id].status == JobStatus.COMPLETED for job in jobs)
    starts = [job_id for job_id, step in log if step == "generate"]
    assert starts == [job.id for job in jobs]
    running, peak = set(), 0
    for job_id, step in log:
        if step == "generate":
            running.add(job_id)
        if step == "write done":
            running.discard(job_id)
        peak = max(peak, len(running))
    assert peak == 2


async def test_cancel_stops_polling_and_keeps_the_job_for_a_retry(tmp_path: Path) -> None:
    slow = slow_emulator()
    polls = TaskPolls()
    try:
        async with runner_for(slow, tmp_path, transport=polls) as runner:
            job = runner.submit(create(tmp_path / "song"))
            waiting = asyncio.create_task(runner.run_until_idle())
            await wait_until_async(lambda: "generate" in journaled(runner, job).facts.tasks)
            # Whether a first poll was sent yet is up to the scheduler; none may follow.
            assert runner.cancel(job.id)
            sent_before_cancel = polls.sent
            finished = (await waiting)[job.id]
            assert polls.sent == sent_before_cancel
            # And nothing is left that could poll later: the runner's tasks have all ended.
            assert asyncio.all_tasks() == {asyncio.current_task()}
    finally:
        slow.close()
    assert finished.status == JobStatus.CANCELLED
    assert finished.facts.tasks["generate"]  # the paid task id is kept


async def test_a_cancel_asked_by_another_process_stops_the_job(tmp_path: Path) -> None:
    slow = slow_emulator()
    try:
        async with runner_for(slow, tmp_path) as runner:
            job = runner.submit(create(tmp_path / "song"))
            waiting = asyncio.create_task(runner.run_until_idle())
            await wait_until_async(lambda: journaled(runner, job).step == "generate")
            with Journal(tmp_path / "data" / "journal.sqlite3") as other:
                assert other.running_elsewhere(job.id)
                other.request_cancel(job.id)
            finished = (await asyncio.wait_for(waiting, 5))[job.id]
    finally:
        slow.close()
    assert finished.status == JobStatus.CANCELLED


async def test_a_project_outside_the_allowed_roots_is_refused_before_anything_is_paid(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator()
    allowed = tmp_path / "projects"
    async with runner_for(server, tmp_path, roots=(allowed,)) as runner:
        with pytest.raises(ProjectError, match=r"output\.allowed_roots"):
            runner.submit(create(allowed / ".." / "elsewhere"))
        assert runner.deps.journal.jobs() == []
    assert server.created("create_music") == 0


async def test_a_results_folder_symlinked_out_of_the_project_is_refused(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator()
    project, outside = tmp_path / "song", tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    project.mkdir()
    async with runner_for(server, tmp_path) as runner:
        job = runner.submit(create(project))
        # Made after intake (which refuses such a link: tests/test_intake_limits.py).
        (project / "ProducerBridge").symlink_to(outside)
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.FAILED
    assert finished.error is not None
    assert "symlink" in finished.error or "outside" in finished.error
    assert list(outside.iterdir()) == []


async def test_listeners_are_told_once_the_files_are_written(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator()
    notices: list[Job] = []
    async with runner_for(server, tmp_path, notices=notices) as runner:
        job = runner.submit(create(tmp_path / "song"))
        await runner.run_until_idle()
    (told,) = notices
    assert told.id == job.id
    assert told.facts.manifest is not None
    assert (tmp_path / "song" / told.facts.manifest).is_file()


async def test_a_resume_removes_the_work_folder_a_stop_left_after_its_job_completed(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator()
    work = tmp_path / "data" / "work"
    stranger = work / "not-a-job"
    async with runner_for(server, tmp_path) as runner:
        job = runner.submit(create(tmp_path / "song"))
        await runner.run_until_idle()
    # What a stop between the job's completion and the removal of its folder leaves.
    (work / job.id).mkdir()
    (work / job.id / "result_1.mp3").write_bytes(b"ID3")
    stranger.mkdir()
    async with runner_for(server, tmp_path) as runner:
        assert runner.resume() == []
    assert not (work / job.id).exists()
    assert stranger.is_dir()


async def test_a_stop_lets_a_create_in_flight_journal_its_answer_and_leaves_the_job_to_resume(
    tmp_path: Path, make_emulator: Callable[..., EmulatorServer]
) -> None:
    slow = make_emulator(latency=0.5, endpoints=["audios"])  # the create answers in 0.5 s
    finished: list[Job] = []
    async with runner_for(slow, tmp_path, on_finished=finished.append) as runner:
        job = runner.submit(create(tmp_path / "song"))
        async with runner.serving(grace=5.0):
            await wait_until_async(lambda: "generate" in journaled(runner, job).facts.intents)
        stopped = runner.deps.journal.get(job.id)
    # Not failed, not needs_attention: resumed at the next start.
    assert stopped.status == JobStatus.RUNNING
    assert stopped.facts.tasks["generate"]  # the answer came in before the stop
    assert lost_billed_create(stopped) is None
    assert finished == []  # a stop is not an ending
    assert slow.created("create_music") == 1


async def test_serving_runs_jobs_as_they_come_and_keeps_none_of_them(tmp_path: Path) -> None:
    notices: list[Job] = []
    server = EmulatorServer(emulator_settings()).start()
    try:
        async with runner_for(server, tmp_path, notices=notices, keep_finished=False) as runner:
            async with runner.serving():
                for title in ("one", "two", "three"):
                    runner.submit(create(tmp_path / "song", title=title))
                await wait_until_async(lambda: len(notices) == 3)
            assert runner.finished == {}
            assert runner.running == []
    finally:
        server.close()


async def test_a_cancel_while_a_billed_create_is_on_its_way_keeps_its_intent(
    tmp_path: Path, make_emulator: Callable[..., EmulatorServer]
) -> None:
    slow = make_emulator(latency=0.5, endpoints=["audios"])
    async with runner_for(slow, tmp_path) as runner:
        job = runner.submit(create(tmp_path / "song"))
        waiting = asyncio.create_task(runner.run_until_idle())
        await wait_until_async(lambda: "generate" in journaled(runner, job).facts.intents)
        assert runner.cancel(job.id)
        cancelled = (await waiting)[job.id]
    assert cancelled.status == JobStatus.CANCELLED
    # The request may have reached the service: a retry must ask a person first.
    assert lost_billed_create(cancelled) == "generate"


async def test_a_dropped_file_becomes_one_job_however_often_it_is_handed_over(
    tmp_path: Path,
) -> None:
    server = EmulatorServer(emulator_settings()).start()
    try:
        async with runner_for(server, tmp_path) as runner:
            intake = Intake(
                runner,
                Feedback(lambda target, address, args: None),
                defaults=Defaults("FUZZ-2.0", MODELS, str(tmp_path / "song")),
                audio_roots=[tmp_path],
                presets={},
            )
            request = {"version": 1, "action": "create_music", "prompts": [{"text": "pop"}]}
            origin = Origin("drop")
            first = intake.submit(request, origin, source=str(tmp_path / "done" / "a.json"))
            again = intake.submit(request, origin, source=str(tmp_path / "done" / "a.json"))
            other = intake.submit(request, origin, source=str(tmp_path / "done" / "b.json"))
    finally:
        server.close()
    assert again.id == first.id
    assert other.id != first.id
    assert first.request.source == str(tmp_path / "done" / "a.json")


async def test_stems_only_splits_the_clip_itself_and_places_the_stems_at_the_item(
    make_emulator: Callable[..., EmulatorServer], tone: Callable[..., Path], tmp_path: Path
) -> None:
    server = make_emulator()
    clip = ClipPlacement(str(tone(6.0)), item_position=8.0, take_offset=1.0, length=4.0)
    project = tmp_path / "song"
    request = parse_request(
        {
            "version": 1,
            "action": "stems_only",
            "project": {"folder": str(project), "sampleRate": 48000},
            "clip": {"path": clip.path, "itemPosition": 8.0, "takeOffset": 1.0, "length": 4.0},
        },
        Defaults("FUZZ-2.0", MODELS, str(project)),
    )
    assert plan(request) == ("stage", "upload", "generate", "stems", "write", "notify")
    async with runner_for(server, tmp_path) as runner:
        job = runner.submit(request)
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    files = manifest_of(project, finished)["files"]
    assert sorted(entry["kind"] for entry in files) == ["bass", "drums", "other", "vocals"]
    for entry in files:
        assert entry["position"] == {"seconds": 8.0, "samples": 8 * 48000}
        assert entry["lengthSamples"] == 4 * 48000
    assert server.created("stems") == 1
    assert sum(server.created(action) for action in ACTIONS) == 0  # nothing generated
