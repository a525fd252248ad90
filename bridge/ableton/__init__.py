"""Ableton Live, through the AbletonOSC remote script: loop region, tempo, selected clip."""

from bridge.ableton.live import DEFAULT_LISTEN_PORT, DEFAULT_PORT, AbletonLink
from bridge.ableton.timing import (
    LiveSelection,
    beats_to_seconds,
    loop_selection,
    seconds_to_beats,
    timing_issues,
)

__all__ = [
    "DEFAULT_LISTEN_PORT",
    "DEFAULT_PORT",
    "AbletonLink",
    "LiveSelection",
    "beats_to_seconds",
    "loop_selection",
    "seconds_to_beats",
    "timing_issues",
]
