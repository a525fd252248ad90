"""Polling and retries as units: a fake clock and sleep, httpx.MockTransport. No real waiting."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bridge.api import PollPlan, ProducerClient, RetryPolicy
from bridge.api.polling import poll
from bridge.api.results import parse_clips
from bridge.api.retry import (
    MAX_RETRY_AFTER,
    Retryable,
    parse_retry_after,
    reporting_waits,
    with_retries,
)
from bridge.errors import (
    AuthError,
    BadRequestError,
    ConnectionFailed,
    PollDeadlineError,
    RateLimitedError,
    ServerError,
    SubmitUncertainError,
    TaskFailedError,
)
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.results import TaskStatus

KEY = "sk-unit-test-key-0123456789"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def statuses(*names: str) -> Callable[[], Any]:
    remaining = list(names)

    async def fetch() -> TaskStatus:
        name = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return TaskStatus(task_id="t1", status=name)

    return fetch


async def test_polling_backs_off_from_the_interval_to_the_cap() -> None:
    clock = FakeClock()
    plan = PollPlan(interval=3.0, max_interval=10.0, backoff=2.0, deadline=1000.0)
    fetch = statuses("pending", "pending", "processing", "processing", "processing", "completed")
    final = await poll(fetch, plan, task_id="t1", now=clock, sleep=clock.sleep)
    assert final.status == "completed"
    assert clock.sleeps == [3.0, 6.0, 10.0, 10.0, 10.0]


async def test_each_change_of_status_is_reported_once() -> None:
    clock = FakeClock()
    seen: list[str] = []
    fetch = statuses("pending", "pending", "assigned", "processing", "processing", "completed")
    await poll(
        fetch,
        PollPlan(),
        task_id="t1",
        now=clock,
        sleep=clock.sleep,
        on_status=lambda s: seen.append(s.status),
    )
    assert seen == ["pending", "assigned", "processing", "completed"]


@pytest.mark.parametrize("terminal", ["completed", "failed", "cancelled", "timeout"])
async def test_polling_stops_on_every_terminal_status(terminal: str) -> None:
    clock = FakeClock()
    final = await poll(
        statuses("pending", terminal), PollPlan(), task_id="t1", now=clock, sleep=clock.sleep
    )
    assert final.status == terminal
    assert len(clock.sleeps) == 1


async def test_polling_gives_up_at_the_deadline_without_oversleeping() -> None:
    clock = FakeClock()
    plan = PollPlan(interval=3.0, max_interval=15.0, backoff=1.5, deadline=20.0)
    with pytest.raises(PollDeadlineError) as caught:
        await poll(statuses("processing"), plan, task_id="t9", now=clock, sleep=clock.sleep)
    assert caught.value.task_id == "t9"
    assert clock.now == pytest.approx(20.0)
    assert "taskId=t9" in str(caught.value)


def test_backoff_has_full_jitter_below_an_exponential_ceiling() -> None:
    policy = RetryPolicy(max_attempts=6, base=0.5, cap=4.0)
    assert [policy.delay(n, lambda: 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.delay(3, lambda: 0.25) == 0.5


def test_retry_after_wins_over_a_shorter_backoff_and_is_capped() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0)
    assert policy.delay(1, lambda: 1.0, retry_after=7.0) == 7.0
    assert policy.delay(1, lambda: 1.0, retry_after=10_000.0) == MAX_RETRY_AFTER


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Tue, 24 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_with_retries_waits_the_policy_between_attempts_until_one_succeeds() -> None:
    clock = FakeClock()
    outcomes: list[Exception | str] = [ValueError("busy"), ValueError("busy"), "done"]

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise Retryable(outcome, retry_after=3.0 if len(outcomes) == 1 else None)
        return outcome

    policy = RetryPolicy(max_attempts=3, base=1.0, cap=8.0)
    result = await with_retries(attempt, policy, what="unit", sleep=clock.sleep, random=lambda: 1.0)
    assert result == "done"
    assert clock.sleeps == [1.0, 3.0]  # the backoff, then the longer Retry-After


async def test_with_retries_raises_what_gave_up_makes_of_the_last_attempt() -> None:
    clock = FakeClock()
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise Retryable(ValueError(f"failure {calls}"))

    def gave_up(again: Retryable, attempts: int) -> Exception:
        return RuntimeError(f"{attempts} attempts, last: {again.error}")

    policy = RetryPolicy(max_attempts=2, base=1.0, cap=8.0)
    with pytest.raises(RuntimeError, match="2 attempts, last: failure 2"):
        await with_retries(
            attempt, policy, what="unit", sleep=clock.sleep, random=lambda: 1.0, gave_up=gave_up
        )
    assert calls == 2
    assert clock.sleeps == [1.0]


Handler = Callable[[httpx.Request], httpx.Response]


def unit_client(handler: Handler, clock: FakeClock, attempts: int = 4) -> ProducerClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ProducerClient(
        http,
        base_url="https://api.example.test",
        api_key=KEY,
        retry=RetryPolicy(max_attempts=attempts, base=1.0, cap=8.0, patience=100.0),
        poll_plan=PollPlan(interval=1.0, max_interval=1.0, deadline=100.0),
        now=clock,
        sleep=clock.sleep,
        random=lambda: 1.0,
    )


def create_request() -> AudioRequest:
    return AudioRequest(action="create_music", model="FUZZ-2.0", sounds=(Sound("pop", 0.5),))


async def test_a_429_storm_is_ridden_out_honouring_retry_after() -> None:
    clock, calls = FakeClock(), []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 4:
            return httpx.Response(429, headers={"Retry-After": "3"}, json={"message": "slow down"})
        return httpx.Response(201, json={"taskId": "t1"})

    client = unit_client(handler, clock)
    assert await client.create_audio(create_request()) == "t1"
    assert clock.sleeps == [3.0, 3.0, 4.0]  # Retry-After, then the larger backoff
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in calls)


async def test_rate_limiting_is_waited_out_for_the_whole_patience_not_a_few_attempts() -> None:
    clock = FakeClock()
    client = unit_client(
        lambda r: httpx.Response(429, json={"message": "quota"}), clock, attempts=3
    )
    with pytest.raises(RateLimitedError, match=r"kept answering 429 .* for 100 s, 15 attempts"):
        await client.task("t1")
    assert clock.sleeps == [1.0, 2.0, 4.0] + [8.0] * 11  # far more than 3 attempts
    assert clock.now <= 100.0  # and never past the patience


async def test_429s_do_not_use_up_the_attempts_other_failures_have() -> None:
    clock, answers = FakeClock(), [429] * 5 + [503, 503, 200]

    def handler(request: httpx.Request) -> httpx.Response:
        code = answers.pop(0)
        return httpx.Response(code, json={"taskId": "t1", "status": "pending", "message": "x"})

    status = await unit_client(handler, clock, attempts=3).task("t1")
    assert status.status == "pending"
    assert answers == []


async def test_each_wait_is_told_to_whoever_watches_the_job() -> None:
    clock, answers = FakeClock(), [429, 429, 200]
    told: list[tuple[float, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        code = answers.pop(0)
        headers = {"Retry-After": "5"} if code == 429 else {}
        return httpx.Response(code, headers=headers, json={"taskId": "t1", "status": "pending"})

    with reporting_waits(lambda seconds, why: told.append((seconds, why))):
        await unit_client(handler, clock).task("t1")
    assert told == [(5.0, "GET /producer/tasks: the service asked to wait (429)")] * 2


async def test_status_lookups_retry_5xx_but_creates_do_not() -> None:
    clock, calls = FakeClock(), []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            return httpx.Response(503, json={"message": "busy"})
        if request.method == "GET":
            return httpx.Response(200, json={"taskId": "t1", "status": "pending"})
        return httpx.Response(502, text="bad gateway")

    client = unit_client(handler, clock)
    assert (await client.task("t1")).status == "pending"
    with pytest.raises(ServerError, match="bad gateway"):
        await client.stems("a1")
    assert calls == ["GET", "GET", "POST"]


async def test_a_create_whose_answer_never_came_is_not_repeated() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(SubmitUncertainError) as caught:
        await unit_client(handler, FakeClock()).create_audio(create_request())
    assert len(calls) == 1
    assert "may pay twice" in str(caught.value)
    assert caught.value.endpoint == "audios"


async def test_a_create_refused_at_connect_is_repeated_because_it_never_left() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(201, json={"taskId": "t7"})

    assert await unit_client(handler, FakeClock()).upload("https://x.test/a.wav") == "t7"
    assert len(calls) == 3


async def test_connection_failures_are_reported_once_attempts_run_out() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ConnectionFailed, match="cannot reach"):
        await unit_client(handler, FakeClock(), attempts=2).task("t1")


async def test_status_falls_back_to_post_when_get_is_refused_and_remembers() -> None:
    methods = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        if request.method == "GET":
            return httpx.Response(405)
        assert json.loads(request.content) == {"taskId": "t1"}
        return httpx.Response(200, json={"taskId": "t1", "status": "processing"})

    client = unit_client(handler, FakeClock())
    await client.task("t1")
    await client.task("t1")
    assert methods == ["GET", "POST", "POST"]


async def test_a_failed_task_carries_its_code_ids_and_message() -> None:
    body = {
        "taskId": "t1",
        "status": "failed",
        "errorCode": 4001,
        "errorMessage": "Audio source not found",
        "traceId": "tr-9",
    }
    client = unit_client(lambda r: httpx.Response(200, json=body), FakeClock())
    with pytest.raises(TaskFailedError) as caught:
        await client.wait("t1")
    error = caught.value
    assert (error.error_code, error.task_id, error.trace_id) == (4001, "t1", "tr-9")
    assert "Audio source not found" in str(error)


async def test_auth_and_bad_request_errors_say_what_the_service_said_without_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("stems"):
            return httpx.Response(401, json={"message": f"bad token {KEY}"})
        return httpx.Response(400, json={"message": "must be 0..1", "field": "weirdness"})

    client = unit_client(handler, FakeClock())
    with pytest.raises(AuthError) as auth:
        await client.stems("a1")
    assert KEY not in str(auth.value)
    assert "********" in str(auth.value)
    # The key to check is named by the provider the client speaks to (a resumed job's may
    # be another than api.provider's).
    assert "PRODUCER_API_KEY_MOUNTSEA or api.providers.mountsea.key" in str(auth.value)
    with pytest.raises(BadRequestError, match=r"weirdness: must be 0\.\.1"):
        await client.create_audio(create_request())


@pytest.mark.parametrize(
    "result",
    [
        {
            "audioId": "a1",
            "audioUrl": "https://x/a1.mp3",
            "duration": 30,
            "title": "t",
            "lyrics": "la",
        },
        [{"audioId": "a1", "audioUrl": "https://x/a1.mp3", "lyrics": "la"}, {"id": "a2"}],
        {"clips": [{"audioId": "a1", "lyrics": "la"}]},
    ],
)
def test_audio_results_are_read_in_every_plausible_shape(result: Any) -> None:
    clips = parse_clips(result, "t1")
    assert clips[0].audio_id == "a1"
    assert clips[0].extra == {"lyrics": "la"}  # unknown fields are kept


async def test_a_create_that_could_not_be_written_whole_is_repeated() -> None:
    """Half a request is acted on by no service: repeating it cannot pay twice."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.WriteError("Can not write request body", request=request)
        return httpx.Response(201, json={"taskId": "t8"})

    assert await unit_client(handler, FakeClock()).upload("https://x.test/a.wav") == "t8"
    assert len(calls) == 2
