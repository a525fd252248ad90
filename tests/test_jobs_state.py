"""The pure job state machine: plans, events in, a new job out, and lost billed creates."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from bridge.errors import JournalError, SubmitUncertainError
from bridge.jobs.model import ClipPlacement, JobOptions, JobRequest, Selection
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import (
    Event,
    EventKind,
    Facts,
    Job,
    JobStatus,
    Step,
    apply,
    attention_for_lost_create,
    lost_billed_create,
    new_job,
    plan,
)

JOB_ID = "0123456789abcdef"
T0 = 1000.0


def create_request(*, stems: bool = False) -> JobRequest:
    return JobRequest(
        AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),)),
        project="/projects/song",
        options=JobOptions(stems=stems),
    )


def edit_request(
    action: str = "cover_music", *, stems: bool = False, audio_id: str | None = None
) -> JobRequest:
    clip = None if audio_id else ClipPlacement("/projects/song/take.wav", 10.0, 2.0, 1.0, 8.0)
    return JobRequest(
        AudioRequest(action, "FUZZ-2.0", (Sound("pop", 0.5),), audio_id=audio_id),
        project="/projects/song",
        clip=clip,
        options=JobOptions(stems=stems),
    )


def job(request: JobRequest | None = None, **changes: Any) -> Job:
    return dataclasses.replace(new_job(JOB_ID, request or create_request(), T0), **changes)


def run(start: Job, *events: Event, at: float = T0) -> Job:
    current = start
    for offset, event in enumerate(events, start=1):
        current = apply(current, event, at + offset)
    return current


def with_facts(base: Job, **facts: Any) -> Job:
    return dataclasses.replace(base, facts=dataclasses.replace(base.facts, **facts))


# plan ----------------------------------------------------------------------------------


def test_create_music_generates_downloads_writes_and_notifies() -> None:
    assert plan(create_request()) == ("generate", "download", "write", "notify")


@pytest.mark.parametrize(
    "action",
    [
        "extend_music",
        "replace_music",
        "cover_music",
        "swap_music_sound",
        "swap_music_vocals",
        "music_variation",
    ],
)
def test_an_edit_of_a_clip_stages_and_uploads_it_first(action: str) -> None:
    assert plan(edit_request(action)) == (
        "stage",
        "upload",
        "generate",
        "download",
        "write",
        "notify",
    )


def test_the_stems_option_splits_stems_after_the_download() -> None:
    assert plan(edit_request(stems=True)) == (
        "stage",
        "upload",
        "generate",
        "download",
        "stems",
        "write",
        "notify",
    )
    assert plan(create_request(stems=True)) == ("generate", "download", "stems", "write", "notify")


def test_an_edit_of_an_uploaded_audio_id_skips_stage_and_upload() -> None:
    assert plan(edit_request(audio_id="a1")) == ("generate", "download", "write", "notify")


def test_a_job_knows_its_remaining_steps() -> None:
    started = run(
        job(edit_request()),
        Event("started", step="stage"),
        Event("done", step="stage"),
        Event("done", step="upload"),
    )
    assert started.steps == plan(edit_request())
    assert started.remaining() == ("generate", "download", "write", "notify")


# apply ---------------------------------------------------------------------------------


def test_a_new_job_is_queued_with_no_step_and_no_facts() -> None:
    fresh = new_job(JOB_ID, create_request(), T0)
    assert (fresh.status, fresh.step, fresh.error, fresh.done) == (JobStatus.QUEUED, None, None, ())
    assert fresh.facts == Facts()
    assert fresh.created_at == fresh.updated_at == T0
    assert fresh.short_id == JOB_ID[:8]


def test_started_makes_the_job_run_the_step_and_clears_an_old_error() -> None:
    started = apply(job(error="earlier trouble"), Event("started", step="generate"), T0 + 1)
    assert (started.status, started.step, started.error) == (JobStatus.RUNNING, "generate", None)
    again = apply(started, Event("started", step="download"), T0 + 2)
    assert (again.status, again.step) == (JobStatus.RUNNING, "download")


def test_updated_at_follows_the_event_time_and_created_at_stays() -> None:
    later = apply(job(), Event("started", step="generate"), T0 + 42.5)
    assert later.updated_at == T0 + 42.5
    assert later.created_at == T0


def test_an_intent_then_its_answer_moves_the_key_from_intents_to_tasks() -> None:
    sent = apply(job(), Event("intent", key="generate"), T0 + 5)
    assert sent.facts.intents == {"generate": T0 + 5}
    assert sent.facts.tasks == {}
    answered = apply(sent, Event("submitted", key="generate", data={"taskId": "t-1"}), T0 + 6)
    assert answered.facts.intents == {}
    assert answered.facts.tasks == {"generate": "t-1"}


def test_an_answer_leaves_other_intents_in_place() -> None:
    sent = run(job(), Event("intent", key="generate"), Event("intent", key="stems:1"))
    answered = apply(sent, Event("submitted", key="generate", data={"taskId": "t-1"}), T0 + 9)
    assert list(answered.facts.intents) == ["stems:1"]


def test_facts_merge_dict_fields_and_set_the_others() -> None:
    learnt = run(
        job(),
        Event("fact", data={"tasks": {"generate": "t-1"}, "links": {"result:1": "u1"}}),
        Event("fact", data={"tasks": {"stems:1": "s-1"}, "links": {"result:1": "u1b"}}),
        Event("fact", data={"folder": "old", "span": {"start": 2.0, "duration": 8.0}}),
        Event("fact", data={"folder": "results/2024", "clips": [{"audioId": "r1"}]}),
        Event("fact", data={"written": {"a.wav": {"frames": 10}}, "manifest": "m.json"}),
    )
    facts = learnt.facts
    assert facts.tasks == {"generate": "t-1", "stems:1": "s-1"}
    assert facts.links == {"result:1": "u1b"}  # a newer link replaces the older one
    assert facts.folder == "results/2024"
    assert facts.span == {"start": 2.0, "duration": 8.0}
    assert facts.clips == ({"audioId": "r1"},)  # stored as a tuple
    assert facts.written == {"a.wav": {"frames": 10}}
    assert facts.manifest == "m.json"


def test_a_fact_does_not_change_the_job_it_was_applied_to() -> None:
    before = with_facts(job(), tasks={"generate": "t-1"})
    apply(before, Event("fact", data={"tasks": {"stems:1": "s-1"}}), T0 + 1)
    assert before.facts.tasks == {"generate": "t-1"}


@pytest.mark.parametrize("name", ["colour", "intents", "status"])
def test_an_unknown_fact_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        apply(job(), Event("fact", data={name: {}}), T0 + 1)


def test_forgetting_a_failed_task_keeps_it_in_failed_tasks_and_drops_its_links() -> None:
    known = with_facts(
        job(),
        tasks={"generate": "t-1", "stems:1": "s-1"},
        intents={"stems:1": T0},
        links={
            "result:1": "r",
            "stems:1": "s",
            "stems:1:vocals": "v",
            "stems:1:drums": "d",
            "stems:10:vocals": "v10",
        },
    )
    forgotten = apply(known, Event("forget", key="stems:1", data={"failed": True}), T0 + 1)
    assert forgotten.facts.tasks == {"generate": "t-1"}
    assert forgotten.facts.intents == {}
    assert forgotten.facts.failed_tasks == {"stems:1": "s-1"}
    # Its own link and its sub-keys go; another create's links (even stems:10) stay.
    assert forgotten.facts.links == {"result:1": "r", "stems:10:vocals": "v10"}


def test_forgetting_an_expired_link_does_not_count_the_task_as_failed() -> None:
    known = with_facts(job(), tasks={"generate": "t-1"}, links={"generate": "g"})
    forgotten = apply(known, Event("forget", key="generate"), T0 + 1)
    assert forgotten.facts.tasks == {}
    assert forgotten.facts.links == {}
    assert forgotten.facts.failed_tasks == {}


def test_a_step_is_done_once_however_often_it_is_reported() -> None:
    finished = run(
        job(),
        Event("done", step="generate"),
        Event("done", step="download"),
        Event("done", step="generate"),
    )
    assert finished.done == ("generate", "download")


def test_a_task_status_change_is_history_only() -> None:
    started = run(job(), Event("started", step="generate"))
    after = apply(started, Event("status", key="generate", data={"status": "running"}), T0 + 9)
    assert after == dataclasses.replace(started, updated_at=T0 + 9)


def test_completed_clears_the_step_and_error() -> None:
    running = run(job(error="a retried hiccup"), Event("started", step="notify"))
    running = dataclasses.replace(running, error="still shown")
    completed = apply(running, Event("completed"), T0 + 5)
    assert (completed.status, completed.step, completed.error) == (JobStatus.COMPLETED, None, None)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("failed", JobStatus.FAILED),
        ("attention", JobStatus.NEEDS_ATTENTION),
        ("cancelled", JobStatus.CANCELLED),
    ],
)
def test_an_ending_sets_its_status_and_message_and_keeps_the_step(kind: str, status: str) -> None:
    running = run(job(), Event("started", step="generate"))
    ended = apply(running, Event(kind, step="generate", data={"message": "why"}), T0 + 5)
    assert (ended.status, ended.error, ended.step) == (status, "why", "generate")


@pytest.mark.parametrize(
    "status", [JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.NEEDS_ATTENTION]
)
def test_a_stopped_job_can_be_retried_and_keeps_its_intents(status: str) -> None:
    stopped = with_facts(
        job(status=status, error="boom", step="generate", done=("generate",)),
        intents={"generate": T0},
        tasks={"stems:1": "s-1"},
    )
    retried = apply(stopped, Event("retried"), T0 + 1)
    assert (retried.status, retried.error) == (JobStatus.QUEUED, None)
    assert retried.done == ("generate",)  # finished work is not repeated
    assert retried.facts.intents == {"generate": T0}  # a lost create still blocks
    assert retried.facts.tasks == {"stems:1": "s-1"}


def test_a_forced_retry_clears_the_intents_and_nothing_else() -> None:
    stopped = with_facts(
        job(status=JobStatus.NEEDS_ATTENTION), intents={"generate": T0}, tasks={"upload": "u-1"}
    )
    retried = apply(stopped, Event("retried", data={"force": True}), T0 + 1)
    assert retried.status == JobStatus.QUEUED
    assert retried.facts.intents == {}
    assert retried.facts.tasks == {"upload": "u-1"}
    assert lost_billed_create(retried) is None


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.COMPLETED])
def test_only_failed_cancelled_or_stuck_jobs_retry(status: str) -> None:
    with pytest.raises(ValueError, match=f"is {status}"):
        apply(job(status=status), Event("retried"), T0 + 1)


@pytest.mark.parametrize(
    "status",
    [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.NEEDS_ATTENTION],
)
def test_a_finished_or_stopped_job_cannot_start_a_step(status: str) -> None:
    with pytest.raises(ValueError, match="cannot start a step"):
        apply(job(status=status), Event("started", step="generate"), T0 + 1)


def test_an_unknown_event_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kind 'exploded'"):
        apply(job(), Event("exploded"), T0 + 1)


def test_every_status_a_job_can_reach_is_listed() -> None:
    reached = {
        run(job(), Event("started", step="generate")).status,
        run(job(), Event("completed")).status,
        run(job(), Event("failed")).status,
        run(job(), Event("attention")).status,
        run(job(), Event("cancelled")).status,
        run(job(), Event("failed"), Event("retried")).status,
    }
    assert reached == set(JobStatus)


def test_the_names_the_journal_and_the_replies_carry_are_plain_strings() -> None:
    assert [str(status) for status in JobStatus] == [
        "queued",
        "running",
        "completed",
        "failed",
        "cancelled",
        "needs_attention",
    ]
    assert [str(step) for step in Step] == [
        "stage",
        "upload",
        "generate",
        "download",
        "stems",
        "write",
        "notify",
    ]
    assert {str(kind) for kind in EventKind} == {
        "queued",
        "started",
        "intent",
        "submitted",
        "status",
        "fact",
        "forget",
        "done",
        "failed",
        "attention",
        "cancelled",
        "completed",
        "retried",
    }
    assert json.dumps({"status": JobStatus.NEEDS_ATTENTION}) == '{"status": "needs_attention"}'


# lost billed creates -------------------------------------------------------------------


@pytest.mark.parametrize("key", ["generate", "stems:1", "stems:2"])
def test_a_billed_create_sent_without_a_recorded_answer_is_lost(key: str) -> None:
    sent = apply(job(), Event("intent", key=key), T0 + 1)
    assert lost_billed_create(sent) == key


@pytest.mark.parametrize("key", ["upload", "result:1"])
def test_an_unbilled_request_without_an_answer_is_not_reported(key: str) -> None:
    sent = apply(job(), Event("intent", key=key), T0 + 1)
    assert lost_billed_create(sent) is None


@pytest.mark.parametrize("key", ["generate", "stems:1"])
def test_once_the_answer_is_recorded_nothing_is_lost(key: str) -> None:
    answered = run(
        job(), Event("intent", key=key), Event("submitted", key=key, data={"taskId": "t"})
    )
    assert lost_billed_create(answered) is None


def test_a_fresh_job_has_no_lost_create() -> None:
    assert lost_billed_create(job()) is None


def test_the_attention_for_a_lost_create_says_what_happened_and_how_to_force_it() -> None:
    running = run(job(), Event("started", step="generate"), Event("intent", key="generate"))
    event = attention_for_lost_create(running, "generate")
    message = event.data["message"]
    assert (event.kind, event.key, event.step) == ("attention", "generate", "generate")
    assert "generate request" in message
    assert "billed" in message
    assert f"producer-bridge jobs retry {JOB_ID[:8]} --force" in message

    stuck = apply(running, event, T0 + 10)
    assert stuck.status == JobStatus.NEEDS_ATTENTION
    assert stuck.error == message


def test_the_attention_for_a_lost_create_names_its_cause() -> None:
    running = run(job(), Event("started", step="stems"), Event("intent", key="stems:1"))
    event = attention_for_lost_create(running, "stems:1", TimeoutError("no answer came back"))
    message = event.data["message"]
    assert "the stems:1 request could not be confirmed: no answer came back" in message
    assert "billed" in message
    assert "--force" in message


def test_the_attention_for_a_lost_create_says_each_thing_once() -> None:
    running = run(job(), Event("started", step="generate"), Event("intent", key="generate"))
    cause = SubmitUncertainError(
        "POST /producer/audios was sent but no answer came (ReadTimeout); the task may exist "
        "and repeating it may pay twice, so it was not repeated"
    )
    message = attention_for_lost_create(running, "generate", cause).data["message"]
    assert message.count("was sent") == 1
    assert message.startswith("the generate request could not be confirmed: POST /producer/")


# JSON round trip -----------------------------------------------------------------------


def every_fact() -> Facts:
    return Facts(
        work={"upload": "work/upload.wav", "result:1": "work/result1.wav"},
        staged_url="http://127.0.0.1:8765/clips/tok/clip.wav",
        span={"start": 2.0, "duration": 8.0},
        tasks={"upload": "u-1", "generate": "t-1"},
        intents={"stems:1": 1234.5},
        audio_ids={"upload": "a-0", "result:1": "a-1"},
        links={"result:1": "https://cdn/r1.wav", "stems:1:vocals": "https://cdn/v.wav"},
        clips=({"audioId": "a-1", "title": "Song", "duration": 31.5},),
        folder="Producer/2024-05-01 cover",
        written={"Producer/result.wav": {"frames": 48000, "rate": 48000, "channels": 2}},
        manifest="Producer/2024-05-01 cover/manifest.json",
        failed_tasks={"stems:2": "s-2"},
    )


def full_edit_request() -> JobRequest:
    audio = AudioRequest(
        "replace_music",
        "FUZZ-2.0 Pro",
        (Sound("warm synths", 0.8),),
        lyrics="la la",
        title="Take 3",
        lyrics_strength=0.5,
        weirdness=0.25,
        seed=7,
        make_instrumental=False,
        replace_start=2.0,
        replace_end=5.0,
    )
    return JobRequest(
        audio,
        project="/projects/song",
        sample_rate=48000,
        clip=ClipPlacement("/projects/song/take.wav", 10.0, 2.0, 0.5, 8.0),
        selection=Selection(12.0, 15.0),
        options=JobOptions(stems=True, fetch_format="mp3", subtype="FLOAT"),
    )


def full_create_request() -> JobRequest:
    audio = AudioRequest(
        "create_music",
        "FUZZ-2.0",
        (Sound("pop", 0.5, 0.0, 10.0), Sound("metal", -0.5)),
        make_instrumental=True,
    )
    return JobRequest(audio, project="/projects/song", selection=Selection(4.0, 8.0))


@pytest.mark.parametrize("request_", [full_edit_request(), full_create_request()])
def test_a_job_with_every_kind_of_fact_survives_a_json_round_trip(request_: JobRequest) -> None:
    original = Job(
        id=JOB_ID,
        request=request_,
        created_at=T0,
        updated_at=T0 + 12.25,
        status=JobStatus.NEEDS_ATTENTION,
        step="stems",
        error="the stems:1 request could not be confirmed: ...",
        done=("stage", "upload", "generate", "download"),
        facts=every_fact(),
    )
    text = json.dumps(original.to_json())
    restored = Job.from_json(json.loads(text))
    assert restored == original
    assert restored.facts.clips == original.facts.clips  # a tuple again, not a list
    assert json.loads(json.dumps(restored.to_json())) == json.loads(text)
    # The text the journal stores says the same as `to_json`, and reads back alike.
    assert json.loads(original.to_text()) == json.loads(text)
    assert Job.from_json(json.loads(original.to_text())) == original


def test_facts_from_json_ignore_fields_they_do_not_know() -> None:
    data = {**Facts(tasks={"generate": "t"}).to_json(), "fromTheFuture": 1}
    assert Facts.from_json(data) == Facts(tasks={"generate": "t"})


def test_an_empty_job_survives_a_json_round_trip() -> None:
    original = job()
    assert Job.from_json(json.loads(json.dumps(original.to_json()))) == original


def test_a_job_journaled_before_import_targets_and_sources_reads_back() -> None:
    row = {
        "id": JOB_ID,
        "request": {
            "request": {"action": "extend_music", "model": "FUZZ-2.0", "continueAt": 8},
            "project": {"folder": "/projects/song", "sampleRate": 48000},
            "clip": {
                "path": "/projects/song/take.wav",
                "itemPosition": 10,
                "takeOffset": 0,
                "playrate": 1,
                "length": None,
            },
            "selection": None,
            "options": {"stems": False, "fetchFormat": "wav", "subtype": "PCM_24"},
        },
        "createdAt": T0,
        "updatedAt": T0,
        "status": "running",
        "step": "upload",
        "error": None,
        "done": ["stage"],
        "facts": {"work": {"upload": "work/upload.flac"}, "clips": []},
    }
    job = Job.from_json(row)
    assert (job.status, job.step, job.done) == (JobStatus.RUNNING, Step.UPLOAD, (Step.STAGE,))
    assert job.request.options.import_as == "takes"
    assert job.request.source is None
    assert job.request.clip == ClipPlacement("/projects/song/take.wav", 10.0, 0.0, 1.0, None)
    assert job.request.audio.continue_at == 8.0
    assert job.facts == Facts(work={"upload": "work/upload.flac"})


def test_a_job_row_it_cannot_read_names_every_field_at_once() -> None:
    row = job().to_json()
    row["status"] = "exploded"
    row["facts"]["intents"] = {"generate": "soon"}
    del row["request"]["options"]
    with pytest.raises(JournalError) as caught:
        Job.from_json(row)
    assert "status: " in caught.value.message
    assert "facts.intents.generate: must be a number" in caught.value.message
    assert "request.options: is required" in caught.value.message
