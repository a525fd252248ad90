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
import re
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
# Words (singular; a trailing "s" is also accepted) by which a prompt names a layer.
_LAYER_WORDS = {
    "drums": {"drum", "beat", "kick", "snare", "hat", "hihat", "percussion", "groove"},
    "bass": {"bass", "bassline", "sub", "808"},
    "chords": {"chord", "pad", "synth", "piano", "key", "harmony", "guitar", "string"},
}
# Semitone offsets of four bar-long chords; minor where the degree is minor in a major key.
_PROGRESSIONS = ((0, 7, 9, 5), (9, 5, 0, 7), (0, 5, 7, 5), (0, 9, 5, 7), (0, 4, 5, 7))
_MINOR = (2, 4, 9)
_PENTATONIC = (0, 2, 4, 7, 9)


def seed_for(*parts: object) -> int:
    """A seed in 0..2**32-1 from the parts' reprs, the same in every process (unlike hash())."""
    digest = hashlib.sha256(repr(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def frames(seconds: float, sample_rate: int) -> int:
    """The one rule for turning seconds into a frame count."""
    return round(seconds * sample_rate)


def _show(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _bad(name: str, rule: str, value: object) -> ValueError:
    """The caller turns this into an API error: the parameter, what is allowed, what came."""
    return ValueError(f"{name} must be {rule}, got {_show(value)}")


def _check_between(name: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not low <= value <= high:  # written this way round so that NaN fails too
        raise _bad(name, f"between {_show(low)} and {_show(high)}{unit}", value)


def _check_common(sample_rate: int, seed: int | None) -> None:
    _check_between("sample_rate", sample_rate, 1, 1_000_000, " Hz")
    if seed is not None:
        _check_between("seed", seed, 0, 2**64 - 1)


def _prepare(audio: Audio, sample_rate: int, seed: int | None) -> Audio:
    """Validate the common arguments; the returned array is only ever read, never written."""
    _check_common(sample_rate, seed)
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(
            "audio must be a 2-D array of shape (frames, channels) with at least one frame "
            f"and one channel, got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError("audio must contain only finite samples, got NaN or infinity")
    return array


def _finish(signal: npt.NDArray[np.floating]) -> Audio:
    return np.asarray(np.clip(signal, -1.0, 1.0), dtype=np.float32)


def _rms(signal: npt.NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))


def _fast_length(n: int) -> int:
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
class _Spectrum:
    """Whole-signal rfft of every channel (rows), zero-padded to a fast length.

    Single precision halves time and memory; its ~1e-7 error is far below anything audible,
    and nothing that must add up exactly (the stems) depends on it.
    """

    bins: npt.NDArray[np.complex64]
    freqs: _F64
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


def _spectrum(signal: npt.NDArray[np.floating], sample_rate: int) -> _Spectrum:
    n = signal.shape[0]
    size = _fast_length(n)
    rows = np.ascontiguousarray(signal.T, dtype=np.float32)  # contiguous rows: faster FFTs
    bins = np.asarray(np.fft.rfft(rows, n=size, axis=1), dtype=np.complex64)  # no copy
    freqs = np.asarray(np.fft.rfftfreq(size, d=1.0 / sample_rate), dtype=np.float64)
    return _Spectrum(bins, freqs, n, size)


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


def _tile(signal: _F64, n: int) -> _F64:
    return np.resize(signal, (n, *signal.shape[1:]))  # repeats whole rows, as rows are contiguous


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
        tokens = set(re.findall(r"[a-z0-9]+", text.lower()))
        tokens |= {token[:-1] for token in tokens if token.endswith("s")}
        for layer, words in _LAYER_WORDS.items():
            if tokens & words:
                gains[layer] += 0.5 * strength
    return _Plan(
        bpm=float(np.clip(rng.uniform(*_TEMPO) + 10.0 * tempo_nudge, *_TEMPO)),
        root=int(rng.integers(33, 45)),
        progression=_PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))],
        brightness=float(np.clip(rng.uniform(0.3, 0.7) + 0.2 * bright_nudge, 0.1, 0.9)),
        gains={layer: float(np.clip(gain, 0.0, 2.0)) for layer, gain in gains.items()},
    )


def _hz(midi: npt.ArrayLike) -> _F64:
    return np.asarray(440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0))


