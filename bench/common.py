"""What every bench script prints the same way: min/median/max of interleaved repeats and
the ratio of medians against a baseline measured in the same run.

The machine these run on is shared, so only the ratios mean something; the absolute figures
are printed to show the spread.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def spread(values: Sequence[float], scale: float = 1000.0, unit: str = "ms") -> str:
    """`min .. median .. max` of `values` (seconds by default, printed in milliseconds)."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return (
        f"min {low * scale:9.2f}  median {mid * scale:9.2f}  max {high * scale:9.2f} {unit}"
        f"  (n {len(values)})"
    )


def ratio_line(ours: Sequence[float], base: Sequence[float], target: float | None) -> str:
    """The ratio of medians, the ratios of the minima and maxima, and the verdict."""
    ratio = statistics.median(ours) / statistics.median(base)
    line = (
        f"ratio of medians {ratio:.2f}x (of minima {min(ours) / min(base):.2f}x, of maxima "
        f"{max(ours) / max(base):.2f}x)"
    )
    if target is None:
        return line
    return f"{line}, target <= {target:g}x: {'met' if ratio <= target else 'missed'}"
