"""A four-stem split that sounds like one: harmonic/percussive separation, mid/side, bands.

In a spectrogram, sustained (harmonic) sounds are horizontal lines and hits (percussive
sounds) vertical ones, so a median along time keeps the first and a median along frequency
the second (Fitzgerald's median-filtering HPSS). Their soft (Wiener) masks share every bin
between the two. Then:

- drums: the percussive part, at every frequency (so most of a kick is drums, not bass);
- bass: the harmonic part below 200 Hz;
- vocals: the harmonic part in 300 Hz..3 kHz, times how centred each bin is (its share of
  mid rather than side energy, squared), so that wide, side-only sounds stay out;
- other: the input minus the three, so that the four add back up to the input.

The short-time transform uses a sine window at 50 % overlap, whose squares add up to one:
masks that are all ones give the input back. One spectrogram per channel is computed once,
and the masks are shared by all channels, which keeps a stereo minute to about a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.emulator.sound import BASS_CUTOFF, F32, VOCAL_BAND, Audio, prepare

_FRAME_SECONDS = 0.046  # ~2048 frames at 44.1/48 kHz: 21 Hz bins, 23 ms hops
_HARMONIC_SECONDS = 0.4  # a sound this long is sustained; the time median's span
_PERCUSSIVE_HZ = 400.0  # a sound this wide is a hit; the frequency median's span
_MEDIAN_CHUNK = 1 << 22  # values per chunk of the median filter, which copies its windows
_FFT_BLOCK = 256  # short-time frames transformed at once
Bins = npt.NDArray[np.complex64]


@dataclass(frozen=True)
class _Grid:
    """Where the short-time frames sit: frame j covers input frames [(j - 1) hop, (j + 1) hop)."""

    size: int
    count: int  # frames of the transform
    frames: int  # frames of the input
    window: F32

    @property
    def hop(self) -> int:
        return self.size // 2


def _grid(frames: int, sample_rate: int) -> _Grid:
    size = 2 ** max(2, round(math.log2(_FRAME_SECONDS * sample_rate)))
    hop = size // 2
    window = np.sin(np.pi * (np.arange(size) + 0.5) / size).astype(np.float32)
    return _Grid(size=size, count=-(-frames // hop) + 1, frames=frames, window=window)


def split_stems(audio: Audio, sample_rate: int) -> dict[str, Audio]:
    """Four stems (vocals, drums, bass, other) that add back up to the input; see the module.

    Summed in that order in float32 they give the input to within one or two float32
    roundings (a few 1e-7 at full scale). Stems are not clipped.
    """
    x = prepare(audio, sample_rate, None)
    grid = _grid(x.shape[0], sample_rate)
    spectra = [_stft(x[:, channel], grid) for channel in range(x.shape[1])]
    harmonic = _harmonic_mask(spectra, grid, sample_rate)
    freqs = np.fft.rfftfreq(grid.size, d=1.0 / sample_rate)
    low = (freqs < BASS_CUTOFF).astype(np.float32)
    vocal = ((freqs >= VOCAL_BAND[0]) & (freqs < VOCAL_BAND[1])).astype(np.float32)
    # Each mask is made just before it is used: a whole spectrogram's worth apiece.
    vocals = _apply(spectra, harmonic * vocal * np.square(_centredness(spectra)), grid)
    drums = _apply(spectra, np.float32(1.0) - harmonic, grid)
    bass = _apply(spectra, harmonic * low, grid)
    other = _residual(x, vocals, drums, bass)
    return {"vocals": vocals, "drums": drums, "bass": bass, "other": other}


def _residual(mix: Audio, *stems: Audio) -> Audio:
    """``mix`` minus the stems, such that adding all back in float32 gives ``mix``.

    The stems are summed exactly as a caller would (left to right, in float32), so that the
    only errors left are the rounding of the residual itself and of that caller's last sum.
    """
    out = np.empty(mix.shape, dtype=np.float32)
    for channel in range(mix.shape[1]):
        total = stems[0][:, channel].copy()
        for stem in stems[1:]:
            total += stem[:, channel]
        # Both are float32, so their difference is exact in float64 before the one rounding.
        out[:, channel] = mix[:, channel].astype(np.float64) - total
    return out


def _stft(signal: F32, grid: _Grid) -> Bins:
    """Spectrogram of one channel, shape (frames, bins), computed a block of frames at a time
    so that the FFT's temporaries stay small."""
    padded = np.zeros((grid.count + 1) * grid.hop, dtype=np.float32)
    padded[grid.hop : grid.hop + grid.frames] = signal
    windows = np.lib.stride_tricks.sliding_window_view(padded, grid.size)[:: grid.hop]
    out = np.empty((grid.count, grid.size // 2 + 1), dtype=np.complex64)
    for top in range(0, grid.count, _FFT_BLOCK):
        out[top : top + _FFT_BLOCK] = np.fft.rfft(windows[top : top + _FFT_BLOCK] * grid.window)
    return out


def _istft(bins: Bins, mask: F32, grid: _Grid) -> F32:
    """The signal whose spectrogram is ``bins * mask`` (or the closest there is to it)."""
    out = np.zeros((grid.count + 1) * grid.hop, dtype=np.float32)
    hop = grid.hop
    for top in range(0, grid.count, _FFT_BLOCK):
        block = bins[top : top + _FFT_BLOCK] * mask[top : top + _FFT_BLOCK]
        pieces = np.fft.irfft(block, n=grid.size).astype(np.float32)
        pieces *= grid.window
        start, count = top * hop, pieces.shape[0]
        # Each frame's first half overlaps the previous frame's second half.
        out[start : start + count * hop] += pieces[:, :hop].reshape(-1)
        out[start + hop : start + (count + 1) * hop] += pieces[:, hop:].reshape(-1)
    return out[hop : hop + grid.frames]


def _apply(spectra: list[Bins], mask: F32, grid: _Grid) -> Audio:
    out = np.empty((grid.frames, len(spectra)), dtype=np.float32)
    for channel, bins in enumerate(spectra):
        out[:, channel] = _istft(bins, mask, grid)
    return out


def _harmonic_mask(spectra: list[Bins], grid: _Grid, sample_rate: int) -> F32:
    """0..1 per bin: the harmonic share (1 minus the percussive share) of its energy."""
    power = np.zeros(spectra[0].shape, dtype=np.float32)
    for bins in spectra:
        power += np.square(bins.real) + np.square(bins.imag)
    level = np.sqrt(power)
    hop_seconds = grid.hop / sample_rate
    along_time = _odd(_HARMONIC_SECONDS / hop_seconds)
    along_freq = _odd(_PERCUSSIVE_HZ * grid.size / sample_rate)
    harmonic = np.square(median_filter(level.T, along_time).T)
    percussive = np.square(median_filter(level, along_freq))
    total = harmonic + percussive
    silent = total <= np.finfo(np.float32).tiny
    # A silent bin has nothing to share; calling it harmonic keeps drums free of it.
    return np.where(silent, np.float32(1.0), harmonic / np.where(silent, 1.0, total))


def _centredness(spectra: list[Bins]) -> F32:
    """0..1 per bin: the share of its energy in the channels' mean (mid) rather than the rest.

    A mono input, or a sound panned dead centre, is 1; a side-only one (L = -R) is 0; a sound
    panned hard to one side of a stereo pair is 0.5.
    """
    mid = sum(spectra[1:], spectra[0]) / np.float32(len(spectra))
    centre = np.square(np.abs(mid))
    side = np.zeros(centre.shape, dtype=np.float32)
    for bins in spectra:
        side += np.square(np.abs(bins - mid))
    side /= np.float32(len(spectra))
    total = centre + side
    silent = total <= np.finfo(np.float32).tiny
    return np.where(silent, np.float32(0.0), centre / np.where(silent, 1.0, total))


def _odd(span: float) -> int:
    return 2 * max(1, round(span / 2)) + 1


def median_filter(values: F32, size: int) -> F32:
    """The median of each value and its ``size // 2`` neighbours either side along the rows.

    ``size`` is odd, and the rows are mirrored past their ends. Partitioning each window is
    several times faster than a general sort-based median, and chunking the rows bounds the
    memory the windows' copy takes.
    """
    half = size // 2
    padded = np.pad(values, ((0, 0), (half, half)), mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, size, axis=1)
    out = np.empty(values.shape, dtype=np.float32)
    rows = max(1, _MEDIAN_CHUNK // max(1, values.shape[1] * size))
    for top in range(0, values.shape[0], rows):
        chunk = np.partition(windows[top : top + rows], half, axis=2)
        out[top : top + rows] = chunk[:, :, half]
    return out
