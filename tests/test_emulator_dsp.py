"""The emulator's DSP: exact lengths, determinism, untouched regions, stems that add up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bridge.emulator import dsp

SR = 8000  # low so that the tests stay fast; lengths below are 2-3-5-smooth at this rate
FADE = dsp.frames(dsp.MAX_CROSSFADE, SR)
ROOT = Path(__file__).resolve().parents[1]


def song(seconds: float = 6.0, seed: int = 1, channels: int = 2, level: float = 1.0) -> dsp.Audio:
    return (dsp.create(seconds, SR, seed, [], channels) * np.float32(level)).astype(np.float32)


def ramp(seconds: float) -> dsp.Audio:
    """Mono audio in which every frame holds a different value, so frames can be traced."""
    n = dsp.frames(seconds, SR)
    return ((np.arange(n) / n - 0.5).astype(np.float32))[:, None]


def source_of(values: np.ndarray, n: int) -> np.ndarray:
    """Which frame of ``ramp`` each value came from (checked exactly by the callers)."""
    return np.rint((values[:, 0].astype(np.float64) + 0.5) * n).astype(np.int64)


def band(audio: np.ndarray, low: float, high: float, rate: int = SR) -> np.ndarray:
    spectrum = np.fft.rfft(audio.astype(np.float64), axis=0)
    freqs = np.fft.rfftfreq(audio.shape[0], d=1.0 / rate)
    mask = (freqs >= low) & (freqs < high)
    return np.fft.irfft(spectrum * mask[:, None], n=audio.shape[0], axis=0)


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


# --- seed_for and frames ----------------------------------------------------------------


def test_seed_for_is_the_same_in_other_processes_whatever_their_hash_seed() -> None:
    expected = dsp.seed_for("rock anthem", 0.5, 3)
    code = "from bridge.emulator.dsp import seed_for; print(seed_for('rock anthem', 0.5, 3))"
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert int(result.stdout) == expected


def test_seed_for_is_in_range_and_depends_on_every_part() -> None:
    seeds = {dsp.seed_for(*parts) for parts in [("a",), ("b",), ("a", 1), ("a", 2), ("ab",)]}
    assert len(seeds) == 5
    assert all(0 <= seed < 2**32 for seed in seeds)
    assert dsp.seed_for("a", 1) == dsp.seed_for("a", 1)


@pytest.mark.parametrize(
    ("seconds", "rate", "expected"),
    [(12.5, 44100, 551250), (1 / 3, 48000, 16000), (0.0000113, 44100, 0), (0.0000114, 44100, 1)],
)
def test_frames_rounds_to_the_nearest_frame(seconds: float, rate: int, expected: int) -> None:
    assert dsp.frames(seconds, rate) == expected


# --- create -----------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0.001, 1.2345, 23.4567])
@pytest.mark.parametrize("rate", [8000, 44100])
@pytest.mark.parametrize("channels", [1, 2])
def test_create_has_exactly_the_asked_length(seconds: float, rate: int, channels: int) -> None:
    audio = dsp.create(seconds, rate, 5, [("lofi", 0.7)], channels)
    assert audio.shape == (dsp.frames(seconds, rate), channels)
    assert audio.dtype == np.float32
    assert np.abs(audio).max() <= 1.0


def test_create_is_audible_and_stereo_channels_differ() -> None:
    audio = song(4.0)
    assert rms(audio) > 0.05
    assert not np.array_equal(audio[:, 0], audio[:, 1])


def test_create_is_deterministic_per_seed_and_prompts() -> None:
    jazz = dsp.create(3.0, SR, 9, [("jazz", 1.0)])
    assert np.array_equal(jazz, dsp.create(3.0, SR, 9, [("jazz", 1.0)]))
    plain = dsp.create(3.0, SR, 9, [])
    assert not np.allclose(plain, dsp.create(3.0, SR, 10, []), atol=1e-3)
    assert not np.allclose(plain, jazz, atol=1e-3)


def test_create_negative_strength_damps_the_layer_it_names() -> None:
    rate = 16000
    plain = dsp.create(6.0, rate, 3, [])
    # Above 3 kHz there are hats and a little of the chords' top harmonics.
    no_drums = dsp.create(6.0, rate, 3, [("drums", -2.0)])
    assert rms(band(no_drums, 3000, rate, rate)) < 0.05 * rms(band(plain, 3000, rate, rate))
    # Below 150 Hz there are the bass and the kick.
    no_bass = dsp.create(6.0, rate, 3, [("no bass", -2.0)])
    low_share = [rms(band(audio, 0, 150, rate)) / rms(audio) for audio in (plain, no_bass)]
    assert low_share[1] < low_share[0] - 0.1
    # Only whole words name a layer: "that" and "subtle" are not hats and subs.
    unrelated = dsp.create(6.0, rate, 3, [("that subtle upbeat", -2.0)])
    assert rms(band(unrelated, 3000, rate, rate)) > 0.5 * rms(band(plain, 3000, rate, rate))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"seconds": 0.0}, "seconds"),
        ({"seconds": -1.0}, "seconds"),
        ({"seconds": float("nan")}, "seconds"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"channels": 0}, "channels"),
        ({"seed": -1}, "seed"),
        ({"prompts": [("ok", 1.0), ("bad", float("nan"))]}, r"prompts\[1\] strength"),
        ({"prompts": [(None, 1.0)]}, r"prompts\[0\] text"),
    ],
)
def test_create_rejects_bad_arguments(kwargs: dict[str, object], name: str) -> None:
    args: dict[str, object] = {"seconds": 2.0, "sample_rate": SR, "seed": 1, "prompts": []}
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{name} must be"):
        dsp.create(**args)  # type: ignore[arg-type]


# --- extend -----------------------------------------------------------------------------


@pytest.mark.parametrize(("continue_at", "duration"), [(6.0, 7.3), (2.2221, 0.0013), (0.5, 9.99)])
def test_extend_length_and_kept_part(continue_at: float, duration: float) -> None:
    audio = song()
    out = dsp.extend(audio, SR, continue_at, duration, seed=4)
    cut = dsp.frames(continue_at, SR)
    assert out.shape == (cut + dsp.frames(duration, SR), 2)
    assert out.dtype == np.float32
    assert np.array_equal(out[:cut], audio[:cut])


@pytest.mark.parametrize("continue_at", [7.3, 10.0])
def test_extend_loops_the_material_before_continue_at(continue_at: float) -> None:
    audio = ramp(10.0)
    n = audio.shape[0]
    cut = dsp.frames(continue_at, SR)
    body = dsp.extend(audio, SR, continue_at, 9.1, seed=8)[cut:]
    # Frame FADE of the continuation is past any crossfade, so it is a plain copy.
    loop = cut + FADE - int(source_of(body[FADE : FADE + 1], n)[0])
    assert FADE < loop <= dsp.frames(4.0, SR)
    pos = np.arange(body.shape[0]) % loop
    plain = pos >= FADE
    assert np.array_equal(body[plain], audio[cut - loop + pos[plain]])
    # Each seam starts from what would have followed (the clip itself, or its mirror image).
    follows = audio[cut] if cut < n else audio[cut - 1]
    assert np.abs(body[0] - follows).max() < 0.01
    assert np.abs(body[loop] - follows).max() < 0.01


def test_extend_is_deterministic_and_seeded() -> None:
    audio = song(10.0)
    first = dsp.extend(audio, SR, 8.0, 5.0, seed=1)
    assert np.array_equal(first, dsp.extend(audio, SR, 8.0, 5.0, seed=1))
    assert not np.array_equal(first, dsp.extend(audio, SR, 8.0, 5.0, seed=2))


@pytest.mark.parametrize(
    ("continue_at", "duration", "pattern"),
    [
        (
            0.0,
            1.0,
            r"^continue_at must be more than 0 and at most 6 s \(the clip's length\), got 0$",
        ),
        (-1.0, 1.0, "^continue_at must be"),
        (20.0, 1.0, r"^continue_at must be .*, got 20$"),
        (float("nan"), 1.0, "^continue_at must be"),
        (3.0, 0.0, "^extend_duration must be"),
        (3.0, -2.0, "^extend_duration must be"),
        (3.0, float("inf"), "^extend_duration must be"),
    ],
)
def test_extend_rejects_bad_arguments(continue_at: float, duration: float, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        dsp.extend(song(), SR, continue_at, duration, seed=1)


# --- replace ----------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [(2.5, 4.75), (5.0, 9.0), (1.0, 9.0), (0.0, 10.0)])
def test_replace_refills_only_the_section(start: float, end: float) -> None:
    audio = ramp(10.0)
    n = audio.shape[0]
    out = dsp.replace(audio, SR, start, end, seed=6)
    first, stop = dsp.frames(start, SR), dsp.frames(end, SR)
    assert out.shape == audio.shape
    assert np.array_equal(out[:first], audio[:first])
    assert np.array_equal(out[stop:], audio[stop:])
    inner = np.arange(first + FADE, stop - FADE)
    offset = int(source_of(out[inner[:1]], n)[0]) - inner[0]
    assert offset % n != 0  # the material really comes from elsewhere
    assert np.array_equal(out[inner], audio[(inner + offset) % n])
    if stop - first <= n // 2:  # then there is room to take it from outside the section
        sources = (inner + offset) % n
        assert not np.any((sources >= first) & (sources < stop))


def test_replace_crossfades_at_the_section_edges() -> None:
    audio = ramp(10.0)
    out = dsp.replace(audio, SR, 2.5, 4.75, seed=6)
    first, stop = dsp.frames(2.5, SR), dsp.frames(4.75, SR)
    # Right at each edge the output is still (almost) the original, not the new material.
    assert abs(float(out[first, 0] - audio[first, 0])) < 0.01
    assert abs(float(out[stop - 1, 0] - audio[stop - 1, 0])) < 0.01
    assert abs(float(out[first + FADE, 0] - audio[first + FADE, 0])) > 0.01


def test_replace_is_deterministic_and_seeded() -> None:
    audio = song(10.0)
    first = dsp.replace(audio, SR, 1.0, 3.0, seed=1)
    assert np.array_equal(first, dsp.replace(audio, SR, 1.0, 3.0, seed=1))
    assert not np.array_equal(first, dsp.replace(audio, SR, 1.0, 3.0, seed=2))


@pytest.mark.parametrize(
    ("start", "end", "name"),
    [
        (-0.1, 2.0, "start"),
        (6.0, 6.0, "start"),
        (2.0, 6.5, "end"),
        (3.0, 3.0, "end"),
        (3.0, 2.0, "end"),
        (3.0, 3.00001, "end"),
    ],
)
def test_replace_rejects_bad_sections(start: float, end: float, name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be"):
        dsp.replace(song(), SR, start, end, seed=1)


# --- cover, swap_sound, swap_vocals, variation ---------------------------------------------


def test_cover_strength_zero_is_the_input_and_more_strength_changes_more() -> None:
    audio = song()
    assert np.array_equal(dsp.cover(audio, SR, 0.0, seed=3), audio)
    changes = [rms(dsp.cover(audio, SR, s, seed=3) - audio) for s in (0.25, 0.6, 1.0)]
    assert 0 < changes[0] < changes[1] < changes[2]


def test_cover_is_deterministic_and_seeded() -> None:
    audio = song()
    first = dsp.cover(audio, SR, 0.8, seed=1)
    assert np.array_equal(first, dsp.cover(audio, SR, 0.8, seed=1))
    assert rms(first - dsp.cover(audio, SR, 0.8, seed=2)) > 0.01


def test_swap_sound_keeps_the_vocal_band_and_replaces_the_rest() -> None:
    audio = song(level=0.3)
    changes = []
    for strength in (0.2, 1.0):
        out = dsp.swap_sound(audio, SR, strength, seed=2)
        assert np.abs(out).max() < 1.0  # unclipped, so the comparison below is exact
        assert np.allclose(band(out, 300, 3000), band(audio, 300, 3000), atol=1e-5)
        changes.append(rms((out - band(out, 300, 3000)) - (audio - band(audio, 300, 3000))))
    assert 0.01 < changes[0] < changes[1]


def test_swap_vocals_keeps_outside_the_band_and_replaces_inside() -> None:
    audio = song(level=0.3)
    changes = []
    for strength in (0.2, 1.0):
        out = dsp.swap_vocals(audio, SR, strength, seed=2)
        assert np.abs(out).max() < 1.0
        outside = out - band(out, 300, 3000)
        assert np.allclose(outside, audio - band(audio, 300, 3000), atol=1e-5)
        changes.append(rms(band(out, 300, 3000) - band(audio, 300, 3000)))
    assert 0.01 < changes[0] < changes[1]


def test_swaps_are_deterministic_and_seeded() -> None:
    audio = song(level=0.3)
    for swap in (dsp.swap_sound, dsp.swap_vocals):
        first = swap(audio, SR, 0.7, 1)
        assert np.array_equal(first, swap(audio, SR, 0.7, 1))
        assert rms(first - swap(audio, SR, 0.7, 2)) > 0.01


def test_variation_moves_more_segments_with_more_strength() -> None:
    audio = ramp(12.0)
    n = audio.shape[0]
    assert np.array_equal(dsp.variation(audio, SR, 0.0, seed=5), audio)
    changed = []
    for strength in (0.05, 0.5, 1.0):
        out = dsp.variation(audio, SR, strength, seed=5)
        assert out.shape == audio.shape
        moved = out[:, 0] != audio[:, 0]
        changed.append(int(moved.sum()))
        # Outside its short crossfades every moved frame is a copy of some other input frame.
        copies = out[moved] == audio[source_of(out[moved], n).clip(0, n - 1)]
        assert copies.mean() > 0.9
    assert 0 < changed[0] < changed[1] < changed[2]


def test_variation_is_deterministic_and_seeded() -> None:
    audio = song(10.0)
    first = dsp.variation(audio, SR, 0.5, seed=1)
    assert np.array_equal(first, dsp.variation(audio, SR, 0.5, seed=1))
    assert not np.array_equal(first, dsp.variation(audio, SR, 0.5, seed=2))


@pytest.mark.parametrize(
    ("function", "bad", "pattern"),
    [
        (dsp.cover, -0.1, "between 0 and 1"),
        (dsp.cover, 1.5, "between 0 and 1"),
        (dsp.variation, float("nan"), "between 0 and 1"),
        (dsp.swap_sound, 0.1, "between 0.2 and 1"),
        (dsp.swap_vocals, 1.01, "between 0.2 and 1"),
    ],
)
def test_strength_outside_its_range_is_rejected(
    function: Callable[[dsp.Audio, int, float, int], dsp.Audio], bad: float, pattern: str
) -> None:
    with pytest.raises(ValueError, match=f"^strength must be {pattern}, got"):
        function(song(), SR, bad, 1)


# --- common to every operation ----------------------------------------------------------

OPERATIONS: list[Callable[[dsp.Audio], object]] = [
    lambda a: dsp.extend(a, SR, 3.0, 2.0, 1),
    lambda a: dsp.replace(a, SR, 1.0, 2.0, 1),
    lambda a: dsp.cover(a, SR, 0.5, 1),
    lambda a: dsp.swap_sound(a, SR, 0.5, 1),
    lambda a: dsp.swap_vocals(a, SR, 0.5, 1),
    lambda a: dsp.variation(a, SR, 0.5, 1),
    lambda a: dsp.split_stems(a, SR),
]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("channels", [1, 2])
def test_operations_keep_length_and_channels_and_never_write_to_the_input(
    operation: Callable[[dsp.Audio], object], channels: int
) -> None:
    audio = song(5.0, channels=channels)
    before = audio.copy()
    audio.flags.writeable = False  # any write into the input raises
    result = operation(audio)
    assert np.array_equal(audio, before)
    outputs = result.values() if isinstance(result, dict) else [result]
    for out in outputs:
        assert isinstance(out, np.ndarray)
        assert out.dtype == np.float32
        assert out.shape[1] == channels
        if out.shape[0] != audio.shape[0]:  # only extend changes the length
            assert out.shape[0] == dsp.frames(3.0, SR) + dsp.frames(2.0, SR)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("audio", "pattern"),
    [
        (np.zeros(SR * 5, dtype=np.float32), "^audio must be a 2-D array"),
        (np.zeros((0, 2), dtype=np.float32), "^audio must be a 2-D array"),
        (np.full((SR * 5, 2), np.nan, dtype=np.float32), "^audio must contain only finite"),
    ],
)
def test_operations_reject_malformed_audio(
    operation: Callable[[dsp.Audio], object], audio: dsp.Audio, pattern: str
) -> None:
    with pytest.raises(ValueError, match=pattern):
        operation(audio)


def test_operations_reject_a_bad_sample_rate() -> None:
    with pytest.raises(ValueError, match=r"^sample_rate must be between 1 and 1000000 Hz, got 0$"):
        dsp.cover(song(), 0, 0.5, 1)
