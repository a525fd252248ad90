"""Extend loops whole bars of the tempo it hears; replace refills from matching material."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.emulator import dsp, tempo
from bridge.emulator.synth import make_plan

PROBE = 64  # frames compared to find where a stretch of output was copied from


def beat_track(
    bpm: float, rate: int, seconds: float, kind: str = "drums", channels: int = 2
) -> dsp.Audio:
    """Clicks, or kick, snare and hats, on a steady beat, over a faint noise floor.

    The noise makes every stretch of frames unique, so that the output of an edit can be
    traced back to the frames it was copied from; at -60 dB it does not blur the beat.
    """
    rng = np.random.default_rng(round(bpm * 10) + rate)
    n = dsp.frames(seconds, rate)
    t = np.arange(n) / rate
    beat = 60.0 / bpm
    since = t % beat
    if kind == "clicks":
        hits = np.exp(-since / 0.005) * np.sin(2 * np.pi * 1000 * since)
    else:
        sweep = 50 * since + 100 * 0.03 * (1 - np.exp(-since / 0.03))
        kick = np.sin(2 * np.pi * sweep) * np.exp(-since / 0.12)
        hat = np.diff(rng.standard_normal(n + 1)) * np.exp(-(t % (beat / 2)) / 0.02)
        backbeat = (t % (2 * beat)) >= beat  # the snare on beats 2 and 4
        snare = rng.standard_normal(n) * np.exp(-since / 0.06) * backbeat
        hits = 0.6 * kick + 0.15 * hat + 0.3 * snare
    hits *= 0.9 / np.abs(hits).max()  # in range, as outputs are clipped to it
    signal = hits + 1e-3 * rng.standard_normal(n)
    gains = np.linspace(1.0, 0.8, channels)
    return (signal[:, None] * gains[None, :]).astype(np.float32)


def copied_from(audio: dsp.Audio, stretch: dsp.Audio) -> int:
    """The one frame of ``audio`` at which ``stretch`` (PROBE frames) occurs verbatim."""
    candidates = np.flatnonzero(np.all(audio == stretch[0], axis=1))
    hits = [int(j) for j in candidates if np.array_equal(audio[j : j + PROBE], stretch[:PROBE])]
    assert len(hits) == 1
    return hits[0]


def loop_of(audio: dsp.Audio, out: dsp.Audio, cut: int, rate: int) -> int:
    """The length of the loop that ``extend`` played after ``cut``."""
    fade = dsp.frames(dsp.MAX_CROSSFADE, rate)
    # The continuation's frame ``fade`` is past the first crossfade: a plain copy.
    return cut + fade - copied_from(audio[:cut], out[cut + fade : cut + fade + PROBE])


def assert_whole_beats(frames: int, beat: float, rate: int) -> int:
    """Assert that ``frames`` is a whole number of beats (within 1 %); return that number."""
    beats = frames / (beat * rate)
    assert round(beats) >= 1
    assert abs(beats - round(beats)) < 0.01
    return round(beats)


def assert_repeats(body: dsp.Audio, loop: int, rate: int) -> None:
    """Past its seams' crossfades, ``body`` repeats with period ``loop``, bit for bit."""
    fade = dsp.frames(dsp.MAX_CROSSFADE, rate)
    index = np.arange(body.shape[0] - loop)
    plain = index[index % loop >= fade]
    assert plain.size > 0
    assert np.array_equal(body[plain], body[plain + loop])


# --- tempo ------------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [96.0, 120.0, 128.0])
@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("kind", ["clicks", "drums"])
def test_tempo_of_a_steady_beat(bpm: float, rate: int, kind: str) -> None:
    found = tempo.estimate(beat_track(bpm, rate, 12.0, kind), rate)
    assert found is not None
    assert found.bpm == pytest.approx(bpm, rel=0.002)
    assert found.clarity > tempo.MIN_CLARITY


def test_tempo_of_the_synthetic_songs_is_their_own() -> None:
    for seed in range(4):
        found = tempo.estimate(dsp.create(12.0, 8000, seed, []), 8000)
        assert found is not None
        assert found.bpm == pytest.approx(make_plan(seed, []).bpm, rel=0.002)


@pytest.mark.parametrize("seconds", [0.5, 3.0, 40.0])
def test_no_tempo_in_noise_silence_or_a_drone(seconds: float) -> None:
    rate = 8000
    n = dsp.frames(seconds, rate)
    rng = np.random.default_rng(int(seconds * 10))
    noise = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    drone = np.sin(2 * np.pi * 220 * np.arange(n) / rate).astype(np.float32)[:, None]
    for audio in (noise, np.zeros((n, 2), dtype=np.float32), drone):
        assert tempo.estimate(audio, rate) is None