def _tone(freq: _F64, sample_rate: int, harmonics: int, brightness: float) -> _F64:
    """Additive tone; integrating the frequency keeps the phase continuous across note changes."""
    cycles = np.cumsum(freq) / sample_rate
    # Wrapping to one cycle first keeps float32 precise enough for the (much faster) sin/cos.
    angle = (2.0 * np.pi * (cycles - np.floor(cycles))).astype(np.float32)
    cosine = np.cos(angle)
    previous, current = np.zeros_like(angle), np.sin(angle)
    out = current.astype(np.float64)
    for k in range(2, harmonics + 1):
        # sin(k a) = 2 cos(a) sin((k-1) a) - sin((k-2) a): no further sin calls needed.
        previous, current = current, 2.0 * cosine * current - previous
        term = current * np.float32(brightness ** (k - 1) / k)
        if k * float(np.max(freq)) >= sample_rate / 2:
            term = term * (k * freq < sample_rate / 2)
        out += term
    return out


def _envelope(t: _F64, length: float, decay: float, floor: float = 0.0) -> _F64:
    """A decaying note every ``length`` s, with 5 ms ramps at both ends so it never clicks."""
    pos = t - np.floor(t / length) * length  # several times faster than numpy's float %
    ramps = np.clip(np.minimum(pos, length - pos) / 0.005, 0.0, 1.0)
    return np.asarray((floor + (1.0 - floor) * np.exp(-pos / decay)) * ramps)


