"""A controller's context turned into requests; the OSC argument checks; progress fractions."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config import Config, Preset
from bridge.daemon.context import Context
from bridge.daemon.feedback import Feedback, Origin
from bridge.daemon.osc_api import ROUTES, check_args, parse_signature
from bridge.errors import RequestError
from bridge.jobs import JobOptions, JobRequest, new_job
from bridge.jobs.request import AudioRequest
from bridge.jobs.results import TaskStatus
from bridge.jobs.wire import Defaults, parse_request

CONFIG = Config()
DEFAULTS = Defaults(CONFIG.models.default, CONFIG.models.known(), "/music/p")
DISCO = Preset(action="swap_music_sound", prompt="classic disco", strength=0.9, params={"seed": 4})


def test_a_trigger_by_alias_uses_the_whole_context() -> None:
    context = Context(
        project="/music/song",
        sample_rate=48000,
        clip={"path": "/music/song/take.wav", "itemPosition": 10.0, "length": 20.0},
        selection={"start": 12.0, "end": 16.0},
        prompt="sparse piano",
    )
    context.set_param("strength", 0.7)
    request = parse_request(context.request("replace", {}), DEFAULTS)
    assert request.action == "replace_music"
    assert request.project == "/music/song"
    assert request.sample_rate == 48000
    assert (request.audio.replace_start, request.audio.replace_end) == (2.0, 6.0)
    assert request.audio.sounds[0].text == "sparse piano"
    assert request.audio.sounds[0].strength == 0.7


def test_a_preset_gives_defaults_that_the_context_overrides() -> None:
    context = Context(clip={"path": "/a.wav"})
    from_preset = parse_request(context.request("disco", {"disco": DISCO}), DEFAULTS)
    assert from_preset.action == "swap_music_sound"
    assert from_preset.audio.sounds[0].text == "classic disco"
    assert from_preset.audio.sounds[0].strength == 0.9
    assert from_preset.audio.seed == 4
    context.prompt = "italo disco"
    context.set_param("seed", 9)
    overridden = parse_request(context.request("disco", {"disco": DISCO}), DEFAULTS)
    assert overridden.audio.sounds[0].text == "italo disco"
    assert overridden.audio.sounds[0].strength == 0.9
    assert overridden.audio.seed == 9


def test_a_bare_trigger_runs_the_context_preset() -> None:
    context = Context(clip={"path": "/a.wav"}, preset="disco")
    assert context.request("", {"disco": DISCO})["action"] == "swap_music_sound"
    with pytest.raises(RequestError, match="set one with /bridge/context/preset"):
        Context().request("", {})


def test_create_takes_the_selection_but_never_the_clip() -> None:
    context = Context(clip={"path": "/a.wav"}, selection={"start": 4.0, "end": 8.0}, prompt="x")
    request = context.request("create", {})
    assert "clip" not in request
    assert request["selection"] == {"start": 4.0, "end": 8.0}


def test_unknown_names_are_refused_with_a_suggestion() -> None:
    with pytest.raises(RequestError, match="did you mean 'variation'"):
        Context().request("variaton", {})
    with pytest.raises(RequestError, match="did you mean 'weirdness'"):
        Context().set_param("wierdness", 0.5)


def test_signatures_parse_and_optional_arguments_come_last() -> None:
    args = parse_signature("s:clip f:start [f:end]")
    assert [(a.kind, a.name, a.optional) for a in args] == [
        ("s", "clip", False),
        ("f", "start", False),
        ("f", "end", True),
    ]
    with pytest.raises(ValueError, match="bad signature"):
        parse_signature("[f:start] s:clip")
    for route in ROUTES:
        parse_signature(route.signature)  # every route's own signature is well formed


def test_arguments_are_checked_by_kind_and_count() -> None:
    route = next(r for r in ROUTES if r.address == "/bridge/replace")
    assert check_args(route, ["/a.wav", 1, 2.5, "piano"]) == {
        "clip": "/a.wav",
        "start": 1.0,
        "end": 2.5,
        "prompt": "piano",
    }
    with pytest.raises(RequestError, match="takes 4 argument"):
        check_args(route, ["/a.wav"])
    with pytest.raises(RequestError) as caught:
        check_args(route, [3, "one", 2.0, True])
    assert {issue.field for issue in caught.value.issues} == {"clip", "start", "prompt"}


OSC_ARG = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.floats(width=32),
    st.text(max_size=10),
    st.booleans(),
    st.none(),
    st.binary(max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ROUTES), st.lists(OSC_ARG, max_size=6))
def test_any_argument_list_is_checked_or_refused_by_name(route: Any, values: list[Any]) -> None:
    try:
        found, issues = check_args(route, values), []
    except RequestError as exc:
        found, issues = {}, exc.issues
    assert all(issue.field and issue.message for issue in issues)
    assert set(found) <= {arg.name for arg in route.args}


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[tuple[str, int], str, tuple[Any, ...]]] = []
        self.now = 0.0

    def send(self, target: tuple[str, int], address: str, args: tuple[Any, ...]) -> None:
        self.sent.append((target, address, args))


def a_job(stems: bool = False) -> Any:
    request = JobRequest(
        AudioRequest("create_music", "FUZZ-2.0 Pro"), "/music/p", options=JobOptions(stems=stems)
    )
    return new_job("0123456789abcdef", request, 0.0)


def test_progress_only_grows_and_is_sent_at_most_four_times_a_second() -> None:
    recorder = Recorder()
    feedback = Feedback(recorder.send, reply_to=("127.0.0.1", 9), clock=lambda: recorder.now)
    feed = feedback.progress_for(a_job())
    feed.step("generate", "create_music")
    for done in range(0, 101, 10):
        recorder.now += 0.05
        feed.transfer("generate", done, 100)
    recorder.now += 1
    feed.task("generate", TaskStatus("t", "processing"))
    feed.finished("generate", "1 clip")
    feed.step("download", "x")
    feed.transfer("fetch result_1.wav", 50, 100)
    fractions = [args[2] for _, address, args in recorder.sent if address.endswith("progress")]
    assert fractions == sorted(fractions)
    assert 0 < fractions[-1] < 1
    assert len(fractions) < 8  # eleven transfer reports within half a second were thinned


def test_answers_go_to_the_sender_and_to_the_reply_target() -> None:
    recorder = Recorder()
    feedback = Feedback(recorder.send, reply_to=("127.0.0.1", 9000))
    feedback.answer(Origin("osc", ("127.0.0.1", 5555)), "/bridge/pong", "1")
    feedback.answer(Origin("midi"), "/bridge/ok", "x")
    targets = [(target, address) for target, address, _ in recorder.sent]
    assert sorted(targets[:2]) == [
        (("127.0.0.1", 5555), "/bridge/pong"),
        (("127.0.0.1", 9000), "/bridge/pong"),
    ]
    assert targets[2:] == [(("127.0.0.1", 9000), "/bridge/ok")]


def test_a_finished_job_tells_its_sender_once_and_reaper_imports_completed_ones() -> None:
    recorder = Recorder()
    feedback = Feedback(recorder.send, reaper=("127.0.0.1", 8000), import_action="_RSabc")
    job = dataclasses.replace(a_job(), status="completed")
    feedback.accepted(Origin("osc", ("127.0.0.1", 5555)), job)
    feedback.notify_done(job)
    feedback.finished(job)
    addresses = [address for _, address, _ in recorder.sent]
    assert addresses == ["/bridge/job/accepted", "/bridge/job/done", "/action/str"]
    assert recorder.sent[-1][2] == ("_RSabc",)


# REAPER's default pattern file (OSC/Default.ReaperOSC) runs actions with this line: "i" an
# integer argument, "s" a string argument, "t" a trigger whose "@" is the command number.
DEFAULT_ACTION_PATTERNS = "ACTION i/action s/action/str t/action/@ f/action/@/cc"


def command_reaper_runs(address: str, args: tuple[Any, ...]) -> str | None:
    """The command REAPER's default ACTION patterns run for one message (None: no match)."""
    for pattern in DEFAULT_ACTION_PATTERNS.split()[1:]:
        kind, path = pattern[0], pattern[1:]
        if kind == "i" and address == path and len(args) == 1 and isinstance(args[0], int):
            return str(args[0])
        if kind == "s" and address == path and len(args) == 1 and isinstance(args[0], str):
            return args[0]
        prefix = path.split("@")[0]
        if kind == "t" and path.endswith("/@") and address.startswith(prefix) and not args:
            number = address[len(prefix) :]
            return number if number.isdigit() else None
    return None


@pytest.mark.parametrize("command_id", ["_RS7f3a9c0d1e", "40001"])
def test_reaper_is_asked_to_import_in_a_form_its_default_patterns_run(command_id: str) -> None:
    recorder = Recorder()
    feedback = Feedback(recorder.send, reaper=("127.0.0.1", 8000), import_action=command_id)
    feedback.notify_done(dataclasses.replace(a_job(), status="completed"))
    ((target, address, args),) = recorder.sent
    assert target == ("127.0.0.1", 8000)
    assert command_reaper_runs(address, args) == command_id
    # A named command in the number's place is not what the pattern file documents.
    assert command_reaper_runs(f"/action/{command_id}", ()) == (
        command_id if command_id.isdigit() else None
    )


def test_strings_holding_nul_still_make_a_readable_osc_message() -> None:
    from bridge.osc.transport import build, parse

    assert parse(build("/bridge/rejected", ["/bridge/job", "bad \x00 byte", None])) == [
        ("/bridge/rejected", ["/bridge/job", "bad \\0 byte", ""])
    ]
