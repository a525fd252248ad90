"""Everything that can be judged before a paid step is judged at intake: times within a
day, numbers in range, project paths the file system can hold, a results folder inside the
project. Then a property test: a request with extreme values is either refused with named
fields, or journaled, read back and planned without error."""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from bridge.daemon.feedback import Feedback, Origin
from bridge.daemon.intake import Intake
from bridge.emulator.server import EmulatorServer
from bridge.errors import RequestError
from bridge.jobs.model import JOB_ACTIONS
from bridge.jobs.placement import result_placement, upload_request, upload_window
from bridge.jobs.state import plan
from bridge.jobs.wire import Defaults, parse_request
from bridge.journal import Journal
from tests.conftest import pipeline_runner, write_tone

MODELS = ("FUZZ-2.0",)
DEFAULTS = Defaults("FUZZ-2.0", MODELS, "/music/default-project")


def issues_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(RequestError) as caught:
        parse_request({"version": 1, **data}, DEFAULTS)
    return {issue.field: issue.message for issue in caught.value.issues}


CLIP = {"path": "/a/take.wav", "itemPosition": 0.0, "length": 30.0}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "create_music", "selection": {"start": 0, "end": 1e308}}, "selection.end"),
        (
            {"action": "create_music", "selection": {"start": 1e308, "end": 1.5e308}},
            "selection.start",
        ),
        ({"action": "create_music", "selection": {"start": 0, "end": 86400.5}}, "selection.end"),
        (
            {
                "action": "create_music",
                "prompts": [{"text": "x", "timeStart": 0, "timeEnd": 1e300}],
            },
            "sounds[0].timeEnd",
        ),
        (
            {
                "action": "extend_music",
                "clip": CLIP,
                "params": {"extendDuration": 1e9, "continueAt": 1},
            },
            "extendDuration",
        ),
        (
            {
                "action": "extend_music",
                "clip": CLIP,
                "params": {"extendDuration": 9, "continueAt": 1e308},
            },
            "continueAt",
        ),
        (
            {
                "action": "replace_music",
                "clip": CLIP,
                "params": {"replaceStart": 1, "replaceEnd": 1e300},
            },
            "replaceEnd",
        ),
        ({"action": "cover_music", "clip": {**CLIP, "itemPosition": -1e308}}, "clip.itemPosition"),
        ({"action": "cover_music", "clip": {**CLIP, "takeOffset": 1e308}}, "clip.takeOffset"),
        ({"action": "cover_music", "clip": {**CLIP, "length": 1e308}}, "clip.length"),
    ],
)
def test_a_time_beyond_a_day_is_refused_naming_its_field(data: dict[str, Any], field: str) -> None:
    assert "86400 s" in issues_of(data)[field]


@pytest.mark.parametrize("playrate", [1e300, 1e-300, 101.0, 0.001])
def test_a_playrate_that_cannot_be_placed_is_refused(playrate: float) -> None:
    found = issues_of({"action": "cover_music", "clip": {**CLIP, "playrate": playrate}})
    assert found["clip.playrate"].startswith("must be between 0.01 and 100")


def test_a_seed_however_large_is_taken_and_journaled_as_it_was(tmp_path: Path) -> None:
    # PRODUCER_API.md sets no upper limit on a seed (tests/test_contract_agreement.py).
    data = {"version": 1, "action": "create_music", "params": {"seed": 10**400}}
    request = parse_request(data, DEFAULTS)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        job = journal.create(request)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        assert journal.get(job.id).request.audio.seed == 10**400


@pytest.mark.parametrize("where", ["project", "clip"])
# pydantic refuses a lone surrogate as "a valid string".
@pytest.mark.parametrize(("character", "said"), [("\0", "NUL"), ("\ud800", "valid string")])
def test_a_path_no_file_can_have_is_refused(where: str, character: str, said: str) -> None:
    data: dict[str, Any] = {"action": "cover_music", "clip": CLIP}
    if where == "project":
        data["project"] = {"folder": f"/music/a{character}b"}
    else:
        data["clip"] = {**CLIP, "path": f"/a/{character}.wav"}
    field = "project.folder" if where == "project" else "clip.path"
    assert said in issues_of(data)[field]


@contextmanager
def intake_on(server: EmulatorServer, tmp_path: Path) -> Iterator[Intake]:
    """A daemon's intake on a real runner and journal (its jobs are never run)."""
    loop = asyncio.new_event_loop()
    manager = pipeline_runner(server, tmp_path)
    try:
        runner = loop.run_until_complete(manager.__aenter__())
        yield Intake(
            runner,
            Feedback(lambda target, address, args: None),
            defaults=Defaults("FUZZ-2.0", MODELS, str(tmp_path / "song")),
            audio_roots=[tmp_path],
            presets={},
        )
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


def refused_at_intake(server: EmulatorServer, tmp_path: Path, project: Path) -> dict[str, str]:
    with intake_on(server, tmp_path) as intake:
        request = {"version": 1, "action": "create_music", "project": {"folder": str(project)}}
        with pytest.raises(RequestError) as caught:
            intake.submit(request, Origin("drop"))
        assert intake.runner.deps.journal.jobs() == []
    assert server.created("create_music") == 0
    return {issue.field: issue.message for issue in caught.value.issues}