def _band_layers(plan: _Plan, t: _F64, sample_rate: int) -> list[tuple[_F64, float]]:
    beat = 60.0 / plan.bpm
    chord = (t // (4.0 * beat)).astype(np.int64) % len(plan.progression)
    table = [
        [plan.root + 24 + offset + step for step in (0, 3 if offset in _MINOR else 4, 7)]
        for offset in plan.progression
    ]
    chord_env = _envelope(t, 4.0 * beat, decay=6.0 * beat, floor=0.35)
    layers = []
    for voice, pan in enumerate((-0.6, 0.0, 0.6)):
        tone = _tone(_hz(np.array(table)[chord, voice]), sample_rate, 4, plan.brightness)
        layers.append((0.22 * plan.gains["chords"] * chord_env * tone, pan))
    bass_freq = _hz(plan.root + np.array(plan.progression)[chord])
    bass = _tone(bass_freq, sample_rate, 2, 0.5) * _envelope(t, beat, decay=0.3)
    layers.append((0.5 * plan.gains["bass"] * bass, 0.0))
    return layers


def _drum_layers(plan: _Plan, t: _F64, rng: np.random.Generator) -> list[tuple[_F64, float]]:
    beat = 60.0 / plan.bpm
    kick_every = beat * float(rng.choice([1.0, 2.0]))
    since = t - np.floor(t / kick_every) * kick_every
    # A falling pitch (150 Hz down to 45 Hz) is what makes a sine burst read as a kick.
    kick_phase = 2.0 * np.pi * (45.0 * since + 105.0 * 0.04 * (1.0 - np.exp(-since / 0.04)))
    kick = np.sin(kick_phase) * _envelope(t, kick_every, decay=0.09)
    noise = np.diff(rng.standard_normal(t.shape[0] + 1))  # differencing tilts it toward hiss
    hat = noise * _envelope(t, beat / 2.0, decay=0.025)
    hat_pan = float(rng.choice([-0.5, 0.5]))
    drums = plan.gains["drums"]
    return [(0.8 * drums * kick, 0.0), (0.12 * drums * plan.brightness * hat, hat_pan)]


def _synthesize(plan: _Plan, n: int, sample_rate: int, channels: int, seed: int) -> _F64:
    """Render one pass of the four-bar progression and repeat it to ``n`` frames.

    Every layer's envelope is silent at the loop's edges, so the repeats join without a click,
    and a long song costs no more to render than a short one.
    """
    rng = np.random.default_rng(seed)
    size = min(n, max(1, frames(len(plan.progression) * 240.0 / plan.bpm, sample_rate)))
    t = np.arange(size, dtype=np.float64) / sample_rate
    mix = np.zeros((size, channels), dtype=np.float64)
    for layer, pan in _band_layers(plan, t, sample_rate) + _drum_layers(plan, t, rng):
        mix += _place(layer, pan, channels)
    peak = float(np.max(np.abs(mix)))
    return _tile(mix * (0.9 / peak) if peak > _LOUDNESS_FLOOR else mix, n)


def _melody(n: int, sample_rate: int, rng: np.random.Generator) -> _F64:
    """A seeded four-bar pentatonic line with vibrato, pitched inside the vocal band."""
    note_seconds = 30.0 / rng.uniform(*_TEMPO)  # eighth notes
    size = min(n, max(1, frames(32 * note_seconds, sample_rate)))
    t = np.arange(size, dtype=np.float64) / sample_rate
    note = np.minimum((t // note_seconds).astype(np.int64), 31)
    scale = np.array([60 + octave * 12 + step for octave in range(3) for step in _PENTATONIC])
    walk = np.clip(7 + np.cumsum(rng.integers(-2, 3, size=32)), 0, len(scale) - 1)
    sung = rng.random(32) > 0.2  # leave some notes out so that the line breathes
    vibrato = 1.0 + 0.006 * np.sin(11.0 * np.pi * t)
    freq = _hz(scale[walk][note] + int(rng.integers(0, 5))) * vibrato
    envelope = _envelope(t, note_seconds, decay=0.4, floor=0.5) * sung[note]
    return _tile(_tone(freq, sample_rate, 3, 0.4) * envelope, n)


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
    _check_common(sample_rate, seed)
    if not (math.isfinite(seconds) and seconds > 0 and frames(seconds, sample_rate) >= 1):
        raise _bad("seconds", "more than 0 (at least one sample long)", seconds)
    _check_between("channels", channels, 1, 64)
    for index, (text, strength) in enumerate(prompts):
        if not isinstance(text, str):
            raise _bad(f"prompts[{index}] text", "a string", text)
        if not math.isfinite(strength):
            raise _bad(f"prompts[{index}] strength", "a finite number", strength)
    n = frames(seconds, sample_rate)
    return _finish(_synthesize(_plan(seed, prompts), n, sample_rate, channels, seed))


def extend(
    audio: Audio, sample_rate: int, continue_at: float, extend_duration: float, seed: int
) -> Audio:
    """The whole song: the input up to ``continue_at`` (bit-identical), then a loop of it.

    The loop is the last 2..4 s (seeded, at most ``continue_at``) before ``continue_at``.
    Each repeat, the first included, fades in over at most 50 ms from what the material
    would have continued with.
    """
    x = _prepare(audio, sample_rate, seed)
    length = x.shape[0] / sample_rate
    cut = frames(continue_at, sample_rate) if math.isfinite(continue_at) else 0
    if not (continue_at > 0 and 1 <= cut <= x.shape[0]):
        rule = f"more than 0 and at most {length:g} s (the clip's length)"
        raise _bad("continue_at", rule, continue_at)
    if not (math.isfinite(extend_duration) and frames(extend_duration, sample_rate) >= 1):
        raise _bad("extend_duration", "more than 0 s (at least one sample)", extend_duration)
    rng = np.random.default_rng(seed)
    loop = min(cut, max(1, frames(float(rng.uniform(2.0, 4.0)), sample_rate)))
    fade = _fade_frames(sample_rate, loop // 2)
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
    return _finish(np.concatenate([x[:cut], _xfade(old, x[cut - loop : cut][pos], weight)]))


def replace(audio: Audio, sample_rate: int, start: float, end: float, seed: int) -> Audio:
    """The input with [start, end) refilled from another, seeded position of the same clip.

    Frames outside the section are bit-identical; inside it, the new material fades in and
    out over at most 50 ms at each edge. The source wraps around the clip's end if needed
    and avoids overlapping the section whenever the clip is long enough for that.
    """
    x = _prepare(audio, sample_rate, seed)
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
    spare = n - 2 * size
    rng = np.random.default_rng(seed)
    if spare >= 0:  # then any of these spare + 1 starts after the section never reads from it
        source = first + size + int(rng.integers(0, spare + 1))
    else:
        source = first + int(rng.integers(1, n)) if n > 1 else 0
    fill = x[(source + np.arange(size)) % n]
    weight = _edge_ramp(np.arange(size), size, _fade_frames(sample_rate, size // 2))
    out = x.astype(np.float64)
    out[first:stop] = _xfade(x[first:stop], fill, weight)
    return _finish(out)


def cover(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """A "restyled" input: seeded EQ, a shift of a few Hz and saturation, blended in.

    ``strength`` 0..1 is the share of the restyled signal; 0 returns the input unchanged.
    Nothing is resampled, so the length is exact.
    """
    x = _prepare(audio, sample_rate, seed)
    _check_between("strength", strength, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    spectrum = _spectrum(x, sample_rate)
    bins = spectrum.bins * _seeded_eq(spectrum.freqs, sample_rate, rng).astype(np.float32)
    shift = round(float(rng.uniform(-6.0, 6.0)) * spectrum.size / sample_rate)
    bins = np.roll(bins, shift, axis=1)
    if shift > 0:
        bins[:, :shift] = 0
    elif shift < 0:
        bins[:, shift:] = 0
    styled = spectrum.signal(bins)
    peak = float(np.max(np.abs(styled)))
    drive = float(rng.uniform(1.5, 4.0))
    if peak > _LOUDNESS_FLOOR:
        styled = np.tanh(drive * styled / peak) / np.tanh(drive)
        styled *= _rms(x) / max(_rms(styled), _LOUDNESS_FLOOR)
    return _finish((1.0 - strength) * x + strength * styled)


def _seeded_eq(freqs: _F64, sample_rate: int, rng: np.random.Generator) -> _F64:
    """Gain per bin: a seeded tilt plus four broad bumps or dips, within +-18 dB."""
    octave = np.log2(np.maximum(freqs, 20.0) / 1000.0)
    gain_db = float(rng.uniform(-3.0, 3.0)) * octave
    top = math.log2(max(min(12000.0, sample_rate / 2.0), 100.0) / 1000.0)
    for _ in range(4):
        centre = float(rng.uniform(math.log2(0.06), top))
        width = float(rng.uniform(0.5, 1.5))
        gain_db += float(rng.uniform(-9.0, 9.0)) * np.exp(-0.5 * ((octave - centre) / width) ** 2)
    return np.asarray(10.0 ** (np.clip(gain_db, -18.0, 18.0) / 20.0), dtype=np.float64)


def _swap_band(x: Audio, new: _F64, sample_rate: int, strength: float, inside: bool) -> Audio:
    """Fade the vocal band (``inside``) or everything else toward ``new``, level-matched."""
    _check_between("strength", strength, *SWAP_STRENGTH)
    ours, theirs = _spectrum(x, sample_rate), _spectrum(new, sample_rate)
    region = ours.band(*VOCAL_BAND)
    if not inside:
        region = ~region
    # A silent region still gets some new material, or strength would do nothing.
    target = max(ours.rms(region), 0.5 * _rms(x), 0.05)
    gain = target / max(theirs.rms(region), _LOUDNESS_FLOOR)
    keep = np.where(region, np.float32(1.0 - strength), np.float32(1.0))
    add = region.astype(np.float32) * np.float32(strength * gain)
    return _finish(ours.signal(ours.bins * keep + theirs.bins * add))


def swap_sound(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """Keep the vocal band (300 Hz..3 kHz); outside it, fade toward a seeded accompaniment.

    ``strength`` 0.2..1 is the share of the synthetic accompaniment outside the band.
    """
    x = _prepare(audio, sample_rate, seed)
    n, channels = x.shape
    backing = _synthesize(_plan(seed, ()), n, sample_rate, channels, seed)
    return _swap_band(x, backing, sample_rate, strength, inside=False)


def swap_vocals(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """Keep everything outside the vocal band; inside it, fade toward a seeded melody.

    ``strength`` 0.2..1 is the share of the synthetic melody inside the band.
    """
    x = _prepare(audio, sample_rate, seed)
    melody = _melody(x.shape[0], sample_rate, np.random.default_rng(seed))
    return _swap_band(x, _place(melody, 0.0, x.shape[1]), sample_rate, strength, inside=True)


def variation(audio: Audio, sample_rate: int, strength: float, seed: int) -> Audio:
    """The input with some seeded beat-sized segments trading places (10 ms crossfades).

    ``strength`` 0..1 is the share of segments that move; 0 returns the input unchanged and
    anything above 0 moves at least two. Segments that stay are bit-identical.
    """
    x = _prepare(audio, sample_rate, seed)
    _check_between("strength", strength, 0.0, 1.0)
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
    segment, pos = np.divmod(np.arange(count * beat, dtype=np.int64), beat)
    origin = np.arange(n, dtype=np.int64)
    origin[: count * beat] = source[segment] * beat + pos
    weight = np.zeros(n, dtype=np.float64)
    fade = _fade_frames(sample_rate, beat // 2, seconds=0.01)
    weight[: count * beat] = (source != np.arange(count))[segment] * _edge_ramp(pos, beat, fade)
    return _finish(_xfade(x, x[origin], weight))


def split_stems(audio: Audio, sample_rate: int) -> dict[str, Audio]:
    """Four stems by frequency band and transients; they add back up to the input.

    bass: below 200 Hz. vocals: 300 Hz..3 kHz. drums: the remaining bands, weighted by how
    suddenly their level rises. other: whatever is left, so that the sum is the input within
    float32 rounding. Stems are not clipped.
    """
    x = _prepare(audio, sample_rate, None)
    spectrum = _spectrum(x, sample_rate)
    bass = spectrum.signal(spectrum.bins * spectrum.band(0.0, BASS_CUTOFF))
    vocals = spectrum.signal(spectrum.bins * spectrum.band(*VOCAL_BAND))
    rest = x - bass - vocals
    drums = (_transient_weight(rest, sample_rate)[:, None] * rest).astype(np.float32)
    other = (x.astype(np.float64) - (vocals + drums + bass)).astype(np.float32)
    return {"vocals": vocals, "drums": drums, "bass": bass, "other": other}


def _transient_weight(signal: Audio, sample_rate: int) -> _F64:
    """0..1 per frame: near 1 where the level jumps above its recent average, else near 0.

    The level is followed in 1 ms blocks (plenty for 5 ms and 100 ms averages) and the weight
    interpolated back to every frame, which costs a fraction of doing it per frame.
    """
    n = signal.shape[0]
    block = max(1, frames(0.001, sample_rate))
    level = np.zeros(-(-n // block) * block, dtype=np.float64)  # float32 cumsums would drift
    level[:n] = np.abs(signal).mean(axis=1)
    level = level.reshape(-1, block).mean(axis=1)
    fast, slow = _moving_average(level, 5), _moving_average(level, 100)
    weight = np.clip(2.0 * (fast - slow) / (fast + slow + _LOUDNESS_FLOOR), 0.0, 1.0)
    # Smoothing keeps the weight from modulating the stem audibly within a single cycle.
    centres = (np.arange(level.shape[0]) + 0.5) * block
    return np.interp(np.arange(n), centres, _moving_average(weight, 5))


def _moving_average(values: _F64, width: int) -> _F64:
    """Mean of each value and the ``width - 1`` before it (fewer at the start)."""
    width = max(1, min(width, values.shape[0]))
    total = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    out = np.empty_like(values)
    out[width - 1 :] = (total[width:] - total[:-width]) / width
    out[: width - 1] = total[1:width] / np.arange(1, width)
    return out
