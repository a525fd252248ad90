"""Splicing a result into the original: the original stays bit for bit where it is kept,
sample counts are exact, and the joins do not click (the step from one sample to the
next stays within what the two signals and an equal-power fade can make)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.audio.splice import (
    Samples,
    equal_power,
    fit_length,
    match_channels,
    splice_after,
    splice_section,
)
from bridge.errors import AudioError


def tones(frames: int, channels: int, seed: int, amplitude: float = 0.5) -> Samples:
    """A few sines below 2 kHz at 48 kHz: smooth material whose steps are small."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 48000
    freqs = rng.uniform(40.0, 2000.0, (3, channels))
    phases = rng.uniform(0, 2 * np.pi, (3, channels))
    out = sum(np.sin(2 * np.pi * freqs[i] * t + phases[i]) for i in range(3))
    return np.asarray(amplitude / 3 * out, dtype=np.float64)


def max_step(data: Samples) -> float:
    return float(np.max(np.abs(np.diff(data, axis=0)))) if len(data) > 1 else 0.0


def click_bound(original: Samples, new: Samples, fade: int) -> float:
    """The largest step an equal-power crossfade of the two can make: each signal's own
    step (the gains sum to at most sqrt 2), plus each gain's step times its signal's peak."""
    own = max(max_step(original), max_step(new))
    peak = max(float(np.max(np.abs(original))), float(np.max(np.abs(new))))
    return math.sqrt(2) * own + 2 * peak * (math.pi / 2) / fade + 1e-12


# Sections ---------------------------------------------------------------------------------


@st.composite
def sections(draw: st.DrawFn) -> tuple[Samples, Samples, int, int, int]:
    frames = draw(st.integers(64, 20000))
    channels = draw(st.sampled_from([1, 2]))
    start = draw(st.integers(0, frames - 2))
    end = draw(st.integers(start + 1, frames))
    fade = draw(st.integers(0, 2400))
    seed = draw(st.integers(0, 2**16))
    return tones(frames, channels, seed), tones(frames, channels, seed + 1), start, end, fade


