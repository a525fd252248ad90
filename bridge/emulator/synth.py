"""The synthetic material the emulator generates: seeded songs and melodies.

A song is a four-bar chord progression with bass, kick and hats, rendered once and repeated;
a melody is a four-bar pentatonic line. Both depend only on their seed (and the prompts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.emulator.sound import F64, LOUDNESS_FLOOR, TEMPO_RANGE, frames, seed_for

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


def place(mono: F64, pan: float, channels: int) -> F64:
    """Spread a mono layer over the channels; pan -1..1 leans it toward the first or last."""
    positions = np.linspace(-1.0, 1.0, channels) if channels > 1 else np.zeros(1)
    return mono[:, None] * (1.0 + 0.6 * pan * positions)[None, :]


def _tile(signal: F64, n: int) -> F64:
    return np.resize(signal, (n, *signal.shape[1:]))  # repeats whole rows, as rows are contiguous


@dataclass(frozen=True)
class Plan:
    bpm: float
    root: int  # MIDI note of the key in the bass octave
    progression: tuple[int, ...]
    brightness: float  # 0..1, how strong the upper harmonics and hats are
    gains: dict[str, float]


def make_plan(seed: int, prompts: Sequence[tuple[str, float]]) -> Plan:
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
    return Plan(
        bpm=float(np.clip(rng.uniform(*TEMPO_RANGE) + 10.0 * tempo_nudge, *TEMPO_RANGE)),
        root=int(rng.integers(33, 45)),
        progression=_PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))],
        brightness=float(np.clip(rng.uniform(0.3, 0.7) + 0.2 * bright_nudge, 0.1, 0.9)),
        gains={layer: float(np.clip(gain, 0.0, 2.0)) for layer, gain in gains.items()},
    )


def _hz(midi: npt.ArrayLike) -> F64:
    return np.asarray(440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0))


def _tone(freq: F64, sample_rate: int, harmonics: int, brightness: float) -> F64:
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


def _envelope(t: F64, length: float, decay: float, floor: float = 0.0) -> F64:
    """A decaying note every ``length`` s, with 5 ms ramps at both ends so it never clicks."""
    pos = t - np.floor(t / length) * length  # several times faster than numpy's float %
    ramps = np.clip(np.minimum(pos, length - pos) / 0.005, 0.0, 1.0)
    return np.asarray((floor + (1.0 - floor) * np.exp(-pos / decay)) * ramps)


def _band_layers(plan: Plan, t: F64, sample_rate: int) -> list[tuple[F64, float]]:
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


def _drum_layers(plan: Plan, t: F64, rng: np.random.Generator) -> list[tuple[F64, float]]:
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


def synthesize(plan: Plan, n: int, sample_rate: int, channels: int, seed: int) -> F64:
    """Render one pass of the four-bar progression and repeat it to ``n`` frames.

    Every layer's envelope is silent at the loop's edges, so the repeats join without a click,
    and a long song costs no more to render than a short one.
    """
    rng = np.random.default_rng(seed)
    size = min(n, max(1, frames(len(plan.progression) * 240.0 / plan.bpm, sample_rate)))
    t = np.arange(size, dtype=np.float64) / sample_rate
    mix = np.zeros((size, channels), dtype=np.float64)
    for layer, pan in _band_layers(plan, t, sample_rate) + _drum_layers(plan, t, rng):
        mix += place(layer, pan, channels)
    peak = float(np.max(np.abs(mix)))
    return _tile(mix * (0.9 / peak) if peak > LOUDNESS_FLOOR else mix, n)


def melody(n: int, sample_rate: int, rng: np.random.Generator) -> F64:
    """A seeded four-bar pentatonic line with vibrato, pitched inside the vocal band."""
    note_seconds = 30.0 / rng.uniform(*TEMPO_RANGE)  # eighth notes
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