def test_tempo_needs_two_beats_of_material() -> None:
    rate = 8000
    assert tempo.estimate(beat_track(120.0, rate, 0.9, "clicks"), rate) is None
    assert tempo.estimate(beat_track(120.0, rate, 1.6, "clicks"), rate) is not None


# --- extend -----------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [96.0, 120.0, 128.0])
@pytest.mark.parametrize("rate", [44100, 48000])
def test_extend_loops_whole_bars_of_the_beat(bpm: float, rate: int) -> None:
    audio = beat_track(bpm, rate, 20.0)
    cut = dsp.frames(17.3, rate)  # not on a beat: the loop still ends exactly here
    out = dsp.extend(audio, rate, 17.3, 14.0, seed=2)
    assert out.shape == (cut + dsp.frames(14.0, rate), 2)
    assert np.array_equal(out[:cut], audio[:cut])
    loop = loop_of(audio, out, cut, rate)
    beats = assert_whole_beats(loop, 60.0 / bpm, rate)
    assert beats in (4, 8, 16)
    assert_repeats(out[cut:], loop, rate)


def test_the_seed_picks_one_two_or_four_bars() -> None:
    rate = 8000
    audio = beat_track(120.0, rate, 12.0)
    cut = audio.shape[0]
    bars = {
        assert_whole_beats(
            loop_of(audio, dsp.extend(audio, rate, 12.0, 3.0, s), cut, rate), 0.5, rate
        )
        // 4
        for s in range(12)
    }
    assert bars == {1, 2, 4}


def test_extend_loops_fewer_bars_or_beats_when_the_material_is_short() -> None:
    rate = 8000
    audio = beat_track(120.0, rate, 10.0, "clicks")
    # 3 s holds one bar of 2 s but not two: every seed loops that one bar.
    for seed in range(4):
        loop = loop_of(audio, dsp.extend(audio, rate, 3.0, 4.0, seed), dsp.frames(3.0, rate), rate)
        assert assert_whole_beats(loop, 0.5, rate) == 4
    # 1.7 s is not even a bar: two beats.
    loop = loop_of(audio, dsp.extend(audio, rate, 1.7, 4.0, 1), dsp.frames(1.7, rate), rate)
    assert assert_whole_beats(loop, 0.5, rate) == 2


def test_extend_without_a_clear_tempo_loops_a_seeded_two_to_four_seconds() -> None:
    rate = 8000
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, (rate * 10, 2)).astype(np.float32)
    cut = dsp.frames(9.0, rate)
    for seed in (1, 2, 3):
        out = dsp.extend(noise, rate, 9.0, 8.0, seed)
        expected = dsp.frames(float(np.random.default_rng(seed).uniform(2.0, 4.0)), rate)
        assert loop_of(noise, out, cut, rate) == expected
        assert np.array_equal(out[:cut], noise[:cut])
        assert_repeats(out[cut:], expected, rate)


