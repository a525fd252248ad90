"""The emulator's audio engine: simple, seeded signal processing with exact lengths.

This is NOT a music-generation model and does not pretend to be one. It stands in for the
Producer service so that the rest of the bridge can be tested against audio whose lengths,
channel counts and untouched regions are exactly what the real API promises. "Songs" are
sine chords over a synthetic beat, "extensions" are loops, "covers" are filters: honest,
deterministic stand-ins whose output depends only on the arguments (equal seeds give equal
audio, bit for bit).

Audio is a float32 array of shape ``(frames, channels)``. Every function returns a new array
and leaves its input alone; results are clipped to [-1, 1] except the stems of
``split_stems``, which must add back up to the input.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_Int = npt.NDArray[np.int64]

VOCAL_BAND = (300.0, 3000.0)
BASS_CUTOFF = 200.0
MAX_CROSSFADE = 0.05  # seconds; the longest fade any edit may put next to kept material
SWAP_STRENGTH = (0.2, 1.0)

_TEMPO = (90.0, 130.0)
_LOUDNESS_FLOOR = 1e-9
_LAYER_WORDS = {
    "drums": ("drum", "beat", "kick", "snare", "hat", "percussion", "groove"),
    "bass": ("bass", "sub", "808", "low end"),
    "chords": ("chord", "pad", "synth", "piano", "keys", "harmony", "guitar", "string"),
}
# Semitone offsets of four bar-long chords; minor where the degree is minor in a major key.
_PROGRESSIONS = ((0, 7, 9, 5), (9, 5, 0, 7), (0, 5, 7, 5), (0, 9, 5, 7), (0, 4, 5, 7))
_MINOR_DEGREES = (2, 4, 9)
_PENTATONIC = (0, 2, 4, 7, 9)


def seed_for(*parts: object) -> int:
    """A seed in 0..2**32-1 from the parts' reprs, the same in every process (unlike hash())."""
    digest = hashlib.sha256(repr(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def frames(seconds: float, sample_rate: int) -> int:
    """The one rule for turning seconds into a frame count."""
    return round(seconds * sample_rate)


# --- validation -------------------------------------------------------------------------


def _show(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else repr(value)


def _bad(name: str, rule: str, value: object) -> ValueError:
    return ValueError(f"{name} must be {rule}, got {_show(value)}")


def _as_audio(audio: Audio) -> Audio:
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(
            "audio must be a 2-D array of shape (frames, channels) with at least one frame "
            f"and one channel, got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError("audio must contain only finite samples, got NaN or infinity")
    return array


def _check_rate(sample_rate: int) -> None:
    if not 1 <= sample_rate <= 1_000_000:
        raise _bad("sample_rate", "between 1 and 1000000 Hz", sample_rate)


def _check_between(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:  # written this way round so that NaN fails too
        raise _bad(name, f"between {low:g} and {high:g}", value)


def _check_seed(seed: int) -> None:
    if not 0 <= seed < 2**64:
        raise _bad("seed", "between 0 and 2**64-1", seed)


# --- shared building blocks -------------------------------------------------------------


def _finish(signal: npt.NDArray[np.floating]) -> Audio:
    return np.asarray(np.clip(signal, -1.0, 1.0), dtype=np.float32)


def _rms(signal: npt.NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))


def _bands(
    signal: Audio | _F64, sample_rate: int, edges: Sequence[tuple[float, float]]
) -> list[_F64]:
    """Band-pass ``signal`` for each [low, high) Hz range, all from one whole-signal FFT."""
    n = signal.shape[0]
    spectrum = np.fft.rfft(signal, axis=0)
    freqs = np.fft.rfftfreq(n, d=1.0 / sample_rate)
    parts = []
    for low, high in edges:
        mask = (freqs >= low) & (freqs < high)
        parts.append(np.fft.irfft(spectrum * mask[:, None], n=n, axis=0))
    return parts


def _xfade(old: npt.NDArray[np.floating], new: npt.NDArray[np.floating], weight: _F64) -> _F64:
    """Equal-power blend per frame: weight 0 gives ``old`` exactly, weight 1 ``new`` exactly."""
    gain_new = np.sin(weight * (np.pi / 2))
    # sqrt(1 - s**2) rather than cos: cos(pi/2) is 6e-17, not 0, and would leak ``old`` in.
    gain_old = np.sqrt(np.maximum(1.0 - gain_new**2, 0.0))
    return np.asarray(gain_old[:, None] * old + gain_new[:, None] * new, dtype=np.float64)


def _edge_ramp(pos: _Int, length: int, fade: int) -> _F64:
    """0 -> 1 over ``fade`` frames at both ends of a ``length``-frame section, 1 in between."""
    if fade <= 0:
        return np.ones(pos.shape, dtype=np.float64)
    inside = np.minimum(pos + 0.5, length - pos - 0.5)
    return np.asarray(np.clip(inside / fade, 0.0, 1.0), dtype=np.float64)


def _fade_frames(sample_rate: int, limit: int, seconds: float = MAX_CROSSFADE) -> int:
    return max(0, min(frames(seconds, sample_rate), limit))


def _place(mono: _F64, pan: float, channels: int) -> _F64:
    """Spread a mono layer over the channels; pan -1..1 leans it toward the first or last."""
    positions = np.linspace(-1.0, 1.0, channels) if channels > 1 else np.zeros(1)
    return mono[:, None] * (1.0 + 0.6 * pan * positions)[None, :]


def _matched(signal: _F64, reference_rms: float) -> _F64:
    level = _rms(signal)
    return signal * (reference_rms / level) if level > _LOUDNESS_FLOOR else signal


# --- synthesis --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    bpm: float
    root: int  # MIDI note of the key in the bass octave
    progression: tuple[int, ...]
    brightness: float  # 0..1, how strong the upper harmonics and hats are
    gains: dict[str, float]


def _plan(seed: int, prompts: Sequence[tuple[str, float]]) -> _Plan:
    rng = np.random.default_rng(seed)
    tempo_nudge = bright_nudge = 0.0
    gains = dict.fromkeys(_LAYER_WORDS, 1.0)
    for text, strength in prompts:
        # Each prompt text pulls tempo and brightness its own, stable way; the sign of the
        # strength says which way.
        code = seed_for("prompt", text.strip().lower())
        tempo_nudge += strength * ((code & 0xFFFF) / 0xFFFF * 2.0 - 1.0)
        bright_nudge += strength * ((code >> 16) / 0xFFFF * 2.0 - 1.0)
        for layer, words in _LAYER_WORDS.items():
            if any(word in text.lower() for word in words):
                gains[layer] += 0.5 * strength
    return _Plan(
        bpm=float(np.clip(rng.uniform(*_TEMPO) + 10.0 * tempo_nudge, *_TEMPO)),
        root=int(rng.integers(33, 45)),
        progression=_PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))],
        brightness=float(np.clip(rng.uniform(0.3, 0.7) + 0.2 * bright_nudge, 0.1, 0.9)),
        gains={layer: float(np.clip(gain, 0.0, 2.0)) for layer, gain in gains.items()},
    )


def _hz(midi: _F64 | _Int) -> _F64:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def _tone(freq: _F64, sample_rate: int, harmonics: int, brightness: float) -> _F64:
    """Additive tone; integrating the frequency keeps the phase continuous across note changes."""
    cycles = np.cumsum(freq) / sample_rate
    # Wrapping to one cycle first keeps float32 precise enough for the (much faster) sin/cos.
    angle = (2.0 * np.pi * (cycles - np.floor(cycles))).astype(np.float32)
    sine, cosine = np.sin(angle), np.cos(angle)
    previous, current = np.zeros_like(sine), sine
    out = current.astype(np.float64)
    for k in range(2, harmonics + 1):
        # sin(k a) = 2 cos(a) sin((k-1) a) - sin((k-2) a): no further sin calls needed.
        previous, current = current, 2.0 * cosine * current - previous
        term = current * np.float32(brightness ** (k - 1) / k)
        if k * float(np.max(freq)) >= sample_rate / 2:
            term = term * (k * freq < sample_rate / 2)
        out += term
    return out


def _wrap(t: _F64, period: float) -> _F64:
    """``t % period``, several times faster than numpy's floating-point modulo."""
    return np.asarray(t - np.floor(t / period) * period, dtype=np.float64)


def _envelope(pos: _F64, length: float, decay: float, floor: float = 0.0) -> _F64:
    """Decaying note envelope with 5 ms ramps at both ends so that note changes never click."""
    ramps = np.clip(np.minimum(pos, length - pos) / 0.005, 0.0, 1.0)
    return (floor + (1.0 - floor) * np.exp(-pos / decay)) * ramps


def _chord_table(plan: _Plan) -> _Int:
    rows = []
    for offset in plan.progression:
        third = 3 if offset % 12 in _MINOR_DEGREES else 4
        rows.append([plan.root + 24 + offset + step for step in (0, third, 7)])
    return np.array(rows, dtype=np.int64)


def _band_layers(plan: _Plan, t: _F64, sample_rate: int) -> list[tuple[_F64, float]]:
    beat = 60.0 / plan.bpm
    bar = 4.0 * beat
    chord = (t // bar).astype(np.int64) % len(plan.progression)
    table = _chord_table(plan)
    chord_env = _envelope(_wrap(t, bar), bar, decay=1.5 * bar, floor=0.35)
    layers = []
    for voice, pan in enumerate((-0.6, 0.0, 0.6)):
        tone = _tone(_hz(table[chord, voice]), sample_rate, 4, plan.brightness)
        layers.append((0.22 * plan.gains["chords"] * chord_env * tone, pan))
    bass_freq = _hz(plan.root + np.asarray(plan.progression, dtype=np.int64)[chord])
    bass = _tone(bass_freq, sample_rate, 2, 0.5) * _envelope(_wrap(t, beat), beat, decay=0.3)
    layers.append((0.5 * plan.gains["bass"] * bass, 0.0))
    return layers


def _drum_layers(plan: _Plan, t: _F64, rng: np.random.Generator) -> list[tuple[_F64, float]]:
    beat = 60.0 / plan.bpm
    kick_every = beat * float(rng.choice([1.0, 2.0]))
    since = _wrap(t, kick_every)
    # A falling pitch (150 Hz down to 45 Hz) is what makes a sine burst read as a kick.
    kick_phase = 2.0 * np.pi * (45.0 * since + 105.0 * 0.04 * (1.0 - np.exp(-since / 0.04)))
    kick = np.sin(kick_phase) * _envelope(since, kick_every, decay=0.09)
    noise = np.diff(rng.standard_normal(t.shape[0] + 1))  # differencing tilts it toward hiss
    hat = noise * _envelope(_wrap(t, beat / 2.0), beat / 2.0, decay=0.025)
    hat_pan = float(rng.choice([-0.5, 0.5]))
    drums = plan.gains["drums"]
    return [(0.8 * drums * kick, 0.0), (0.12 * drums * plan.brightness * hat, hat_pan)]


def _synthesize(plan: _Plan, n: int, sample_rate: int, channels: int, seed: int) -> _F64:
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64) / sample_rate
    mix = np.zeros((n, channels), dtype=np.float64)
    for layer, pan in _band_layers(plan, t, sample_rate) + _drum_layers(plan, t, rng):
        mix += _place(layer, pan, channels)
    peak = float(np.max(np.abs(mix)))
    return mix * (0.9 / peak) if peak > _LOUDNESS_FLOOR else mix


def _melody(n: int, sample_rate: int, rng: np.random.Generator) -> _F64:
    """A seeded pentatonic line with vibrato, pitched inside the vocal band."""
    note_seconds = 30.0 / rng.uniform(*_TEMPO)  # eighth notes
    t = np.arange(n, dtype=np.float64) / sample_rate
    note = (t // note_seconds).astype(np.int64)
    count = int(note[-1]) + 1
    scale = np.array([60 + octave * 12 + step for octave in range(3) for step in _PENTATONIC])
    walk = np.clip(7 + np.cumsum(rng.integers(-2, 3, size=count)), 0, len(scale) - 1)
    sung = rng.random(count) > 0.2  # leave some notes out so that the line breathes
    freq = _hz(scale[walk][note] + int(rng.integers(0, 5))) * (1.0 + 0.006 * np.sin(11 * np.pi * t))
    envelope = _envelope(_wrap(t, note_seconds), note_seconds, decay=0.4, floor=0.5) * sung[note]
    return _tone(freq, sample_rate, 3, 0.4) * envelope


# --- public operations ------------------------------------------------------------------


def create(
    seconds: float,
    sample_rate: int,
    seed: int,
    prompts: Sequence[tuple[str, float]],
    channels: int = 2,
) -> Audio:
    """A seeded synthetic song: chords, bass, kick and hats at 90..130 bpm.

    Prompts nudge tempo and brightness (each text its own stable way); a prompt that names a
    layer ("drums", "bass", "piano", ...) turns it up with a positive strength and down with a
    negative one. The result is exactly ``frames(seconds, sample_rate)`` frames long.
    """
    _check_rate(sample_rate)
    _check_seed(seed)
    if not (math.isfinite(seconds) and seconds > 0 and frames(seconds, sample_rate) >= 1):
        raise _bad("seconds", "more than 0 (at least one sample long)", seconds)
    if not 1 <= channels <= 64:
        raise _bad("channels", "between 1 and 64", channels)
    for index, (_, strength) in enumerate(prompts):
        if not math.isfinite(strength):
            raise _bad(f"prompts[{index}] strength", "a finite number", strength)
    n = frames(seconds, sample_rate)
    return _finish(_synthesize(_plan(seed, prompts), n, sample_rate, channels, seed))


def extend(
    audio: Audio, sample_rate: int, continue_at: float, extend_duration: float, seed: int
) -> Audio:
    """The whole song: the input up to ``continue_at``, then a looped continuation.

    The loop is the last 2..4 s (seeded, at most ``continue_at``) before ``continue_at``;
    each repeat, and the first one after the kept part, fades in over at most 50 ms from
    what the material would have continued with. The kept part is bit-identical.
    """
    x = _as_audio(audio)
    _check_rate(sample_rate)
    _check_seed(seed)
    length = x.shape[0] / sample_rate
    cut = frames(continue_at, sample_rate) if math.isfinite(continue_at) else 0
    if not (continue_at > 0 and 1 <= cut <= x.shape[0]):
        rule = f"more than 0 and at most {length:g} s (the clip's length)"
        raise _bad("continue_at", rule, continue_at)
    if not (math.isfinite(extend_duration) and frames(extend_duration, sample_rate) >= 1):
        raise _bad("extend_duration", "more than 0 s (at least one sample)", extend_duration)
    rng = np.random.default_rng(seed)
    loop_seconds = min(float(rng.uniform(2.0, 4.0)), continue_at)
    loop = min(cut, max(1, frames(loop_seconds, sample_rate)))
    fade = _fade_frames(sample_rate, loop // 2)
    # Past each seam the loop would have been followed by the material after continue_at;
    # when the clip ends there, its mirror image is the closest stand-in.
    after = x[cut : cut + fade]
    tail = after if after.shape[0] == fade else x[cut - fade : cut][::-1]
    pos = np.arange(frames(extend_duration, sample_rate), dtype=np.int64) % loop
    body = x[cut - loop : cut][pos]
    weight = np.ones(pos.shape, dtype=np.float64)
    seam = pos < fade
    weight[seam] = (pos[seam] + 0.5) / fade
    old = np.zeros_like(body)
    old[seam] = tail[pos[seam]]
    return _finish(np.concatenate([x[:cut], _xfade(old, body, weight)]))


def replace(audio: Audio, sample_rate: int, start: float, end: float, seed: int) -> Audio:
    """The input with [start, end) refilled from another, seeded position of the same clip.

    Frames outside the section are bit-identical; inside it, the new material fades in and
    out over at most 50 ms at each edge. The source wraps around the clip's end if needed
    and avoids overlapping the section whenever the clip is long enough for that.
    """
    x = _as_audio(audio)
    _check_rate(sample_rate)
    _check_seed(seed)
    n = x.shape[0]
    length = n / sample_rate
    if not 0 <= start < length:
        raise _bad("start", f"at least 0 and less than {length:g} s (the clip's length)", start)
    if not start < end <= length:
        raise _bad("end", f"more than start ({start:g} s) and at most {length:g} s", end)
    first, stop = frames(start, sample_rate), frames(end, sample_rate)
    if stop <= first:
        raise _bad("end", f"at least one sample after start ({start:g} s)", end)
    size = stop - first
    source = _source_offset(n, first, size, np.random.default_rng(seed))
    fill = x[(source + np.arange(size)) % n]
    weight = _edge_ramp(np.arange(size), size, _fade_frames(sample_rate, size // 2))
    out = x.astype(np.float64)
    out[first:stop] = _xfade(x[first:stop], fill, weight)
    return _finish(out)


def _source_offset(n: int, first: int, size: int, rng: np.random.Generator) -> int:
    spare = n - 2 * size
    if spare >= 0:
        # Starting anywhere in these spare + 1 places after the section never reads from it.
        return (first + size + int(rng.integers(0, spare + 1))) % n
    return (first + int(rng.integers(1, n))) % n if n > 1 else 0


def cover(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """A "restyled" input: seeded EQ, a small frequency shift and saturation, blended in.

    ``strength`` 0..1 is the share of the restyled signal; 0 returns the input unchanged.
    Everything happens in place in time, so the length is exact.
    """
    x = _as_audio(audio)
    _check_rate(sample_rate)
    _check_between("strength", strength, 0.0, 1.0)
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    spectrum = np.fft.rfft(x, axis=0) * _seeded_eq(n, sample_rate, rng)[:, None]
    shift = round(float(rng.uniform(-6.0, 6.0)) * n / sample_rate)  # bins of a few Hz
    spectrum = np.roll(spectrum, shift, axis=0)
    if shift > 0:
        spectrum[:shift] = 0
    elif shift < 0:
        spectrum[shift:] = 0
    styled = np.fft.irfft(spectrum, n=n, axis=0)
    peak = float(np.max(np.abs(styled)))
    drive = float(rng.uniform(1.5, 4.0))
    if peak > _LOUDNESS_FLOOR:
        styled = np.tanh(drive * styled / peak) / np.tanh(drive)
    styled = _matched(styled, _rms(x))
    return _finish((1.0 - strength) * x + strength * styled)


def _seeded_eq(n: int, sample_rate: int, rng: np.random.Generator) -> _F64:
    """Gain per rfft bin: a seeded tilt plus four broad bumps or dips, within +-18 dB."""
    octave = np.log2(np.maximum(np.fft.rfftfreq(n, d=1.0 / sample_rate), 20.0) / 1000.0)
    gain_db = float(rng.uniform(-3.0, 3.0)) * octave
    top = math.log2(max(min(12000.0, sample_rate / 2.0), 100.0) / 1000.0)
    for _ in range(4):
        centre = float(rng.uniform(math.log2(0.06), top))
        width = float(rng.uniform(0.5, 1.5))
        gain_db += float(rng.uniform(-9.0, 9.0)) * np.exp(-0.5 * ((octave - centre) / width) ** 2)
    return np.asarray(10.0 ** (np.clip(gain_db, -18.0, 18.0) / 20.0), dtype=np.float64)


def swap_sound(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """Keep the vocal band (300 Hz..3 kHz); outside it, fade toward a seeded accompaniment.

    ``strength`` 0.2..1 is the share of the synthetic accompaniment outside the band.
    """
    x = _as_audio(audio)
    _check_rate(sample_rate)
    _check_between("strength", strength, *SWAP_STRENGTH)
    _check_seed(seed)
    n, channels = x.shape
    (vocal,) = _bands(x, sample_rate, [VOCAL_BAND])
    rest = x - vocal
    backing = _synthesize(_plan(seed, ()), n, sample_rate, channels, seed)
    backing -= _bands(backing, sample_rate, [VOCAL_BAND])[0]
    # Silent input outside the band still gets some accompaniment, or strength would do nothing.
    backing = _matched(backing, max(_rms(rest), 0.5 * _rms(x), 0.05))
    return _finish(vocal + (1.0 - strength) * rest + strength * backing)


def swap_vocals(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """Keep everything outside the vocal band; inside it, fade toward a seeded melody.

    ``strength`` 0.2..1 is the share of the synthetic melody inside the band.
    """
    x = _as_audio(audio)
    _check_rate(sample_rate)
    _check_between("strength", strength, *SWAP_STRENGTH)
    _check_seed(seed)
    n, channels = x.shape
    (vocal,) = _bands(x, sample_rate, [VOCAL_BAND])
    rest = x - vocal
    melody = _place(_melody(n, sample_rate, np.random.default_rng(seed)), 0.0, channels)
    (melody,) = _bands(melody, sample_rate, [VOCAL_BAND])
    melody = _matched(melody, max(_rms(vocal), 0.5 * _rms(x), 0.05))
    return _finish(rest + (1.0 - strength) * vocal + strength * melody)


def variation(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """The input with some seeded beat-sized segments trading places (10 ms crossfades).

    ``strength`` 0..1 is the share of segments that move; 0 returns the input unchanged and
    anything above 0 moves at least two. Segments that stay are bit-identical.
    """
    x = _as_audio(audio)
    _check_rate(sample_rate)
    _check_between("strength", strength, 0.0, 1.0)
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    beat = max(1, frames(60.0 / rng.uniform(*_TEMPO), sample_rate))
    count = n // beat
    moved = min(count, max(2, math.ceil(strength * count))) if strength > 0 else 0
    if moved < 2:
        return _finish(x)
    chosen = rng.choice(count, size=moved, replace=False)
    source = np.arange(count)
    source[chosen] = np.roll(chosen, 1)  # a cycle through the chosen ones: each of them moves
    index = np.arange(count * beat, dtype=np.int64)
    segment, pos = np.divmod(index, beat)
    origin = np.arange(n, dtype=np.int64)
    origin[: count * beat] = source[segment] * beat + pos
    weight = np.zeros(n, dtype=np.float64)
    fade = _fade_frames(sample_rate, beat // 2, seconds=0.01)
    weight[: count * beat] = (source != np.arange(count))[segment] * _edge_ramp(pos, beat, fade)
    return _finish(_xfade(x, x[origin], weight))


def split_stems(audio: Audio, sample_rate: int) -> dict[str, Audio]:
    """Four stems by frequency band and transients; they add back up to the input.

    bass: below 200 Hz. vocals: 300 Hz..3 kHz. drums: the remaining bands, weighted by how
    sudden the level rises are. other: whatever is left, so that the sum is the input
    (within float32 rounding). Stems are not clipped.
    """
    x = _as_audio(audio)
    _check_rate(sample_rate)
    bass, vocals = _bands(x, sample_rate, [(0.0, BASS_CUTOFF), VOCAL_BAND])
    rest = x - bass - vocals
    drums = _transient_weight(rest, sample_rate)[:, None] * rest
    stems = {
        "vocals": vocals.astype(np.float32),
        "drums": drums.astype(np.float32),
        "bass": bass.astype(np.float32),
    }
    taken = stems["vocals"] + stems["drums"] + stems["bass"]
    stems["other"] = (x.astype(np.float64) - taken).astype(np.float32)
    return stems


def _transient_weight(signal: _F64, sample_rate: int) -> _F64:
    """0..1 per frame: near 1 where the level jumps above its recent average, else near 0."""
    level = np.mean(np.abs(signal), axis=1)
    fast = _moving_average(level, max(1, frames(0.005, sample_rate)))
    slow = _moving_average(level, max(1, frames(0.1, sample_rate)))
    weight = np.clip(2.0 * (fast - slow) / (fast + slow + _LOUDNESS_FLOOR), 0.0, 1.0)
    # Smoothing keeps the weight from modulating the stem audibly within a single cycle.
    return _moving_average(weight, max(1, frames(0.005, sample_rate)))


def _moving_average(values: _F64, width: int) -> _F64:
    """Mean of each value and the ``width - 1`` before it (fewer at the start)."""
    total = np.concatenate([[0.0], np.cumsum(values)])
    upper = np.arange(1, values.shape[0] + 1)
    lower = np.maximum(upper - width, 0)
    return np.asarray((total[upper] - total[lower]) / (upper - lower), dtype=np.float64)
