"""Live's warp markers and the loop brace, turned into the window of the file that plays
under it: piecewise linear through the markers, and the inverse agrees within a sample."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bridge.ableton.protocol import ClipFacts, Snapshot, SongFacts, TrackFacts
from bridge.ableton.warp import WarpMap, WarpMarker
from bridge.ableton.window import NO_CLIP, live_window
from bridge.errors import AbletonError
from bridge.jobs.model import ClipPlacement

RATE = 48000
SAMPLE = 1.0 / RATE


@st.composite
def warp_maps(draw: st.DrawFn) -> WarpMap:
    """2 to 12 markers: beats and seconds rising by steps Live could hold."""
    count = draw(st.integers(2, 12))
    beat_steps = draw(st.lists(st.floats(0.0625, 32.0), min_size=count - 1, max_size=count - 1))
    rates = draw(st.lists(st.floats(0.05, 4.0), min_size=count - 1, max_size=count - 1))
    beat, seconds = draw(st.floats(-8.0, 8.0)), draw(st.floats(0.0, 30.0))
    pairs = [(beat, seconds)]
    for step, rate in zip(beat_steps, rates, strict=True):
        beat, seconds = beat + step, seconds + step * rate
        pairs.append((beat, seconds))
    return WarpMap.of(pairs)


@settings(max_examples=300)
@given(warp=warp_maps(), where=st.floats(-0.2, 1.2))
def test_beats_to_source_seconds_and_back_agree_within_a_sample(
    warp: WarpMap, where: float
) -> None:
    first, last = warp.markers[0], warp.markers[-1]
    beat = first.beat + where * (last.beat - first.beat)
    seconds = warp.seconds_at(beat)
    assert abs(warp.seconds_at(warp.beat_at(seconds)) - seconds) < SAMPLE
    # the same beat, found again from its second, plays at most a sample apart
    rate = max((b.seconds - a.seconds) / (b.beat - a.beat) for a, b in _pairs(warp.markers))
    assert abs(warp.beat_at(seconds) - beat) * rate < SAMPLE


@settings(max_examples=200)
@given(warp=warp_maps())
def test_each_marker_is_met_exactly_and_between_two_the_audio_runs_evenly(warp: WarpMap) -> None:
    for marker in warp.markers:
        assert warp.seconds_at(marker.beat) == pytest.approx(marker.seconds, abs=1e-9)
    for a, b in _pairs(warp.markers):
        middle = warp.seconds_at((a.beat + b.beat) / 2)
        assert middle == pytest.approx((a.seconds + b.seconds) / 2, abs=1e-9)


@settings(max_examples=200)
@given(warp=warp_maps(), cut=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)))
def test_a_window_of_the_map_plays_the_same_audio_from_zero(
    warp: WarpMap, cut: tuple[float, float]
) -> None:
    low, high = sorted(cut)
    first, last = warp.markers[0].beat, warp.markers[-1].beat
    a, b = first + low * (last - first), first + max(high, low + 0.01) * (last - first)
    window = WarpMap(warp.window(a, b))
    assert window.markers[0] == WarpMarker(0.0, 0.0)
    for share in (0.0, 0.25, 0.5, 0.9, 1.0):
        beat = share * (b - a)
        expected = warp.seconds_at(a + beat) - warp.seconds_at(a)
        assert window.seconds_at(beat) == pytest.approx(expected, abs=SAMPLE)


def test_markers_that_do_not_rise_are_refused_with_what_to_do() -> None:
    with pytest.raises(AbletonError, match=r"beats 4 and 4 .* jump or run backwards"):
        WarpMap.of([(0.0, 0.0), (4.0, 2.0), (4.0, 3.0)])
    with pytest.raises(AbletonError, match="switch Warp off and on again"):
        WarpMap.of([(0.0, 0.0)])


# -- the selection in a Live Set ------------------------------------------------------------


def song(**changes: Any) -> SongFacts:
    values: dict[str, Any] = {
        "tempo": 120.0,
        "loop": True,
        "loopStart": 80.0,
        "loopLength": 16.0,
        "tempoAutomated": False,
    }
    return SongFacts(**{**values, **changes})


def clip(**changes: Any) -> ClipFacts:
    """A warped Arrangement clip at bar 17 (beat 64), 16 bars long, of a 100 bpm file."""
    values: dict[str, Any] = {
        "name": "Vox",
        "audio": True,
        "arrangement": True,
        "path": "/music/vox.wav",
        "startTime": 64.0,
        "endTime": 128.0,
        "startMarker": 0.0,
        "endMarker": 64.0,
        "loopStart": 0.0,
        "loopEnd": 64.0,
        "looping": False,
        "warping": True,
        "warpMarkers": [(0.0, 0.0), (64.0, 38.4)],
        "sampleRate": float(RATE),
        "sampleLength": 40 * RATE,
    }
    return ClipFacts(**{**values, **changes})


def snapshot(clip_facts: ClipFacts | None = None, **song_changes: Any) -> Snapshot:
    track = TrackFacts(name="Vox", index=0, frozen=False)
    return Snapshot(song=song(**song_changes), track=track, clip=clip_facts or clip())


def test_the_loop_brace_over_a_warped_clip_is_the_audio_that_plays_under_it() -> None:
    window = live_window(snapshot())
    # bars 21-25 at 120 bpm: 40 s to 48 s on the timeline; beats 16..32 of the clip, which
    # the markers pin to 0.6 s of the file per beat
    assert (window.start_beat, window.end_beat) == (80.0, 96.0)
    assert (window.timeline_start, window.timeline_end) == (40.0, 48.0)
    assert window.source_start == pytest.approx(9.6)
    assert window.source_end == pytest.approx(19.2)
    assert window.playrate == pytest.approx(1.2)
    assert window.markers == (WarpMarker(0.0, 0.0), WarpMarker(16.0, pytest.approx(9.6)))


def test_the_request_clip_maps_the_selection_ends_onto_the_window_ends() -> None:
    window = live_window(snapshot(clip(warpMarkers=[(0.0, 0.0), (20.0, 10.0), (64.0, 40.0)])))
    placed = ClipPlacement(
        window.path,
        window.clip()["itemPosition"],
        window.clip()["takeOffset"],
        window.clip()["playrate"],
        window.clip()["length"],
    )
    assert placed.source_time(window.timeline_start) == pytest.approx(window.source_start)
    assert placed.source_time(window.timeline_end) == pytest.approx(window.source_end)
    # beats 16..32 cross the marker at beat 20: 0.5 s per beat before it, 30/44 after
    assert window.source_end - window.source_start == pytest.approx(2.0 + 12 * 30 / 44)
    assert [m.beat for m in window.markers] == [0.0, 4.0, 16.0]


@settings(max_examples=200)
@given(
    warp=warp_maps(),
    tempo=st.floats(40.0, 240.0),
    brace=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
    position=st.floats(0.0, 512.0),
)
@example(
    warp=WarpMap.of([(0.0, 0.0), (1.0, 1.0)]),
    tempo=40.0,
    brace=(1.0, 1.0),
    position=0.0,
)
def test_the_window_and_its_inverse_agree_within_a_sample_for_any_set(
    warp: WarpMap, tempo: float, brace: tuple[float, float], position: float
) -> None:
    first, last = warp.markers[0], warp.markers[-1]
    start_marker = max(first.beat, warp.beat_at(0.0))
    length = last.beat - start_marker
    low, high = sorted(brace)
    low = min(low, 0.99)  # a brace starting at the clip's end covers none of it
    high = max(high, low + 0.01)
    facts = clip(
        startTime=position,
        endTime=position + length,
        startMarker=start_marker,
        endMarker=last.beat,
        loopStart=start_marker,
        loopEnd=last.beat,
        warpMarkers=[(m.beat, m.seconds) for m in warp.markers],
        sampleLength=0,
    )
    window = live_window(
        snapshot(
            facts, tempo=tempo, loopStart=position + low * length, loopLength=(high - low) * length
        )
    )
    beat = window.start_beat
    assert beat is not None
    clip_beat = start_marker + (beat - position)
    assert window.source_start == pytest.approx(warp.seconds_at(clip_beat), abs=SAMPLE)
    back = position + warp.beat_at(window.source_start) - start_marker
    assert abs(back - beat) * 60.0 / tempo < SAMPLE
    assert window.timeline_start == pytest.approx(beat * 60.0 / tempo, abs=SAMPLE)


def test_an_unwarped_clip_plays_its_file_at_its_own_speed() -> None:
    facts = clip(warping=False, startMarker=3.0, endMarker=35.0, warpMarkers=[])
    window = live_window(snapshot(facts))
    # 16 beats after the clip's start at 120 bpm = 8 s into it, from its start marker at 3 s
    assert (window.source_start, window.source_end) == (11.0, 19.0)
    assert window.playrate == 1.0


def test_without_the_loop_switched_on_the_whole_clip_is_the_selection() -> None:
    window = live_window(snapshot(loop=False))
    assert (window.start_beat, window.end_beat) == (64.0, 128.0)
    assert window.source_end == pytest.approx(38.4)


def test_a_session_clip_is_its_loop_from_the_start_of_no_timeline() -> None:
    facts = clip(arrangement=False, looping=True, loopStart=8.0, loopEnd=24.0)
    window = live_window(snapshot(facts))
    assert window.start_beat is None
    assert (window.timeline_start, window.timeline_end) == (0.0, 8.0)
    assert window.source_start == pytest.approx(4.8)


@pytest.mark.parametrize(
    ("facts", "changes", "says"),
    [
        (clip(audio=False, path=""), {}, "is a MIDI clip"),
        (clip(path=""), {}, "no audio file"),
        (clip(), {"tempoAutomated": True}, "tempo is automated"),
        (clip(), {"loopStart": 200.0}, "does not cover the clip"),
        (clip(looping=True, loopEnd=24.0), {}, "runs over the end of the clip's loop"),
        (clip(warpMarkers=[(0.0, 0.0), (64.0, 90.0)]), {}, "file, which is 40.000 s long"),
        (clip(warpMarkers=[(0.0, 0.0), (0.0, 1.0)]), {}, "jump or run backwards"),
    ],
)
def test_what_cannot_be_mapped_honestly_is_refused_with_what_to_do(
    facts: ClipFacts, changes: dict[str, Any], says: str
) -> None:
    with pytest.raises(AbletonError, match=says):
        live_window(snapshot(facts, **changes))


def test_a_frozen_track_and_no_clip_at_all_are_refused() -> None:
    frozen = Snapshot(song=song(), track=TrackFacts(name="Vox", index=0, frozen=True), clip=clip())
    with pytest.raises(AbletonError, match="frozen"):
        live_window(frozen)
    with pytest.raises(AbletonError) as caught:
        live_window(Snapshot(song=song()))
    assert caught.value.message == NO_CLIP


def _pairs(markers: tuple[WarpMarker, ...]) -> list[tuple[WarpMarker, WarpMarker]]:
    return list(itertools.pairwise(markers))
