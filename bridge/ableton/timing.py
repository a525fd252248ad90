"""Live's loop region, in beats, turned into project-timeline seconds. Pure: no I/O.

Assumption: the tempo is constant over the whole project (no tempo automation). AbletonOSC
only reports the tempo at the play position (``/live/song/get/tempo``), not the tempo map, so
a set whose tempo changes before or inside the loop cannot be converted honestly; with tempo
automation the seconds computed here are wrong, and nothing in the API lets us detect it.

Precision: AbletonOSC sends floats as OSC ``f`` (32-bit), so a tempo such as 120.37 bpm
arrives rounded to about 7 significant digits. The arithmetic here only adds the rounding of
one division per end (and of start + length, in beats, for the end): a few ulps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bridge.errors import AbletonError


@dataclass(frozen=True)
class LiveSelection:
    """Live's loop region on the timeline, and the audio file of the selected clip if any."""

    start_seconds: float
    end_seconds: float
    tempo: float
    loop_start_beats: float
    loop_length_beats: float
    clip_path: str | None = None

    @property
    def duration_seconds(self) -> float:
        return self.end_seconds - self.start_seconds


def beats_to_seconds(beats: float, tempo: float) -> float:
    """Beats (quarter notes, Live's unit) to seconds at a constant ``tempo`` in bpm."""
    # Multiply first: beats * 60 is exact for any beat count Live can hold, so the one
    # division is the only rounding.
    return beats * 60.0 / tempo


def seconds_to_beats(seconds: float, tempo: float) -> float:
    return seconds * tempo / 60.0


def timing_issues(tempo: float, loop_start_beats: float, loop_length_beats: float) -> list[str]:
    """Every reason the loop cannot be turned into seconds; empty when it can."""
    issues: list[str] = []
    if not math.isfinite(tempo) or tempo <= 0:
        issues.append(f"tempo is {tempo!r} bpm; Live reported no usable tempo (it must be > 0)")
    if not math.isfinite(loop_start_beats) or loop_start_beats < 0:
        issues.append(
            f"loop start is {loop_start_beats!r} beats; set the loop brace in the Arrangement"
        )
    if not math.isfinite(loop_length_beats) or loop_length_beats <= 0:
        issues.append(
            f"loop length is {loop_length_beats!r} beats; drag the loop brace in the "
            "Arrangement over the section to use (its length must be > 0)"
        )
    return issues


def loop_selection(
    tempo: float,
    loop_start_beats: float,
    loop_length_beats: float,
    clip_path: str | None = None,
) -> LiveSelection:
    """The selection rule: the Arrangement loop brace is the selection, at constant tempo.

    Raises ``AbletonError`` naming every problem at once.
    """
    issues = timing_issues(tempo, loop_start_beats, loop_length_beats)
    if issues:
        raise AbletonError("cannot use Live's loop region: " + "; ".join(issues))
    start = beats_to_seconds(loop_start_beats, tempo)
    end = beats_to_seconds(loop_start_beats + loop_length_beats, tempo)
    return LiveSelection(
        start_seconds=start,
        end_seconds=end,
        tempo=tempo,
        loop_start_beats=loop_start_beats,
        loop_length_beats=loop_length_beats,
        clip_path=clip_path,
    )
