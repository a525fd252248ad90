"""The emulator's audio engine: simple, seeded signal processing with exact lengths.

This is NOT a music-generation model and does not pretend to be one. It stands in for the
Producer service so that the rest of the bridge can be tested against audio whose lengths,
channel counts and untouched regions are exactly what the real API promises, and so that a
person can judge the workflow by ear. "Songs" are sine chords over a synthetic beat,
"extensions" loop whole bars of the tempo they hear, "replacements" reuse the best-matching
material of the same clip, "covers" are filters, and the stems come from a real (if simple)
harmonic/percussive and mid/side split: honest, deterministic stand-ins whose output depends
only on the arguments (equal seeds give equal audio, bit for bit).

Audio is a float32 array of shape ``(frames, channels)``. Every function returns a new array
and leaves its input alone; results are clipped to [-1, 1] except the stems of
``split_stems``, which must add back up to the input.

This module is the public face; the work is done in :mod:`~bridge.emulator.synth` (songs),
:mod:`~bridge.emulator.tempo`, :mod:`~bridge.emulator.edits` (extend, replace) and
:mod:`~bridge.emulator.stems`, on the shared pieces of :mod:`~bridge.emulator.sound`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bridge.emulator.edits import extend, replace
from bridge.emulator.sound import (
    BASS_CUTOFF,
    F64,
    LOUDNESS_FLOOR,
    MAX_CROSSFADE,
    SWAP_STRENGTH,
    TEMPO_RANGE,
    VOCAL_BAND,
    Audio,
    bad,
    check_between,
    check_common,
    edge_ramp,
    fade_frames,
    finish,
    frames,
    prepare,
    rms,
    seed_for,
    spectrum,
    xfade,
)
from bridge.emulator.stems import split_stems
from bridge.emulator.synth import make_plan, melody, place, synthesize

__all__ = [
    "BASS_CUTOFF",
    "MAX_CROSSFADE",
    "SWAP_STRENGTH",
    "VOCAL_BAND",
    "Audio",
    "cover",
    "create",
    "extend",
    "frames",
    "replace",
    "seed_for",
    "split_stems",
    "swap_sound",
    "swap_vocals",
    "variation",
]


def create(
    seconds: float,
    sample_rate: int,
    seed: int,
    prompts: Sequence[tuple[str, float]],
    channels: int = 2,
) -> Audio:
    """A seeded synthetic song: a repeating four-bar loop of chords, bass, kick and hats.

    The tempo is 90..130 bpm. Prompts nudge tempo and brightness, each text its own stable way;
    a prompt that names a layer ("drums", "bass", "piano", ...) turns it up with a positive
    strength and down with a negative one. Exactly ``frames(seconds, sample_rate)`` long.
    """
    check_common(sample_rate, seed)
    if not (math.isfinite(seconds) and seconds > 0 and frames(seconds, sample_rate) >= 1):
        raise bad("seconds", "more than 0 (at least one sample long)", seconds)
    check_between("channels", channels, 1, 64)
    for index, (text, strength) in enumerate(prompts):
        if not isinstance(text, str):
            raise bad(f"prompts[{index}] text", "a string", text)
        if not math.isfinite(strength):
            raise bad(f"prompts[{index}] strength", "a finite number", strength)
    n = frames(seconds, sample_rate)
    return finish(synthesize(make_plan(seed, prompts), n, sample_rate, channels, seed))


def cover(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """A "restyled" input: seeded EQ, a shift of a few Hz and saturation, blended in.

    ``strength`` 0..1 is the share of the restyled signal; 0 returns the input unchanged.
    Nothing is resampled, so the length is exact.
    """
    x = prepare(audio, sample_rate, seed)
    check_between("strength", strength, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    whole = spectrum(x, sample_rate)
    bins = whole.bins * _seeded_eq(whole.freqs, sample_rate, rng).astype(np.float32)
    shift = round(float(rng.uniform(-6.0, 6.0)) * whole.size / sample_rate)
    bins = np.roll(bins, shift, axis=1)
    if shift > 0:
        bins[:, :shift] = 0
    elif shift < 0:
        bins[:, shift:] = 0
    styled = whole.signal(bins)
    peak = float(np.max(np.abs(styled)))
    drive = float(rng.uniform(1.5, 4.0))
    if peak > LOUDNESS_FLOOR:
        styled = np.tanh(drive * styled / peak) / np.tanh(drive)
        styled *= rms(x) / max(rms(styled), LOUDNESS_FLOOR)
    return finish((1.0 - strength) * x + strength * styled)


def _seeded_eq(freqs: F64, sample_rate: int, rng: np.random.Generator) -> F64:
    """Gain per bin: a seeded tilt plus four broad bumps or dips, within +-18 dB."""
    octave = np.log2(np.maximum(freqs, 20.0) / 1000.0)
    gain_db = float(rng.uniform(-3.0, 3.0)) * octave
    top = math.log2(max(min(12000.0, sample_rate / 2.0), 100.0) / 1000.0)
    for _ in range(4):
        centre = float(rng.uniform(math.log2(0.06), top))
        width = float(rng.uniform(0.5, 1.5))
        gain_db += float(rng.uniform(-9.0, 9.0)) * np.exp(-0.5 * ((octave - centre) / width) ** 2)
    return np.asarray(10.0 ** (np.clip(gain_db, -18.0, 18.0) / 20.0), dtype=np.float64)


def _swap_band(x: Audio, new: F64, sample_rate: int, strength: float, inside: bool) -> Audio:
    """Fade the vocal band (``inside``) or everything else toward ``new``, level-matched."""
    check_between("strength", strength, *SWAP_STRENGTH)
    ours, theirs = spectrum(x, sample_rate), spectrum(new, sample_rate)
    region = ours.band(*VOCAL_BAND)
    if not inside:
        region = ~region
    # A silent region still gets some new material, or strength would do nothing.
    target = max(ours.rms(region), 0.5 * rms(x), 0.05)
    gain = target / max(theirs.rms(region), LOUDNESS_FLOOR)
    keep = np.where(region, np.float32(1.0 - strength), np.float32(1.0))
    add = region.astype(np.float32) * np.float32(strength * gain)
    return finish(ours.signal(ours.bins * keep + theirs.bins * add))


def swap_sound(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """Keep the vocal band (300 Hz..3 kHz); outside it, fade toward a seeded accompaniment.

    ``strength`` 0.2..1 is the share of the synthetic accompaniment outside the band.
    """
    x = prepare(audio, sample_rate, seed)
    n, channels = x.shape
    backing = synthesize(make_plan(seed, ()), n, sample_rate, channels, seed)
    return _swap_band(x, backing, sample_rate, strength, inside=False)


def swap_vocals(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """Keep everything outside the vocal band; inside it, fade toward a seeded melody.

    ``strength`` 0.2..1 is the share of the synthetic melody inside the band.
    """
    x = prepare(audio, sample_rate, seed)
    line = melody(x.shape[0], sample_rate, np.random.default_rng(seed))
    return _swap_band(x, place(line, 0.0, x.shape[1]), sample_rate, strength, inside=True)


def variation(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """The input with some seeded beat-sized segments trading places (10 ms crossfades).

    ``strength`` 0..1 is the share of segments that move; 0 returns the input unchanged and
    anything above 0 moves at least two. Segments that stay are bit-identical.
    """
    x = prepare(audio, sample_rate, seed)
    check_between("strength", strength, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    beat = max(1, frames(60.0 / rng.uniform(*TEMPO_RANGE), sample_rate))
    count = n // beat
    moved = min(count, max(2, math.ceil(strength * count))) if strength > 0 else 0
    if moved < 2:
        return finish(x)
    chosen = rng.choice(count, size=moved, replace=False)
    source = np.arange(count)
    source[chosen] = np.roll(chosen, 1)  # a cycle through the chosen ones: each of them moves
    segment, pos = np.divmod(np.arange(count * beat, dtype=np.int64), beat)
    origin = np.arange(n, dtype=np.int64)
    origin[: count * beat] = source[segment] * beat + pos
    weight = np.zeros(n, dtype=np.float64)
    fade = fade_frames(sample_rate, beat // 2, seconds=0.01)
    weight[: count * beat] = (source != np.arange(count))[segment] * edge_ramp(pos, beat, fade)
    return finish(xfade(x, x[origin], weight))
