"""What the user hears under Live's loop brace, as a window of the clip's audio file. Pure.

Beats of the Arrangement -> timeline seconds at the song's tempo -> the clip's own time
(beats when warped, seconds when not) -> source seconds through the warp markers
(`bridge.ableton.warp`). The selection is the loop brace when the loop is switched on and
the clip's own extent otherwise; on a Session clip (no place on the timeline) it is the
clip's loop, or its start to end marker. The uploaded window is then exactly the audio that
plays under the selection, for warped and unwarped clips alike.

Refused, each with what to do: no audio clip in view, a frozen track, tempo automation (the
LOM tells whether the tempo is automated, not where, so any automation is refused), a
selection that misses the clip, runs over the clip's loop end (where Live jumps back) or
past its audio file, and warp markers that do not rise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.ableton.protocol import ClipFacts, Snapshot, SongFacts
from bridge.ableton.timing import beats_to_seconds, timing_issues
from bridge.ableton.warp import EPSILON, WarpMap, WarpMarker
from bridge.errors import AbletonError

NO_CLIP = (
    "no clip is in Live's Clip View: click the audio clip to use (in the Arrangement, or a "
    "Session slot) so that it shows at the bottom of Live's window, then trigger again"
)


@dataclass(frozen=True)
class LiveWindow:
    """The selection on the timeline and the part of the clip's file that plays under it."""

    path: str
    tempo: float
    start_beat: float | None  # Arrangement beats; None for a Session clip
    end_beat: float | None
    timeline_start: float  # seconds
    timeline_end: float
    source_start: float  # seconds of the file
    source_end: float
    # The warp markers a clip of exactly this audio needs to play in time, measured from the
    # window's first beat and first source second.
    markers: tuple[WarpMarker, ...]
    warped: bool

    @property
    def playrate(self) -> float:
        """Source seconds per timeline second, on average over the window."""
        return (self.source_end - self.source_start) / (self.timeline_end - self.timeline_start)

    def clip(self) -> dict[str, Any]:
        """The request's `clip` (bridge.jobs.wire): the window as a take of constant rate
        whose ends are exact; the warp markers go to Live with the result."""
        return {
            "path": self.path,
            "itemPosition": self.timeline_start,
            "takeOffset": self.source_start,
            "playrate": self.playrate,
            "length": self.timeline_end - self.timeline_start,
        }

    def selection(self) -> dict[str, float]:
        return {"start": self.timeline_start, "end": self.timeline_end}

    def beat_of(self, seconds: float) -> float | None:
        """The Arrangement beat of timeline second `seconds` (None for a Session clip)."""
        if self.start_beat is None:
            return None
        return self.start_beat + (seconds - self.timeline_start) * self.tempo / 60.0


def live_window(snapshot: Snapshot) -> LiveWindow:
    """The window under the selection; AbletonError names every reason it cannot be had."""
    song, clip = snapshot.song, snapshot.clip
    if clip is None:
        raise AbletonError(NO_CLIP)
    issues = _clip_issues(snapshot, clip)
    if issues:
        raise _refused(issues)
    warp = WarpMap.of(clip.warpMarkers) if clip.warping else None
    span = _selection_beats(song, clip)
    clip_at = _clip_time(song, clip)
    first, last = _unlooped(clip, clip_at(span[0]), clip_at(span[1]))
    source: Callable[[float], float] = warp.seconds_at if warp is not None else float
    start, end = source(first), source(last)
    _check_inside_file(clip, start, end)
    beats = span[1] - span[0]
    if warp is not None:
        markers = warp.window(first, last)
    else:
        markers = (WarpMarker(0.0, 0.0), WarpMarker(beats, end - start))
    offset = span[0] if clip.arrangement else 0.0
    return LiveWindow(
        path=clip.path,
        tempo=song.tempo,
        start_beat=span[0] if clip.arrangement else None,
        end_beat=span[1] if clip.arrangement else None,
        timeline_start=beats_to_seconds(offset, song.tempo),
        timeline_end=beats_to_seconds(offset + beats, song.tempo),
        source_start=start,
        source_end=end,
        markers=markers,
        warped=warp is not None,
    )


def _refused(issues: list[str]) -> AbletonError:
    return AbletonError("cannot use the clip in Live's Clip View: " + "; ".join(issues))


