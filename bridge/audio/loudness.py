"""Loudness matching for splices: ITU-R BS.1770 integrated loudness, through pyloudnorm
(imported when a loudness is measured: `audio.match_loudness` is off by default).

A regenerated section that comes back louder or quieter than the song around it stands
out however smooth its crossfades are. The new material is turned up or down so that its
integrated loudness (K-weighted, gated) equals the kept original's.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from bridge.audio.splice import Samples

log = logging.getLogger(__name__)

BLOCK_SECONDS = 0.4  # BS.1770's gating block: shorter audio has no integrated loudness
MAX_GAIN_DB = 12.0  # beyond this the material is too different to be matched by a gain


def integrated_loudness(data: Samples, rate: int) -> float | None:
    """LUFS of `data` (frames, channels), or None when it is shorter than one gating
    block or silent below the absolute gate."""
    if data.shape[0] < math.ceil(BLOCK_SECONDS * rate) + 1:
        return None
    import pyloudnorm  # with scipy, about 2 s and most of a start's memory: only when matching

    with np.errstate(divide="ignore"):  # silence: log10 of 0, which the gate then drops
        value = float(pyloudnorm.Meter(rate).integrated_loudness(data))
    return value if math.isfinite(value) else None


def matching_gain(reference: Samples, material: Samples, rate: int) -> float:
    """The linear gain that gives `material` the integrated loudness of `reference`, within
    +-12 dB; 1.0 when either cannot be measured."""
    wanted = integrated_loudness(reference, rate)
    found = integrated_loudness(material, rate)
    if wanted is None or found is None:
        log.info("loudness not matched: the section or its surroundings are too short or silent")
        return 1.0
    gain_db = max(-MAX_GAIN_DB, min(MAX_GAIN_DB, wanted - found))
    log.info("new material %.1f LUFS, original %.1f LUFS: gain %+.1f dB", found, wanted, gain_db)
    return float(10.0 ** (gain_db / 20.0))
