"""Live's warp markers: a clip's beats to seconds of its audio file and back. Pure: no I/O.

A warped audio clip pins points of its file (source seconds) to points of its own beat time
(clip beats, 0 at the clip's 1.1.1) with warp markers; between two markers Live stretches the
audio evenly, so the mapping is piecewise linear. Past the outer markers it keeps the rate of
the nearest segment (the LOM's `Clip.warp_markers` ends with a marker past the clip's last
one for that reason). An unwarped clip plays its file at its own speed: one straight segment.

The mapping is honest only when both columns rise strictly: two markers at one beat (or one
second) would be a jump, which Live does not play. `WarpMap.of` refuses those.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bridge.errors import AbletonError

# Marker values Live reports closer than this are the same point (beats or seconds).
EPSILON = 1e-9


@dataclass(frozen=True)
class WarpMarker:
    """One pin: clip beat `beat` plays source second `seconds`."""

    beat: float
    seconds: float


def marker_issues(pairs: Sequence[tuple[float, float]]) -> list[str]:
    """Every reason `pairs` (beat, seconds) are not a warp map the bridge can follow."""
    if len(pairs) < 2:
        return [
            f"the clip has {len(pairs)} warp marker(s); two are needed to know its speed: "
            "switch Warp off and on again in the Clip View so Live sets them"
        ]
    issues: list[str] = []
    if not all(math.isfinite(b) and math.isfinite(s) for b, s in pairs):
        issues.append("a warp marker is not a finite number")
        return issues
    for (b0, s0), (b1, s1) in itertools.pairwise(pairs):
        if b1 - b0 <= EPSILON or s1 - s0 <= EPSILON:
            issues.append(
                f"the warp markers at beats {b0:g} and {b1:g} (seconds {s0:g} and {s1:g}) do "
                "not both rise: the audio would jump or run backwards there"
            )
    return issues


@dataclass(frozen=True)
class WarpMap:
    """Clip beats <-> source seconds through warp markers (sorted by beat, at least two)."""

    markers: tuple[WarpMarker, ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[float, float]]) -> WarpMap:
        """A map from (beat, seconds) pairs in any order; AbletonError names every problem."""
        ordered = sorted((float(b), float(s)) for b, s in pairs)
        issues = marker_issues(ordered)
        if issues:
            raise AbletonError("cannot follow the clip's warp markers: " + "; ".join(issues))
        return cls(tuple(WarpMarker(b, s) for b, s in ordered))

    def _segment(self, values: list[float], value: float) -> tuple[WarpMarker, WarpMarker]:
        # Outside the markers the outer segment goes on (Live keeps its rate).
        index = bisect.bisect_right(values, value)
        index = min(max(index, 1), len(self.markers) - 1)
        return self.markers[index - 1], self.markers[index]

    def seconds_at(self, beat: float) -> float:
        """The source second that plays at clip beat `beat`."""
        a, b = self._segment([m.beat for m in self.markers], beat)
        return a.seconds + (beat - a.beat) * (b.seconds - a.seconds) / (b.beat - a.beat)

    def beat_at(self, seconds: float) -> float:
        """The clip beat at which source second `seconds` plays."""
        a, b = self._segment([m.seconds for m in self.markers], seconds)
        return a.beat + (seconds - a.seconds) * (b.beat - a.beat) / (b.seconds - a.seconds)

    def window(self, first: float, last: float) -> tuple[WarpMarker, ...]:
        """The map between clip beats `first` and `last`, measured from `first` and from the
        source second it plays: the warp markers a clip of just that audio needs to play in
        time (its own first marker at beat 0, second 0)."""
        start = self.seconds_at(first)
        inner = [m for m in self.markers if first + EPSILON < m.beat < last - EPSILON]
        ends = [WarpMarker(first, start), *inner, WarpMarker(last, self.seconds_at(last))]
        return tuple(WarpMarker(m.beat - first, m.seconds - start) for m in ends)
