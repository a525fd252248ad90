"""Timeline arithmetic: source time = take offset + (timeline time - item position) x playrate.

Edit results start where the upload starts on the timeline (the item's visible start,
take offset in the source) at the clip's playrate; create_music results start at the
selection start (0 s without one) at playrate 1.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from bridge.config import BUILTIN_MODELS
from bridge.errors import RequestError
from bridge.jobs.judging import request_issues, validate_request
from bridge.jobs.model import ClipPlacement, JobOptions, JobRequest, Selection, with_api_times
from bridge.jobs.placement import (
    Placement,
    UploadSpan,
    result_placement,
    time_issues,
    timeline_length,
    upload_span,
)
from bridge.jobs.request import ACTIONS, CREATE, AudioRequest, Sound

MODEL = "FUZZ-2.0"
PROJECT = "/projects/song"
CLIP_PATH = "/projects/song/take.wav"
SOURCE_SECONDS = 60.0
RATES = (44100, 48000, 96000, 22050)
EDITS = [action for action in ACTIONS if action != CREATE]


def audio(action: str, **fields: Any) -> AudioRequest:
    return AudioRequest(action, MODEL, (Sound("warm synths", 0.5),), **fields)


def request(
    action: str,
    *,
    clip: ClipPlacement | None = None,
    selection: Selection | None = None,
    sample_rate: int | None = None,
    options: JobOptions | None = None,
    **fields: Any,
) -> JobRequest:
    return JobRequest(
        audio(action, **fields),
        project=PROJECT,
        sample_rate=sample_rate,
        clip=clip,
        selection=selection,
        options=options or JobOptions(),
    )


def nearest_sample(seconds: float, rate: int) -> int:
    """The oracle: the exact decimal product, rounded half up."""
    exact = Decimal(repr(seconds)) * rate
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def issue_fields(job_request: JobRequest) -> dict[str, str]:
    return {issue.field: issue.message for issue in request_issues(job_request, BUILTIN_MODELS)}


# result_placement and Placement.samples ------------------------------------------------


@pytest.mark.parametrize("playrate", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("take_offset", [0.0, 1.25, 7.5])
@pytest.mark.parametrize("item_position", [0.0, 3.2, 12.3456789, 61.000011])
@pytest.mark.parametrize("action", ACTIONS)
def test_results_start_where_the_rule_puts_them_for_every_action(
    action: str, item_position: float, take_offset: float, playrate: float
) -> None:
    if action == CREATE:
        # create_music takes no clip: its results go to the selection start, at playrate 1.
        job_request = request(action, selection=Selection(item_position, item_position + 4.0))
        span = None
        expected_seconds, expected_playrate = item_position, 1.0
    else:
        clip = ClipPlacement(CLIP_PATH, item_position, take_offset, playrate, length=8.0)
        # A selection inside the clip does not move an edit's results.
        job_request = request(
            action, clip=clip, selection=Selection(item_position + 1.0, item_position + 2.0)
        )
        span = upload_span(clip, SOURCE_SECONDS)
        assert span.start == take_offset
        # The upload starts at take offset in the source: on the timeline, that is
        # where source_time(t) == take_offset, i.e. t = item position.
        assert clip.source_time(item_position) == pytest.approx(take_offset)
        expected_seconds, expected_playrate = item_position, playrate

    placement = result_placement(job_request, span)

    assert placement.seconds == pytest.approx(expected_seconds, abs=1e-12)
    assert placement.playrate == expected_playrate
    for rate in RATES:
        assert placement.samples(rate) == nearest_sample(expected_seconds, rate)


@pytest.mark.parametrize(
    ("rate", "samples"),
    [(48000, 592593), (44100, 544444), (96000, 1185185), (22050, 272222)],
)
def test_a_placement_in_samples_is_rounded_to_the_nearest_sample(rate: int, samples: int) -> None:
    assert Placement(12.3456789, 1.0).samples(rate) == samples


def test_a_placement_just_below_half_a_sample_rounds_down_and_above_rounds_up() -> None:
    assert Placement(100.4 / 48000, 1.0).samples(48000) == 100
    assert Placement(100.6 / 48000, 1.0).samples(48000) == 101


def test_create_music_without_a_selection_starts_at_zero_at_playrate_one() -> None:
    assert result_placement(request(CREATE), None) == Placement(0.0, 1.0)


@pytest.mark.parametrize("action", EDITS)
def test_an_edit_without_a_known_span_starts_at_the_item_position(action: str) -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, playrate=2.0)
    assert result_placement(request(action, clip=clip), None) == Placement(10.0, 2.0)


@pytest.mark.parametrize("action", EDITS)
def test_an_edit_by_audio_id_without_a_clip_is_placed_like_a_create(action: str) -> None:
    job_request = request(action, audio_id="a1", selection=Selection(5.0, 9.0))
    assert result_placement(job_request, None) == Placement(5.0, 1.0)


def test_source_and_timeline_times_are_inverse_mappings() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, playrate=2.0)
    assert clip.source_time(13.0) == 8.0  # 2 + (13 - 10) x 2
    assert clip.timeline_time(8.0) == 13.0


# upload_span ---------------------------------------------------------------------------


def test_an_upload_without_a_length_runs_to_the_end_of_the_source() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=4.0, take_offset=1.25)
    assert upload_span(clip, 10.0) == UploadSpan(1.25, 8.75)


@pytest.mark.parametrize(
    ("length", "playrate", "duration"),
    [
        (4.0, 1.0, 4.0),
        (4.0, 0.5, 2.0),  # a slowed item shows less of its source
        (4.0, 2.0, 8.0),  # a sped-up item shows more
        (6.0, 2.0, 8.75),  # 12 s of source wanted, 8.75 s held: capped
        (20.0, 1.0, 8.75),  # REAPER loops a take longer than its source
    ],
)
def test_an_upload_covers_length_times_playrate_capped_at_what_the_source_holds(
    length: float, playrate: float, duration: float
) -> None:
    clip = ClipPlacement(CLIP_PATH, 4.0, take_offset=1.25, playrate=playrate, length=length)
    assert upload_span(clip, 10.0) == UploadSpan(1.25, duration)


@pytest.mark.parametrize("take_offset", [10.0, 12.5])
def test_a_take_offset_at_or_past_the_end_of_the_source_is_refused(take_offset: float) -> None:
    clip = ClipPlacement(CLIP_PATH, take_offset=take_offset)
    with pytest.raises(RequestError) as caught:
        upload_span(clip, 10.0)
    assert caught.value.fields == ("clip.takeOffset",)
    assert CLIP_PATH in caught.value.message
    assert "past the end" in caught.value.message


# with_api_times ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("playrate", "start", "end"),
    [(1.0, 2.0, 5.0), (2.0, 4.0, 10.0), (0.5, 1.0, 2.5)],
)
def test_replace_times_come_from_the_selection_measured_from_the_upload_start(
    playrate: float, start: float, end: float
) -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, playrate=playrate)
    filled = with_api_times(request("replace_music", clip=clip, selection=Selection(12.0, 15.0)))
    assert filled.audio.replace_start == start
    assert filled.audio.replace_end == end
    assert filled.audio.to_json()["replaceStart"] == start


def test_an_explicit_replace_start_is_kept() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0)
    job_request = request(
        "replace_music",
        clip=clip,
        selection=Selection(12.0, 15.0),
        replace_start=0.5,
        replace_end=1.5,
    )
    filled = with_api_times(job_request)
    assert (filled.audio.replace_start, filled.audio.replace_end) == (0.5, 1.5)


@pytest.mark.parametrize(("playrate", "continue_at"), [(1.0, 3.0), (2.0, 6.0), (0.5, 1.5)])
def test_extend_continues_at_the_selection_start(playrate: float, continue_at: float) -> None:
    clip = ClipPlacement(CLIP_PATH, 10.0, 2.0, playrate, length=8.0)
    job_request = request(
        "extend_music", clip=clip, selection=Selection(13.0, 15.0), extend_duration=30.0
    )
    assert with_api_times(job_request).audio.continue_at == continue_at


@pytest.mark.parametrize(("playrate", "continue_at"), [(1.0, 8.0), (2.0, 16.0), (0.5, 4.0)])
def test_extend_without_a_selection_continues_at_the_clip_end(
    playrate: float, continue_at: float
) -> None:
    clip = ClipPlacement(CLIP_PATH, 10.0, 2.0, playrate, length=8.0)
    job_request = request("extend_music", clip=clip, extend_duration=30.0)
    assert with_api_times(job_request).audio.continue_at == continue_at


def test_an_explicit_continue_at_is_kept() -> None:
    clip = ClipPlacement(CLIP_PATH, 10.0, 2.0, length=8.0)
    job_request = request(
        "extend_music",
        clip=clip,
        selection=Selection(13.0, 15.0),
        continue_at=1.0,
        extend_duration=30.0,
    )
    assert with_api_times(job_request).audio.continue_at == 1.0


@pytest.mark.parametrize("action", ["cover_music", "swap_music_vocals", "music_variation"])
def test_other_actions_get_no_section_times(action: str) -> None:
    clip = ClipPlacement(CLIP_PATH, 10.0, 2.0, length=8.0)
    job_request = request(action, clip=clip, selection=Selection(12.0, 15.0))
    assert with_api_times(job_request) == job_request


def test_without_a_clip_the_request_is_left_as_it_is() -> None:
    job_request = request("replace_music", audio_id="a1", selection=Selection(12.0, 15.0))
    assert with_api_times(job_request) == job_request


def test_validate_request_fills_replace_times_from_the_selection() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, length=8.0)
    job_request = request("replace_music", clip=clip, selection=Selection(12.0, 15.0))
    validated = validate_request(job_request, BUILTIN_MODELS)
    assert (validated.audio.replace_start, validated.audio.replace_end) == (2.0, 5.0)


def test_validate_request_fills_continue_at_from_the_clip_end() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, length=8.0)
    job_request = request("extend_music", clip=clip, extend_duration=30.0)
    assert validate_request(job_request, BUILTIN_MODELS).audio.continue_at == 8.0


def test_section_times_the_selection_implies_count_as_given() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, length=8.0)
    replace = request("replace_music", clip=clip, selection=Selection(12.0, 15.0))
    extend = request("extend_music", clip=clip, extend_duration=30.0)
    assert issue_fields(replace) == {}
    assert issue_fields(extend) == {}
    # Without a selection there is nothing to derive the replaced section from.
    assert set(issue_fields(request("replace_music", clip=clip))) == {
        "replaceStart",
        "replaceEnd",
    }


def test_validate_request_keeps_explicit_times_and_refuses_bad_requests() -> None:
    clip = ClipPlacement(CLIP_PATH, 10.0, 2.0, length=8.0)
    good = request("replace_music", clip=clip, replace_start=1.0, replace_end=3.0)
    assert validate_request(good, BUILTIN_MODELS) == good
    bad = dataclasses.replace(good, sample_rate=1000)
    with pytest.raises(RequestError) as caught:
        validate_request(bad, BUILTIN_MODELS)
    assert caught.value.fields == ("sampleRate",)


# request_issues ------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["cover_music", "swap_music_sound", "music_variation"])
def test_a_well_formed_edit_with_a_clip_has_no_issues(action: str) -> None:
    clip = ClipPlacement(CLIP_PATH, 10.0, 2.0, 1.0, length=8.0)
    assert issue_fields(request(action, clip=clip, selection=Selection(10.0, 18.0))) == {}


def test_a_well_formed_create_has_no_issues() -> None:
    assert issue_fields(request(CREATE, sample_rate=48000, selection=Selection(0.0, 4.0))) == {}


@pytest.mark.parametrize(("start", "end"), [(9.0, 12.0), (17.0, 18.5), (2.0, 4.0)])
def test_a_selection_outside_the_clip_is_named(start: float, end: float) -> None:
    clip = ClipPlacement(CLIP_PATH, 10.0, 2.0, length=8.0)
    found = issue_fields(request("cover_music", clip=clip, selection=Selection(start, end)))
    assert list(found) == ["selection"]
    assert "the item, which" in found["selection"]
    assert f"{start:g}..{end:g} s" in found["selection"]


@pytest.mark.parametrize(("start", "end"), [(5.0, 5.0), (6.0, 5.0)])
def test_a_selection_that_does_not_run_forwards_is_named(start: float, end: float) -> None:
    found = issue_fields(request(CREATE, selection=Selection(start, end)))
    assert list(found) == ["selection"]


@pytest.mark.parametrize("playrate", [0.0, -1.0, float("nan"), float("inf")])
def test_a_playrate_that_cannot_be_mapped_says_to_glue_the_take(playrate: float) -> None:
    clip = ClipPlacement(CLIP_PATH, playrate=playrate)
    found = issue_fields(request("cover_music", clip=clip))
    assert list(found) == ["clip.playrate"]
    assert "glue" in found["clip.playrate"]


def test_a_negative_take_offset_is_named() -> None:
    found = issue_fields(request("cover_music", clip=ClipPlacement(CLIP_PATH, take_offset=-0.5)))
    assert list(found) == ["clip.takeOffset"]


def test_a_clip_length_of_zero_is_named() -> None:
    found = issue_fields(request("cover_music", clip=ClipPlacement(CLIP_PATH, length=0.0)))
    assert list(found) == ["clip.length"]


def test_create_music_with_a_clip_is_named() -> None:
    found = issue_fields(request(CREATE, clip=ClipPlacement(CLIP_PATH)))
    assert list(found) == ["clip"]
    assert "create_music" in found["clip"]


@pytest.mark.parametrize("action", EDITS)
def test_an_edit_needs_a_clip_or_an_audio_id(action: str) -> None:
    own: dict[str, Any] = {
        "extend_music": {"continue_at": 1.0, "extend_duration": 30.0},
        "replace_music": {"replace_start": 1.0, "replace_end": 2.0},
    }.get(action, {})
    found = issue_fields(request(action, **own))
    assert list(found) == ["clip"]
    assert action in found["clip"]
    assert "audioId" in found["clip"]
    assert issue_fields(request(action, audio_id="a1", **own)) == {}


@pytest.mark.parametrize("sample_rate", [0, 7999, 12345, 44000, 384001])
def test_a_sample_rate_out_of_range_is_named(sample_rate: int) -> None:
    found = issue_fields(request(CREATE, sample_rate=sample_rate))
    assert list(found) == ["sampleRate"]
    assert str(sample_rate) in found["sampleRate"]


@pytest.mark.parametrize("sample_rate", [8000, 11025, 44100, 48000, 88200, 352800, 384000])
def test_sample_rates_at_the_limits_are_accepted(sample_rate: int) -> None:
    assert issue_fields(request(CREATE, sample_rate=sample_rate)) == {}


def test_a_bad_subtype_is_named() -> None:
    found = issue_fields(request(CREATE, options=JobOptions(subtype="PCM_32")))
    assert list(found) == ["subtype"]
    assert "PCM_24" in found["subtype"]


def test_a_bad_fetch_format_is_named() -> None:
    found = issue_fields(request(CREATE, options=JobOptions(fetch_format="flac")))
    assert list(found) == ["format"]


def test_every_problem_is_reported_at_once() -> None:
    job_request = JobRequest(
        audio(CREATE, title="x" * 100),
        project="",
        sample_rate=1,
        clip=ClipPlacement(CLIP_PATH, take_offset=-1.0, playrate=0.0),
        options=JobOptions(fetch_format="ogg", subtype="PCM_8"),
    )
    assert set(issue_fields(job_request)) == {
        "title",
        "clip",
        "project",
        "sampleRate",
        "clip.playrate",
        "clip.takeOffset",
        "subtype",
        "format",
    }


# time_issues and timeline_length -------------------------------------------------------


def test_a_replace_end_beyond_the_upload_is_named() -> None:
    found = time_issues(audio("replace_music", replace_start=2.0, replace_end=9.0), 8.0)
    assert [issue.field for issue in found] == ["replaceEnd"]
    assert "at most 8 s" in found[0].message
    assert "got 9" in found[0].message


def test_a_continue_at_beyond_the_upload_is_named() -> None:
    found = time_issues(audio("extend_music", continue_at=8.5, extend_duration=30.0), 8.0)
    assert [issue.field for issue in found] == ["continueAt"]


def test_section_times_up_to_the_upload_length_are_accepted() -> None:
    assert time_issues(audio("replace_music", replace_start=0.0, replace_end=8.0), 8.0) == []
    # The upload's length is compared to the millisecond.
    assert time_issues(audio("replace_music", replace_start=0.0, replace_end=8.0), 7.9996) == []
    assert time_issues(audio("cover_music"), 8.0) == []


@pytest.mark.parametrize(
    ("frames", "rate", "playrate", "seconds"),
    [
        (480000, 48000, 1.0, 10.0),
        (480000, 48000, 2.0, 5.0),
        (480000, 48000, 0.5, 20.0),
        (44100, 44100, 1.0, 1.0),
        (22050, 44100, 0.25, 2.0),
    ],
)
def test_timeline_length_is_frames_over_rate_over_playrate(
    frames: int, rate: int, playrate: float, seconds: float
) -> None:
    assert timeline_length(frames, rate, playrate) == pytest.approx(seconds)
