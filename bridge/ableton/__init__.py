"""Ableton Live: our own remote script (ProducerBridge, shipped in remote_script/) and its
loopback link, the warp-aware mapping of the loop brace to the clip's file (warp.py,
window.py: no I/O), its installer; and the AbletonOSC client kept for those who use it."""

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