def test_a_project_name_too_long_for_the_file_system_is_refused(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    found = refused_at_intake(make_emulator(), tmp_path, tmp_path / ("n" * 300) / "song")
    assert "is 300 bytes; this file system allows at most 255" in found["project.folder"]


def test_a_project_path_too_long_for_its_results_is_refused(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    deep = tmp_path.joinpath(*["d" * 200] * 20)
    found = refused_at_intake(make_emulator(), tmp_path, deep)
    assert "move the project to a shorter path" in found["project.folder"]


def test_a_results_folder_leading_out_of_the_project_is_refused_at_intake(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    project, outside = tmp_path / "song", tmp_path / "elsewhere"
    outside.mkdir()
    project.mkdir()
    (project / "ProducerBridge").symlink_to(outside)
    found = refused_at_intake(make_emulator(), tmp_path, project)
    assert "symbolic link" in found["project.folder"]


# The property test ------------------------------------------------------------------------

EXTREME_FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 86400.0, 86400.000001, 1e-300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-100.0, 300.0),
)
EXTREME_INTS = st.one_of(
    st.sampled_from([0, -1, 2**63, 2**64 - 1, 2**64, 10**400, -(10**400)]),
    st.integers(-(2**70), 2**70),
)
# Ordinary values half the time, so that many requests pass intake and go on.
NUMBERS = st.one_of(st.floats(0.0, 8.0), st.floats(0.2, 1.0), EXTREME_FLOATS, EXTREME_INTS)
# Any code point, lone surrogates and NUL included.
TEXTS = st.one_of(
    st.text(st.characters(codec=None, categories=None), max_size=20),
    st.text(min_size=200, max_size=5000),
)
PARAMS = st.dictionaries(
    st.sampled_from(
        [
            "seed",
            "lyricsStrength",
            "weirdness",
            "replaceStart",
            "replaceEnd",
            "continueAt",
            "extendDuration",
            "coverStrength",
        ]
    ),
    NUMBERS,
    max_size=2,
)


FUZZ = Path(tempfile.gettempdir()) / f"producer-bridge-intake-fuzz-{os.getpid()}"
CLIP_FILE = FUZZ / "clip.wav"
FOLDERS = [
    str(FUZZ / "song"),
    str(FUZZ / ("n" * 300)),
    str(FUZZ.joinpath(*["d" * 250] * 17)),
    str(FUZZ / "song" / ("\u00e9" * 130)),  # 260 bytes in UTF-8
    str(FUZZ / "song\ud800"),
    str(FUZZ / "song\0"),
]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"version": 1, "action": draw(st.sampled_from(JOB_ACTIONS))}
    data["params"] = draw(PARAMS)
    if draw(st.booleans()):
        data["params"]["title"] = draw(TEXTS)
    data["prompts"] = [
        {"text": draw(st.one_of(st.just("pop"), TEXTS)), "strength": draw(NUMBERS)}
        | ({"timeStart": draw(NUMBERS), "timeEnd": draw(NUMBERS)} if draw(st.booleans()) else {})
        for _ in range(draw(st.integers(0, 1)))
    ]
    data["project"] = {"folder": draw(st.one_of(st.just(FOLDERS[0]), st.sampled_from(FOLDERS)))}
    if data["action"] != "create_music":
        data["clip"] = {
            "path": draw(
                st.sampled_from([str(CLIP_FILE)] * 3 + [str(FUZZ / ("c" * 300)) + ".wav"])
            ),
            "itemPosition": draw(NUMBERS),
            "takeOffset": draw(st.one_of(st.just(0.0), NUMBERS)),
            "playrate": draw(st.one_of(st.just(1.0), NUMBERS)),
            "length": draw(st.one_of(st.none(), NUMBERS)),
        }
    if draw(st.booleans()):
        data["selection"] = {"start": draw(NUMBERS), "end": draw(NUMBERS)}
    return data


@pytest.fixture(scope="module")
def fuzz_folder() -> Iterator[Path]:
    FUZZ.mkdir(exist_ok=True)
    write_tone(CLIP_FILE, 8.0)
    yield FUZZ
    shutil.rmtree(FUZZ, ignore_errors=True)


SOURCE_SECONDS = 8.0
HUGE_SELECTION = {"start": 1e308, "end": 1.5e308}


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=requests())
@example(request={"version": 1, "action": "create_music", "selection": HUGE_SELECTION})
@example(
    request={
        "version": 1,
        "action": "cover_music",
        "clip": {"path": str(CLIP_FILE), "itemPosition": 1e308},
    }
)
def test_an_extreme_request_is_refused_by_name_or_journaled_read_back_and_planned(
    request: dict[str, Any], emulator: EmulatorServer, fuzz_folder: Path
) -> None:
    with intake_on(emulator, fuzz_folder) as intake:
        journal = intake.runner.deps.journal
        try:
            job = intake.submit(request, Origin("drop"))
        except RequestError as exc:
            refusal = exc
        else:
            refusal = None
        event("refused" if refusal else "journaled")
        if refusal is not None:
            assert refusal.issues
            assert all(issue.field and issue.message for issue in refusal.issues)
            return
        read = journal.get(job.id)
        assert read == job
        assert plan(read.request)
        try:  # what only the source file tells is judged when it is cut, before any create
            span = (
                None
                if read.request.clip is None
                else upload_window(read.request, SOURCE_SECONDS, 48000)
            )
        except RequestError:
            return
        upload_request(read.request, span)
        placement = result_placement(read.request, span)
        assert math.isfinite(placement.seconds)
        placement.samples(384000)