def _clip_issues(snapshot: Snapshot, clip: ClipFacts) -> list[str]:
    song = snapshot.song
    issues: list[str] = []
    if not clip.audio:
        issues.append(
            f"{clip.name or 'the clip'} is a MIDI clip; the bridge works on audio: "
            "render it to audio first (Freeze and Flatten the track, or resample it)"
        )
    elif not clip.path:
        issues.append(
            "Live reports no audio file for the clip (still consolidating or cropping?): "
            "wait until Live has written it, then trigger again"
        )
    if snapshot.track is not None and snapshot.track.frozen:
        issues.append(
            f"track {snapshot.track.name!r} is frozen, so what plays is Live's rendering, not "
            "the clip's file: unfreeze it (or Flatten it) first"
        )
    if song.tempoAutomated:
        issues.append(
            "the song's tempo is automated, and the bridge turns beats into seconds at one "
            "tempo: remove the tempo automation, or Consolidate the section (Ctrl/Cmd+J) "
            "at the tempo you want and select the new clip"
        )
    loop_start = song.loopStart if song.loop else 0.0
    loop_length = song.loopLength if song.loop else 1.0
    issues += timing_issues(song.tempo, loop_start, loop_length)
    if clip.warping and not issues:
        issues += _warp_issues(clip)
    return issues


def _warp_issues(clip: ClipFacts) -> list[str]:
    try:
        WarpMap.of(clip.warpMarkers)
    except AbletonError as exc:
        return [exc.message]
    return []


def _selection_beats(song: SongFacts, clip: ClipFacts) -> tuple[float, float]:
    """The selection in Arrangement beats (from the clip's start for a Session clip)."""
    if not clip.arrangement:
        low, high = (clip.loopStart, clip.loopEnd) if clip.looping else _markers(clip)
        units = _units_per_beat(song, clip)
        return 0.0, (high - low) / units
    if not song.loop:
        return clip.startTime, clip.endTime
    start = max(clip.startTime, song.loopStart)
    end = min(clip.endTime, song.loopStart + song.loopLength)
    if end - start <= EPSILON:
        raise _refused(
            [
                f"the loop brace (beats {song.loopStart:g} to "
                f"{song.loopStart + song.loopLength:g}) does not cover the clip (beats "
                f"{clip.startTime:g} to {clip.endTime:g}): drag the brace over the part to "
                "use, or switch the loop off to use the whole clip"
            ]
        )
    return start, end


def _markers(clip: ClipFacts) -> tuple[float, float]:
    return clip.startMarker, clip.endMarker


def _units_per_beat(song: SongFacts, clip: ClipFacts) -> float:
    # A warped clip keeps time in beats (the song's); an unwarped one in seconds.
    return 1.0 if clip.warping else 60.0 / song.tempo


def _clip_time(song: SongFacts, clip: ClipFacts) -> Callable[[float], float]:
    """Arrangement beat -> the clip's own time, before its loop folds it back."""
    units = _units_per_beat(song, clip)
    if not clip.arrangement:
        origin = clip.loopStart if clip.looping else clip.startMarker
        return lambda beat: origin + beat * units
    return lambda beat: clip.startMarker + (beat - clip.startTime) * units


def _unlooped(clip: ClipFacts, first: float, last: float) -> tuple[float, float]:
    """Fold a looping clip's time into its loop; refuse a selection that spans the jump."""
    if not (clip.arrangement and clip.looping) or last <= clip.loopEnd + EPSILON:
        return first, last
    length = clip.loopEnd - clip.loopStart
    if first >= clip.loopEnd - EPSILON and length > EPSILON:
        folded = clip.loopStart + math.fmod(first - clip.loopEnd, length)
        if folded + (last - first) <= clip.loopEnd + EPSILON:
            return folded, folded + (last - first)
    raise _refused(
        [
            "the selection runs over the end of the clip's loop, where Live jumps back to the "
            "loop start: Consolidate the clip (Ctrl/Cmd+J) first, or narrow the loop brace "
            "to one pass of the loop"
        ]
    )


def _check_inside_file(clip: ClipFacts, start: float, end: float) -> None:
    if clip.sampleRate <= 0 or clip.sampleLength <= 0:
        return  # Live did not say how long the file is; the pipeline checks it on disk
    length = clip.sampleLength / clip.sampleRate
    sample = 1.0 / clip.sampleRate
    if start < -sample or end > length + sample:
        raise _refused(
            [
                f"the selection plays seconds {start:.3f} to {end:.3f} of the file, which is "
                f"{length:.3f} s long (Live plays silence outside it): narrow the loop brace "
                "to the part of the clip that has audio"
            ]
        )
