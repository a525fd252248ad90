"""The tempo of a stretch of audio, from how regularly its onsets recur.

An onset-strength envelope (positive spectral flux of the log spectrum, ~100 frames per
second) is autocorrelated, and the strongest peak between 60 and 180 bpm, weighted toward
120 bpm so that the beat wins over its half or double, gives the beat. The peak's height
(the envelope's correlation with itself one beat later, 0..1) says how clear the pulse is:
noise, silence and sustained sounds have none, and then there is no tempo to report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bridge.emulator.sound import F32, F64, LOUDNESS_FLOOR, Audio, frames, mono

MAX_ANALYSIS = 30.0  # seconds; longer material is analysed by its last 30 s only
BPM_RANGE = (60.0, 180.0)
MIN_CLARITY = 0.3  # noise stays well below (about 0.1), a steady beat well above (0.6+)
_ENVELOPE_RATE = 100.0  # envelope frames per second
_PRIOR_CENTRE = 120.0  # bpm
_PRIOR_OCTAVES = 1.0  # the prior's width (standard deviation) in octaves of tempo
_DYNAMIC_RANGE = 1000.0  # the log spectrum compresses levels below 1/1000 of the loudest


@dataclass(frozen=True)
class Tempo:
    beat: float  # seconds
    clarity: float  # 0..1, see the module's docstring

    @property
    def bpm(self) -> float:
        return 60.0 / self.beat


def estimate(audio: Audio, sample_rate: int) -> Tempo | None:
    """The tempo of the last ``MAX_ANALYSIS`` s of ``audio``, or None if it has no clear pulse.

    The material must hold at least two beats of the tempo found.
    """
    tail = audio[-max(1, frames(MAX_ANALYSIS, sample_rate)) :]
    hop = max(1, round(sample_rate / _ENVELOPE_RATE))
    envelope = onset_envelope(mono(tail), hop)
    correlation = _autocorrelation(envelope)
    if correlation is None:
        return None
    rate = sample_rate / hop
    lag = _beat_lag(correlation, rate)
    if lag is None:
        return None
    clarity = float(np.interp(lag, np.arange(correlation.shape[0]), correlation))
    # A short envelope correlates with itself by chance: about 1/sqrt(products) for noise.
    if clarity < max(MIN_CLARITY, 4.0 / math.sqrt(correlation.shape[0] - lag)):
        return None
    return Tempo(beat=_refine(correlation, lag) / rate, clarity=min(clarity, 1.0))


def onset_envelope(signal: F64, hop: int) -> F64:
    """How much new energy each ``hop``-frame step brings, summed over the spectrum.

    The log spectrum makes a quiet hat count as well as a loud kick, and is scaled to the
    loudest bin so that the envelope does not depend on the overall level.
    """
    size = 4 * hop
    count = signal.shape[0] // hop + 1
    padded = np.zeros((count + 3) * hop, dtype=np.float32)
    padded[2 * hop : 2 * hop + signal.shape[0]] = signal
    windows = np.lib.stride_tricks.sliding_window_view(padded, size)[::hop][:count]
    window = np.hanning(size + 2)[1:-1].astype(np.float32)
    magnitude: F32 = np.abs(np.fft.rfft(windows * window, axis=1))
    loudest = float(magnitude.max()) if magnitude.size else 0.0
    if loudest <= LOUDNESS_FLOOR:
        return np.zeros(count, dtype=np.float64)
    level = np.log1p(magnitude * np.float32(_DYNAMIC_RANGE / loudest))
    flux = np.maximum(np.diff(level, axis=0, prepend=level[:1]), 0.0)
    return np.asarray(flux.mean(axis=1), dtype=np.float64)


def _autocorrelation(envelope: F64) -> F64 | None:
    """The envelope's normalised autocorrelation per lag (1 at lag 0), or None if it is flat.

    Each lag is divided by the number of products it sums, so that a pulse is scored the
    same at long lags as at short ones.
    """
    count = envelope.shape[0]
    centred = envelope - envelope.mean()
    if count < 4 or float(np.dot(centred, centred)) <= LOUDNESS_FLOOR**2 * count:
        return None
    size = 2 * count
    power = np.square(np.abs(np.fft.rfft(centred, n=size)))
    raw = np.fft.irfft(power, n=size)[:count]
    unbiased = raw / (count - np.arange(count))
    return np.asarray(unbiased / unbiased[0], dtype=np.float64)


def _beat_lag(correlation: F64, rate: float) -> float | None:
    """The lag (envelope frames, fractional) of the most likely beat, if the range allows one.

    Only lags up to half the envelope are considered: a period is only believed once it has
    been heard at least twice.
    """
    low = math.ceil(rate * 60.0 / BPM_RANGE[1])
    high = min(math.floor(rate * 60.0 / BPM_RANGE[0]), correlation.shape[0] // 2)
    if high - low < 2:
        return None
    lags = np.arange(low, high + 1)
    values = correlation[low : high + 1]
    peaks = (values >= correlation[low - 1 : high]) & (values >= correlation[low + 1 : high + 2])
    if not peaks.any():
        return None
    octaves = np.log2(rate * 60.0 / lags / _PRIOR_CENTRE)
    score = np.where(peaks, values * np.exp(-0.5 * (octaves / _PRIOR_OCTAVES) ** 2), -np.inf)
    return _peak_at(correlation, int(lags[int(np.argmax(score))]))


def _refine(correlation: F64, lag: float) -> float:
    """The beat measured over as many beats as the envelope allows (up to 16), per beat.

    A peak's position is known to about a tenth of a frame wherever it is, so measuring
    the period over k beats makes the beat k times more precise.
    """
    beat = lag
    for beats in (2, 4, 8, 16):
        guess = beats * beat
        if guess + 2 >= correlation.shape[0] // 2 + 1:
            break
        centre = round(guess)
        near = correlation[centre - 2 : centre + 3]
        beat = _peak_at(correlation, centre - 2 + int(np.argmax(near))) / beats
    return beat


def _peak_at(values: F64, index: int) -> float:
    """Where the parabola through ``index`` and its neighbours peaks (index if at an edge)."""
    if index <= 0 or index >= values.shape[0] - 1:
        return float(index)
    left, mid, right = values[index - 1], values[index], values[index + 1]
    curve = left - 2.0 * mid + right
    if curve >= 0:  # not a peak (flat or a dip): nothing to interpolate
        return float(index)
    return index + float(np.clip(0.5 * (left - right) / curve, -0.5, 0.5))