@settings(max_examples=200, deadline=None)
@given(sections())
def test_a_section_splice_keeps_the_original_bit_for_bit_outside_the_section(
    case: tuple[Samples, Samples, int, int, int],
) -> None:
    original, new, start, end, fade = case
    out = splice_section(original, new, start, end, fade)
    assert out.shape == original.shape
    assert np.array_equal(out[:start], original[:start])
    assert np.array_equal(out[end:], original[end:])
    used = min(fade, (end - start) // 2)
    assert np.array_equal(out[start + used : end - used], new[start + used : end - used])


@settings(max_examples=200, deadline=None)
@given(sections())
def test_a_section_splice_has_no_click_at_either_edge(
    case: tuple[Samples, Samples, int, int, int],
) -> None:
    original, new, start, end, fade = case
    used = min(fade, (end - start) // 2)
    if used < 1:
        return  # no room for a fade: a straight cut, as asked
    out = splice_section(original, new, start, end, fade)
    assert max_step(out) <= click_bound(original, new, used)


def test_a_straight_cut_between_different_material_does_click() -> None:
    # What the fades are for: the same check fails on a cut without one.
    original = np.full((1000, 1), 0.5)
    new = np.full((1000, 1), -0.5)
    cut = splice_section(original, new, 400, 600, fade=0)
    assert max_step(cut) == 1.0
    faded = splice_section(original, new, 400, 600, fade=96)
    assert max_step(faded) <= click_bound(original, new, 96)
    assert max_step(faded) < 0.05


def test_equal_power_gains_keep_the_power_of_uncorrelated_material() -> None:
    fade_out, fade_in = equal_power(480)
    assert np.allclose(fade_out**2 + fade_in**2, 1.0)
    assert fade_out[0, 0] > 0.99
    assert fade_in[-1, 0] > 0.99
    assert np.all(np.diff(fade_in[:, 0]) > 0)


def test_a_section_outside_the_audio_is_refused() -> None:
    audio = np.zeros((100, 2))
    with pytest.raises(AudioError, match="not inside"):
        splice_section(audio, audio, 50, 101, 10)
    with pytest.raises(AudioError, match="cannot splice"):
        splice_section(audio, np.zeros((99, 2)), 10, 20, 10)


# Continuations ----------------------------------------------------------------------------


@st.composite
def continuations(draw: st.DrawFn) -> tuple[Samples, Samples, int, int]:
    channels = draw(st.sampled_from([1, 2]))
    at = draw(st.integers(1, 10000))
    after = draw(st.integers(0, 3000))  # what the original holds past the point
    tail = draw(st.integers(1, 10000))  # what the continuation adds
    fade = draw(st.integers(0, 2400))
    seed = draw(st.integers(0, 2**16))
    original = tones(at + after, channels, seed)
    return original, tones(at + tail, channels, seed + 1), at, fade


@settings(max_examples=200, deadline=None)
@given(continuations())
def test_a_continuation_keeps_the_original_up_to_the_point_and_then_the_new_audio(
    case: tuple[Samples, Samples, int, int],
) -> None:
    original, new, at, fade = case
    out = splice_after(original, new, at, fade)
    assert out.shape == new.shape
    assert np.array_equal(out[:at], original[:at])
    used = min(fade, new.shape[0] - at, at)
    assert np.array_equal(out[at + used :], new[at + used :])
    if used >= 1:
        mirrored = original[at - used : at][::-1]
        assert max_step(out) <= click_bound(np.concatenate([original, mirrored]), new, used)


def test_a_continuation_past_the_end_of_the_original_starts_from_its_last_sample() -> None:
    # The original stops at the point: its mirror image carries on from the last sample.
    original = np.linspace(0.0, 0.8, 1000)[:, None]
    new = np.full((2000, 1), -0.6)
    out = splice_after(original, new, 1000, 200)
    assert out[999, 0] == 0.8
    assert abs(out[1000, 0] - 0.8) < 0.01
    assert max_step(out) < 0.02
    assert np.array_equal(out[1200:], new[1200:])


def test_a_continuation_point_outside_the_audio_is_refused() -> None:
    with pytest.raises(AudioError, match="outside"):
        splice_after(np.zeros((100, 1)), np.zeros((50, 1)), 80, 10)
    with pytest.raises(AudioError, match="channels"):
        splice_after(np.zeros((100, 1)), np.zeros((200, 2)), 80, 10)


# Lengths and channels ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("have", "frames", "exact", "expected"),
    [
        (100, 120, True, 120),  # short: padded
        (100, 120, False, 120),
        (130, 120, True, 120),  # long, exact: cut
        (130, 120, False, 130),  # long, at least: the tail is kept
        (120, 120, True, 120),
    ],
)
def test_fit_length_pads_with_silence_and_cuts_only_when_exact(
    have: int, frames: int, exact: bool, expected: int
) -> None:
    data = np.ones((have, 2))
    out = fit_length(data, frames, exact=exact)
    assert out.shape == (expected, 2)
    kept = min(have, expected)
    assert np.array_equal(out[:kept], data[:kept])
    assert not np.any(out[kept:])


def test_mono_becomes_stereo_by_copying_and_stereo_mono_by_the_mean() -> None:
    mono = np.array([[0.5], [-0.25]])
    assert np.array_equal(match_channels(mono, 2), [[0.5, 0.5], [-0.25, -0.25]])
    stereo = np.array([[0.5, 0.25], [-1.0, 0.0]])
    assert np.array_equal(match_channels(stereo, 1), [[0.375], [-0.5]])
    assert match_channels(stereo, 2) is stereo
    with pytest.raises(AudioError, match="6-channel"):
        match_channels(np.zeros((4, 6)), 2)