def test_extend_of_silence_is_silence_of_the_right_length() -> None:
    out = dsp.extend(np.zeros((8000 * 5, 2), dtype=np.float32), 8000, 4.0, 3.5, seed=1)
    assert out.shape == (8000 * 4 + 8000 * 7 // 2, 2)
    assert not out.any()


def test_extend_is_deterministic_on_a_beat() -> None:
    audio = beat_track(128.0, 8000, 10.0)
    first = dsp.extend(audio, 8000, 9.0, 6.0, seed=5)
    assert np.array_equal(first, dsp.extend(audio, 8000, 9.0, 6.0, seed=5))


@settings(max_examples=15, deadline=None)
@given(
    bpm=st.floats(min_value=80.0, max_value=160.0),
    continue_at=st.floats(min_value=6.0, max_value=12.0),
    duration=st.floats(min_value=0.001, max_value=8.0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_extend_keeps_the_prefix_and_length_and_loops_whole_beats(
    bpm: float, continue_at: float, duration: float, seed: int
) -> None:
    rate = 16000
    audio = beat_track(bpm, rate, 12.0, channels=1)
    cut = dsp.frames(continue_at, rate)
    out = dsp.extend(audio, rate, continue_at, duration, seed)
    assert out.shape == (cut + dsp.frames(duration, rate), 1)
    assert np.array_equal(out[:cut], audio[:cut])
    if out.shape[0] - cut >= dsp.frames(dsp.MAX_CROSSFADE, rate) + PROBE:
        assert_whole_beats(loop_of(audio, out, cut, rate), 60.0 / bpm, rate)


# --- replace ----------------------------------------------------------------------------


def riff(rate: int, repeats: int = 5, bpm: float = 120.0) -> tuple[dsp.Audio, int]:
    """A two-bar riff (eighth notes over a kick) played ``repeats`` times; and its length."""
    rng = np.random.default_rng(7)
    beat = 60.0 / bpm
    period = dsp.frames(8 * beat, rate)
    t = np.arange(period) / rate
    notes = rng.choice([220.0, 247.0, 277.0, 330.0, 370.0, 440.0], size=16)
    note = np.minimum((t // (beat / 2)).astype(np.int64), 15)
    phase = 2 * np.pi * np.cumsum(notes[note]) / rate
    line = 0.4 * np.sin(phase) * np.exp(-(t % (beat / 2)) / 0.15)
    kick = 0.5 * np.sin(2 * np.pi * 60 * (t % beat)) * np.exp(-(t % beat) / 0.08)
    one = np.stack([line + kick, 0.8 * line + kick], axis=1)
    floor = 1e-4 * rng.standard_normal((period * repeats, 2))  # makes every frame traceable
    return (np.tile(one, (repeats, 1)) + floor).astype(np.float32), period


@pytest.mark.parametrize("rate", [8000, 44100])
@pytest.mark.parametrize(("start", "end"), [(8.0, 12.0), (9.3, 12.1), (0.5, 3.0), (16.5, 19.9)])
def test_replace_fills_from_a_matching_repeat(rate: int, start: float, end: float) -> None:
    audio, period = riff(rate)
    first, stop = dsp.frames(start, rate), dsp.frames(end, rate)
    out = dsp.replace(audio, rate, start, end, seed=3)
    assert np.array_equal(out[:first], audio[:first])
    assert np.array_equal(out[stop:], audio[stop:])
    fade = dsp.frames(dsp.MAX_CROSSFADE, rate)
    source = copied_from(audio, out[first + fade : first + fade + PROBE]) - fade
    assert not first - (stop - first) < source < stop  # it never reads the section itself
    assert abs((source - first) / period - round((source - first) / period)) < 1e-3
    inside = slice(first + fade, stop - fade)
    assert np.corrcoef(out[inside, 0], audio[inside, 0])[0, 1] > 0.99
    # The seams join material that belongs together: no step is larger than the music's own.
    around = out[first - fade * 2 : stop + fade * 2]
    assert np.abs(np.diff(around, axis=0)).max() < 1.5 * np.abs(np.diff(audio, axis=0)).max()


def test_replace_prefers_whole_beats_away() -> None:
    rate = 8000
    audio = beat_track(110.0, rate, 20.0)
    beat = 60.0 / 110.0
    for start, end in ((3.0, 5.5), (11.2, 12.0), (15.0, 19.0)):
        out = dsp.replace(audio, rate, start, end, seed=1)
        first = dsp.frames(start, rate)
        fade = dsp.frames(dsp.MAX_CROSSFADE, rate)
        source = copied_from(audio, out[first + fade : first + fade + PROBE]) - fade
        assert_whole_beats(abs(source - first), beat, rate)


def test_replace_without_a_match_takes_a_seeded_position() -> None:
    rate = 8000
    noise = np.random.default_rng(5).uniform(-0.5, 0.5, (rate * 10, 1)).astype(np.float32)
    first, stop = rate * 2, rate * 3
    fade = dsp.frames(dsp.MAX_CROSSFADE, rate)
    fills = set()
    for seed in (1, 2, 3):
        out = dsp.replace(noise, rate, 2.0, 3.0, seed)
        spare = noise.shape[0] - 2 * (stop - first)
        expected = stop + int(np.random.default_rng(seed).integers(0, spare + 1))
        inner = np.arange(first + fade, stop - fade)
        assert np.array_equal(out[inner], noise[(expected + inner - first) % noise.shape[0]])
        fills.add(out.tobytes())
    assert len(fills) == 3


def test_replace_is_deterministic_on_matching_material() -> None:
    audio, _ = riff(8000)
    first = dsp.replace(audio, 8000, 9.3, 12.1, seed=4)
    assert np.array_equal(first, dsp.replace(audio, 8000, 9.3, 12.1, seed=4))
