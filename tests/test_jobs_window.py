"""The upload window: what part of the source goes to the service, and the section times
measured from its start.

The service takes at most 240 s. replace uploads its section with as much of the clip
around it as fits (or `context` seconds each side), extend the material before the
continuation point, the other actions the selection or the whole visible item.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config import BUILTIN_MODELS
from bridge.errors import RequestError
from bridge.jobs.judging import request_issues
from bridge.jobs.model import ClipPlacement, JobRequest, Selection, with_api_times
from bridge.jobs.placement import UploadSpan, time_issues, upload_request, upload_window
from bridge.jobs.request import MAX_UPLOAD_SECONDS, AudioRequest, Sound

CLIP_PATH = "/projects/song/take.wav"
RATE = 48000


def job(
    action: str,
    clip: ClipPlacement,
    selection: Selection | None = None,
    **fields: Any,
) -> JobRequest:
    audio = AudioRequest(action, "FUZZ-2.0", (Sound("warm synths", 0.5),), **fields)
    return with_api_times(JobRequest(audio, "/projects/song", 48000, clip, selection))


def on_grid(seconds: float, rate: int = RATE) -> bool:
    return abs(seconds * rate - round(seconds * rate)) < 1e-6


# A clip that fits is uploaded whole -------------------------------------------------------


def test_a_replace_inside_a_short_clip_uploads_the_whole_visible_clip() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, length=60.0)
    request = job("replace_music", clip, Selection(30.0, 40.0))
    assert upload_window(request, 100.0, RATE) == UploadSpan(2.0, 60.0)
    assert upload_request(request, UploadSpan(2.0, 60.0)) == request.audio


def test_context_seconds_limit_what_is_uploaded_around_the_section() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, length=60.0)
    request = job("replace_music", clip, Selection(30.0, 40.0))  # source 22..32 s
    span = upload_window(request, 100.0, RATE, context=5.0)
    assert span == UploadSpan(17.0, 20.0)
    sent = upload_request(request, span)
    assert (sent.replace_start, sent.replace_end) == (5.0, 15.0)


def test_context_stops_at_the_edges_of_the_item() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0, length=60.0)
    request = job("replace_music", clip, Selection(2.0, 10.0))
    assert upload_window(request, 100.0, RATE, context=30.0) == UploadSpan(0.0, 40.0)


# A long clip: the window is chosen around the section -------------------------------------


def test_a_long_clip_centres_the_window_on_the_section() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0)
    request = job("replace_music", clip, Selection(300.0, 320.0))  # in a 10 min song
    span = upload_window(request, 600.0, RATE)
    assert span == UploadSpan(190.0, 240.0)  # 110 s each side of the 20 s section
    sent = upload_request(request, span)
    assert (sent.replace_start, sent.replace_end) == (110.0, 130.0)


def test_a_section_near_the_start_gives_the_unused_context_to_the_other_side() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0)
    request = job("replace_music", clip, Selection(10.0, 20.0))
    assert upload_window(request, 600.0, RATE) == UploadSpan(0.0, 240.0)


def test_a_section_near_the_end_gives_the_unused_context_to_the_start() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0)
    request = job("replace_music", clip, Selection(590.0, 598.0))
    assert upload_window(request, 600.0, RATE) == UploadSpan(360.0, 240.0)


def test_extend_uploads_what_comes_just_before_the_continuation_point() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0)
    request = job("extend_music", clip, Selection(500.0, 510.0), extend_duration=30.0)
    span = upload_window(request, 600.0, RATE)
    assert span == UploadSpan(260.0, 240.0)
    assert upload_request(request, span).continue_at == 240.0


def test_extend_with_context_uploads_that_much_before_the_point() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0, length=60.0)
    request = job("extend_music", clip, extend_duration=30.0)  # continues at the item end
    span = upload_window(request, 60.0, RATE, context=20.0)
    assert span == UploadSpan(40.0, 20.0)
    assert upload_request(request, span).continue_at == 20.0


@pytest.mark.parametrize("action", ["cover_music", "swap_music_vocals", "music_variation"])
def test_other_actions_upload_the_selection_when_there_is_one(action: str) -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, playrate=2.0)
    request = job(action, clip, Selection(20.0, 25.0))  # source 22..32 s
    assert upload_window(request, 600.0, RATE) == UploadSpan(22.0, 10.0)


def test_other_actions_upload_the_whole_item_without_a_selection() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=10.0, take_offset=2.0, length=60.0)
    assert upload_window(job("cover_music", clip), 600.0, RATE) == UploadSpan(2.0, 60.0)


# Too long: said clearly, before anything is paid ------------------------------------------


def test_a_section_longer_than_the_service_takes_is_refused_naming_the_selection() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0)
    request = job("replace_music", clip, Selection(10.0, 260.0))
    with pytest.raises(RequestError) as caught:
        upload_window(request, 600.0, RATE)
    assert caught.value.fields == ("selection",)
    assert "250.0 s" in caught.value.message
    assert "at most 240 s" in caught.value.message
    found = request_issues(request, BUILTIN_MODELS)
    assert [issue.field for issue in found] == ["selection"]


def test_a_selection_is_measured_in_source_seconds_at_the_item_playrate() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0, playrate=2.0)
    request = job("cover_music", clip, Selection(0.0, 150.0))  # 300 s of source
    assert [issue.field for issue in request_issues(request, BUILTIN_MODELS)] == ["selection"]
    with pytest.raises(RequestError, match=r"300\.0 s of audio"):
        upload_window(request, 600.0, RATE)


def test_an_item_too_long_without_a_selection_is_refused_when_its_source_is_read() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0)
    request = job("cover_music", clip)
    assert request_issues(request, BUILTIN_MODELS) == []  # the length is in the file
    with pytest.raises(RequestError) as caught:
        upload_window(request, 300.0, RATE)
    assert caught.value.fields == ("clip",)
    assert "the clip's visible part holds 300.0 s" in caught.value.message


def test_a_section_of_exactly_240_seconds_is_accepted() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0)
    request = job("replace_music", clip, Selection(100.0, 340.0))
    assert upload_window(request, 600.0, RATE) == UploadSpan(100.0, 240.0)


# Properties -------------------------------------------------------------------------------

seconds = st.floats(0.0, 900.0, allow_nan=False, allow_infinity=False)


@st.composite
def replaces(draw: st.DrawFn) -> tuple[JobRequest, float, int, float | None]:
    rate = draw(st.sampled_from([22050, 44100, 48000, 96000]))
    source = draw(st.integers(rate, 900 * rate)) / rate  # a file holds whole frames
    take_offset = draw(st.floats(0.0, source - 0.5))
    playrate = draw(st.sampled_from([0.5, 1.0, 1.25, 2.0]))
    visible = (source - take_offset) / playrate
    position = draw(st.floats(0.0, 600.0))
    # 0.02 s before the end, so that the 0.01 s shortest section fits whatever the rounding
    # of `visible - start` (at 0.01 it could come out a hair under 0.01).
    start = draw(st.floats(0.0, visible - 0.02))
    length = draw(st.floats(0.01, min(visible - start, MAX_UPLOAD_SECONDS / playrate)))
    context = draw(st.none() | st.floats(1.0, 300.0))
    clip = ClipPlacement(CLIP_PATH, position, take_offset, playrate)
    selection = Selection(position + start, position + start + length)
    return job("replace_music", clip, selection), source, rate, context


@settings(max_examples=300, deadline=None)
@given(replaces())
def test_every_window_fits_holds_its_section_and_lies_on_the_sample_grid(
    case: tuple[JobRequest, float, int, float | None],
) -> None:
    request, source, rate, context = case
    clip = request.clip
    assert clip is not None
    assert request.selection is not None
    span = upload_window(request, source, rate, context)
    assert span.duration <= MAX_UPLOAD_SECONDS
    assert on_grid(span.start, rate)
    assert on_grid(span.duration, rate)
    assert span.start >= round(clip.take_offset * rate) / rate - 1e-9
    assert span.start + span.duration <= source + 1e-9
    sent = upload_request(request, span)
    assert sent.replace_start is not None
    assert sent.replace_end is not None
    # The section is inside the upload, to the sample, and maps back to the selection.
    tolerance = 1.0 / rate + 2e-6
    assert sent.replace_start >= -tolerance
    assert sent.replace_end <= span.duration + tolerance
    assert time_issues(sent, span.duration) == []
    for sent_time, timeline in (
        (sent.replace_start, request.selection.start),
        (sent.replace_end, request.selection.end),
    ):
        # Within a sample: a window on the sample grid holding a section of exactly the
        # longest upload cannot also hold an off-grid take offset's last half sample.
        assert math.isclose(
            clip.timeline_time(span.start + sent_time), timeline, abs_tol=tolerance / clip.playrate
        )
    if context is not None:
        before = clip.source_time(request.selection.start) - span.start
        assert before <= context + 1.0 / rate + 1e-6


def test_a_selection_drawn_to_the_end_of_the_item_is_sent_as_the_upload_end() -> None:
    # 456789 frames at 48 kHz: 9.5164375 s, not a whole millisecond.
    source = 456789 / RATE
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0)
    request = job("replace_music", clip, Selection(5.0, source))
    span = upload_window(request, source, RATE)
    sent = upload_request(request, span)
    assert sent.replace_end is not None
    assert source - 1e-6 <= sent.replace_end <= source
    assert time_issues(sent, span.duration) == []


def test_a_time_a_millisecond_past_the_upload_is_still_refused() -> None:
    clip = ClipPlacement(CLIP_PATH, item_position=0.0, take_offset=0.0)
    request = job("replace_music", clip, replace_start=1.0, replace_end=8.001)
    assert [issue.field for issue in time_issues(request.audio, 8.0)] == ["replaceEnd"]
