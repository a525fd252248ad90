"""Edits of an uploaded clip that reuse its own material: extend (loop) and replace (refill).

Both listen to the clip before cutting it. ``extend`` loops whole bars of the tempo it hears,
so that the loop keeps the groove; ``replace`` refills a section from the place whose
surroundings sound most like the section's own, preferring whole beats away, so that the
seams fall where the music would have gone on anyway. Without a clear tempo or a clear match
(noise, silence, too little context) both fall back to a seeded choice, as before.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from bridge.emulator import tempo
from bridge.emulator.sound import (
    F64,
    LOUDNESS_FLOOR,
    Audio,
    Int,
    bad,
    edge_ramp,
    fade_frames,
    fast_length,
    finish,
    frames,
    mono,
    prepare,
    xfade,
)

_FALLBACK_LOOP = (2.0, 4.0)  # seconds, when the material has no clear tempo
_LOOP_BARS = (1, 2, 4)  # the seed picks among those that fit before continue_at
_BEATS_PER_BAR = 4
_CONTEXT = 2.0  # seconds of surroundings compared on each side of a section
_REFINE_CONTEXT = 0.25  # seconds next to the seams that settle the exact frame
_MATCH_RATE = 4000.0  # Hz; the search runs on a decimated mono signal, then is refined
_LEVEL_WINDOW = 0.01  # seconds over which the loudness envelope is averaged
_MIN_MATCH = 0.3  # correlation below which nothing really matches: the seed decides
_TIE = 0.01  # scores this close to the best are a tie, which the seed breaks
_BEAT_BONUS = 0.1  # added to a candidate exactly a whole number of beats away
_BEAT_TOLERANCE = 0.05  # beats; how far off a whole number of beats still earns the bonus


def extend(
    audio: Audio, sample_rate: int, continue_at: float, extend_duration: float, seed: int
) -> Audio:
    """The whole song: the input up to ``continue_at`` (bit-identical), then a loop of it.

    The loop ends at ``continue_at`` and is 1, 2 or 4 bars (seeded, of those that fit) of
    the tempo heard in the last 30 s before it, or two beats if not even a bar fits; without
    a clear tempo it is the last 2..4 s (seeded). Each repeat, the first included, fades in
    over at most 50 ms from what the material would have continued with.
    """
    x = prepare(audio, sample_rate, seed)
    length = x.shape[0] / sample_rate
    cut = frames(continue_at, sample_rate) if math.isfinite(continue_at) else 0
    if not (continue_at > 0 and 1 <= cut <= x.shape[0]):
        rule = f"more than 0 and at most {length:g} s (the clip's length)"
        raise bad("continue_at", rule, continue_at)
    if not (math.isfinite(extend_duration) and frames(extend_duration, sample_rate) >= 1):
        raise bad("extend_duration", "more than 0 s (at least one sample)", extend_duration)
    loop = loop_frames(x[:cut], sample_rate, np.random.default_rng(seed))
    fade = fade_frames(sample_rate, loop // 2)
    # Past each seam the loop would have been followed by the material after continue_at;
    # when the clip ends there, its mirror image is the closest stand-in.
    after = x[cut : cut + fade]
    tail = after if after.shape[0] == fade else x[cut - fade : cut][::-1]
    pos = np.arange(frames(extend_duration, sample_rate), dtype=np.int64) % loop
    seam = pos < fade
    weight = np.ones(pos.shape, dtype=np.float64)
    weight[seam] = (pos[seam] + 0.5) / fade
    old = np.zeros((pos.shape[0], x.shape[1]), dtype=np.float32)
    old[seam] = tail[pos[seam]]
    return finish(np.concatenate([x[:cut], xfade(old, x[cut - loop : cut][pos], weight)]))


def loop_frames(material: Audio, sample_rate: int, rng: np.random.Generator) -> int:
    """How many frames at the end of ``material`` to loop (see ``extend``)."""
    found = tempo.estimate(material, sample_rate)
    if found is None:
        seconds = float(rng.uniform(*_FALLBACK_LOOP))
        return min(int(material.shape[0]), max(1, frames(seconds, sample_rate)))
    bar = _BEATS_PER_BAR * found.beat * sample_rate
    fits = [bars for bars in _LOOP_BARS if round(bars * bar) <= material.shape[0]]
    if not fits:  # the estimate needs two beats, so two beats always fit
        return round(2 * found.beat * sample_rate)
    return round(fits[int(rng.integers(len(fits)))] * bar)


def replace(audio: Audio, sample_rate: int, start: float, end: float, seed: int) -> Audio:
    """The input with [start, end) refilled from the best-matching position of the same clip.

    The source is where the material just before and after a section of this length
    correlates best with the material around [start, end) (waveform and loudness contour),
    with a bonus for a whole number of beats away; near-ties, or no clear match at all, are
    settled by the seed. Frames outside the section are bit-identical; inside it, the new
    material fades in and out over at most 50 ms at each edge. The source wraps around the
    clip's end only if it must, and never overlaps the section when the clip is long enough.
    """
    x = prepare(audio, sample_rate, seed)
    n = x.shape[0]
    length = n / sample_rate
    if not 0 <= start < length:
        raise bad("start", f"at least 0 and less than {length:g} s (the clip's length)", start)
    if not start < end <= length:
        raise bad("end", f"more than start ({start:g} s) and at most {length:g} s", end)
    first, stop = frames(start, sample_rate), frames(end, sample_rate)
    if stop <= first:
        raise bad("end", f"at least one sample after start ({start:g} s)", end)
    size = stop - first
    source = _Matcher(x, sample_rate, first, stop).source(np.random.default_rng(seed))
    fill = x[(source + np.arange(size)) % n]
    weight = edge_ramp(np.arange(size), size, fade_frames(sample_rate, size // 2))
    out = x.astype(np.float64)
    out[first:stop] = xfade(x[first:stop], fill, weight)
    return finish(out)


class _Matcher:
    """Finds where to take the material for the section [first, stop) of ``audio``."""

    def __init__(self, audio: Audio, sample_rate: int, first: int, stop: int) -> None:
        self.audio, self.rate = audio, sample_rate
        self.n, self.first, self.stop = audio.shape[0], first, stop
        self.size = stop - first
        self.spare = self.n - 2 * self.size  # >= 0: room for a source clear of the section

    def source(self, rng: np.random.Generator) -> int:
        """The first frame of the fill (taken modulo the clip's length)."""
        signal = mono(self.audio)
        grid = self._coarse(signal, rng)
        if grid is None:
            return self._seeded(rng)
        return self._refine(signal, grid)

    def _seeded(self, rng: np.random.Generator) -> int:
        """Any allowed source, by seed alone (the choice made before matching existed)."""
        if self.spare >= 0:  # then any of these spare + 1 starts after the section is clear
            return self.stop + int(rng.integers(0, self.spare + 1))
        return self.first + int(rng.integers(1, self.n)) if self.n > 1 else 0

    def allowed(self, starts: Int) -> npt.NDArray[np.bool_]:
        """Starts whose fill never reads the section (or, in a short clip, lies far from it).

        Starts whose fill would wrap around the clip's end count only if no other does.
        """
        if self.spare >= 0:
            ok = (starts - self.stop) % self.n <= self.spare
        else:
            away = (starts - self.first) % self.n
            ok = np.minimum(away, self.n - away) >= max(1, self.n // 4)
        whole = ok & (starts + self.size <= self.n)
        return np.asarray(whole if whole.any() else ok, dtype=np.bool_)

    def _coarse(self, signal: F64, rng: np.random.Generator) -> int | None:
        """The best start on the decimated grid (a frame number), or None without a match."""
        step = max(1, round(self.rate / _MATCH_RATE))
        small = _decimate(signal, step)
        starts = np.arange(small.shape[0], dtype=np.int64) * step
        ok = self.allowed(starts)
        score = self._context_score(small, step)
        if score is None or not ok.any() or float(score[ok].max()) < _MIN_MATCH:
            return None
        total = np.where(ok, score + self._beat_bonus(starts), -np.inf)
        ties = np.flatnonzero(total >= float(total.max()) - _TIE)
        return int(starts[int(rng.choice(ties))])

    def _context_score(self, small: F64, step: int) -> F64 | None:
        """Per grid start: how well the surroundings there match the section's (-1..1)."""
        reach = frames(_CONTEXT, self.rate) // step
        head = self.first // step
        tail = -(-self.stop // step)
        before, after = min(reach, head), min(reach, small.shape[0] - tail)
        if before + after < 2:
            return None
        level = _level(small, max(1, frames(_LEVEL_WINDOW, self.rate) // step))
        total = np.zeros(small.shape[0], dtype=np.float64)
        for feature in (small, level):
            if before:
                total += before * _windows(feature, feature[head - before : head], -before)
            if after:
                ahead = tail - head
                total += after * _windows(feature, feature[tail : tail + after], ahead)
        return np.asarray(total / (2.0 * (before + after)), dtype=np.float64)

    def _beat_bonus(self, starts: Int) -> F64:
        """A bonus for starts a whole number of beats from the section's own start."""
        middle = (self.first + self.stop) // 2
        half = frames(tempo.MAX_ANALYSIS / 2, self.rate)
        found = tempo.estimate(self.audio[max(0, middle - half) : middle + half], self.rate)
        if found is None:
            return np.zeros(starts.shape, dtype=np.float64)
        offset = (starts - self.first + self.n // 2) % self.n - self.n // 2
        beats = offset / (found.beat * self.rate)
        miss = (beats - np.round(beats)) / _BEAT_TOLERANCE
        return np.asarray(_BEAT_BONUS * np.exp(-0.5 * miss**2), dtype=np.float64)

    def _refine(self, signal: F64, guess: int) -> int:
        """The frame near ``guess`` whose seams' surroundings match best, at full rate."""
        step = max(1, round(self.rate / _MATCH_RATE))
        starts = np.arange(guess - step + 1, guess + step, dtype=np.int64) % self.n
        ok = self.allowed(starts)
        reach = frames(_REFINE_CONTEXT, self.rate)
        before = min(reach, self.first)
        after = min(reach, self.n - self.stop)
        low = guess - step + 1
        score = np.zeros(starts.shape, dtype=np.float64)
        if before:
            context = signal[self.first - before : self.first]
            score += before * _windows(signal, context, low - before, starts.shape[0])
        if after:
            context = signal[self.stop : self.stop + after]
            score += after * _windows(signal, context, low + self.size, starts.shape[0])
        if not ok.any():
            return guess
        return int(starts[int(np.argmax(np.where(ok, score, -np.inf)))])


def _decimate(signal: F64, step: int) -> F64:
    """Means of ``step``-frame blocks: a cheap low-pass and downsample in one."""
    padded = np.zeros(-(-signal.shape[0] // step) * step, dtype=np.float64)
    padded[: signal.shape[0]] = signal
    return np.asarray(padded.reshape(-1, step).mean(axis=1), dtype=np.float64)


def _level(signal: F64, width: int) -> F64:
    """RMS over ``width`` frames around each frame, wrapping around the ends."""
    reach = np.arange(-(width // 2), signal.shape[0] + width - width // 2)
    extended = np.take(signal, reach, mode="wrap")
    total = np.concatenate([[0.0], np.cumsum(np.square(extended))])
    mean = (total[width : width + signal.shape[0]] - total[: signal.shape[0]]) / width
    return np.asarray(np.sqrt(np.maximum(mean, 0.0)), dtype=np.float64)


def _windows(signal: F64, template: F64, offset: int, count: int | None = None) -> F64:
    """Pearson correlation of ``template`` with windows of ``signal`` (which wraps around).

    Entry k is for the window starting at ``offset + k``; there are ``count`` of them, or one
    per frame of ``signal``. A flat window or template correlates 0 with anything.
    """
    count = signal.shape[0] if count is None else count
    width = template.shape[0]
    stretch = np.take(signal, np.arange(count + width - 1) + offset, mode="wrap")
    centred = template - template.mean()
    norm = math.sqrt(float(np.dot(centred, centred)))
    if width < 2 or norm <= LOUDNESS_FLOOR:
        return np.zeros(count, dtype=np.float64)
    size = fast_length(stretch.shape[0])
    product = np.fft.rfft(stretch, n=size) * np.conj(np.fft.rfft(centred, n=size))
    dots = np.fft.irfft(product, n=size)[:count]
    sums = np.concatenate([[0.0], np.cumsum(stretch)])
    squares = np.concatenate([[0.0], np.cumsum(np.square(stretch))])
    first = sums[width : width + count] - sums[:count]
    second = squares[width : width + count] - squares[:count]
    spread = np.sqrt(np.maximum(second - first**2 / width, 0.0))
    flat = spread <= LOUDNESS_FLOOR * math.sqrt(width)
    return np.asarray(np.where(flat, 0.0, dots / np.where(flat, 1.0, spread * norm)))
