"""What every part of the emulator's audio engine shares: types, argument checks, fades, spectra.

Audio is a float32 array of shape ``(frames, channels)``. The public operations live in
:mod:`bridge.emulator.dsp`; this module holds the pieces they have in common, so that the
focused modules (synthesis, tempo, edits, stems) need not import one another.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Int = npt.NDArray[np.int64]

VOCAL_BAND = (300.0, 3000.0)
BASS_CUTOFF = 200.0
MAX_CROSSFADE = 0.05  # seconds; the longest fade any edit may put next to kept material
SWAP_STRENGTH = (0.2, 1.0)
TEMPO_RANGE = (90.0, 130.0)  # bpm of the synthetic songs, melodies and variation segments
LOUDNESS_FLOOR = 1e-9


def seed_for(*parts: object) -> int:
    """A seed in 0..2**32-1 from the parts' reprs, the same in every process (unlike hash())."""
    digest = hashlib.sha256(repr(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def frames(seconds: float, sample_rate: int) -> int:
    """The one rule for turning seconds into a frame count."""
    return round(seconds * sample_rate)


def _show(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bad(name: str, rule: str, value: object) -> ValueError:
    """The caller turns this into an API error: the parameter, what is allowed, what came."""
    return ValueError(f"{name} must be {rule}, got {_show(value)}")


def check_between(name: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not low <= value <= high:  # written this way round so that NaN fails too
        raise bad(name, f"between {_show(low)} and {_show(high)}{unit}", value)


def check_common(sample_rate: int, seed: int | None) -> None:
    check_between("sample_rate", sample_rate, 1, 1_000_000, " Hz")
    if seed is not None:
        check_between("seed", seed, 0, 2**64 - 1)


def prepare(audio: Audio, sample_rate: int, seed: int | None) -> Audio:
    """Validate the common arguments; the returned array is only ever read, never written."""
    check_common(sample_rate, seed)
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(
            "audio must be a 2-D array of shape (frames, channels) with at least one frame "
            f"and one channel, got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError("audio must contain only finite samples, got NaN or infinity")
    return array


def finish(signal: npt.NDArray[np.floating]) -> Audio:
    return np.asarray(np.clip(signal, -1.0, 1.0), dtype=np.float32)


def rms(signal: npt.NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))


def mono(audio: Audio) -> F64:
    """The channels' mean: what the analyses (tempo, matching) listen to."""
    return np.asarray(audio.mean(axis=1, dtype=np.float64), dtype=np.float64)


def fast_length(n: int) -> int:
    """The smallest 2**a * 3**b * 5**c >= n: an FFT of a large prime length is 20x slower."""
    best, twos = n * 2, 1
    while twos < best:
        threes = twos
        while threes < best:
            fives = threes
            while fives < n:
                fives *= 5
            best, threes = min(best, fives), threes * 3
        twos *= 2
    return best


@dataclass(frozen=True)
class Spectrum:
    """Whole-signal rfft of every channel (rows), zero-padded to a fast length.

    Single precision halves time and memory; its ~1e-7 error is far below anything audible.
    """

    bins: npt.NDArray[np.complex64]
    freqs: F64
    frames: int
    size: int

    def band(self, low: float, high: float) -> npt.NDArray[np.bool_]:
        return (self.freqs >= low) & (self.freqs < high)

    def signal(self, bins: npt.NDArray[np.complex64]) -> Audio:
        signal = np.fft.irfft(bins, n=self.size, axis=1)[:, : self.frames].T
        return np.asarray(signal, dtype=np.float32)  # already float32: no copy

    def rms(self, mask: npt.NDArray[np.bool_]) -> float:
        """RMS of the part inside ``mask`` (Parseval, ignoring the DC/Nyquist weighting)."""
        power = 2.0 * float(np.sum(np.square(np.abs(self.bins[:, mask]))))
        return math.sqrt(power / (self.size * self.frames * self.bins.shape[0]))


def spectrum(signal: npt.NDArray[np.floating], sample_rate: int) -> Spectrum:
    n = signal.shape[0]
    size = fast_length(n)
    rows = np.ascontiguousarray(signal.T, dtype=np.float32)  # contiguous rows: faster FFTs
    bins = np.asarray(np.fft.rfft(rows, n=size, axis=1), dtype=np.complex64)  # no copy
    freqs = np.asarray(np.fft.rfftfreq(size, d=1.0 / sample_rate), dtype=np.float64)
    return Spectrum(bins, freqs, n, size)


def xfade(old: npt.NDArray[np.floating], new: npt.NDArray[np.floating], weight: F64) -> F64:
    """Equal-power blend per frame: weight 0 gives ``old`` exactly, weight 1 ``new`` exactly."""
    gain_new = np.sin(weight * (np.pi / 2))
    # sqrt(1 - s**2) rather than cos: cos(pi/2) is 6e-17, not 0, and would leak ``old`` in.
    gain_old = np.sqrt(np.maximum(1.0 - gain_new**2, 0.0))
    return np.asarray(gain_old[:, None] * old + gain_new[:, None] * new, dtype=np.float64)


def edge_ramp(pos: Int, length: int, fade: int) -> F64:
    """0 -> 1 over ``fade`` frames at both ends of a ``length``-frame section, 1 in between."""
    if fade <= 0:
        return np.ones(pos.shape, dtype=np.float64)
    inside = np.minimum(pos + 0.5, length - pos - 0.5)
    return np.asarray(np.clip(inside / fade, 0.0, 1.0), dtype=np.float64)


def fade_frames(sample_rate: int, limit: int, seconds: float = MAX_CROSSFADE) -> int:
    return max(0, min(frames(seconds, sample_rate), limit))
