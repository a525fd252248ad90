"""The stem split: drums are hits, bass is low and sustained, vocals are centred and in the
voice band, other is the rest, and the four add back up to the mix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bridge.emulator import dsp
from bridge.emulator.stems import median_filter

RATES = [22050, 44100, 48000, 96000]
NAMES = ["vocals", "drums", "bass", "other"]


def energy(audio: np.ndarray) -> float:
    return float(np.sum(np.square(audio, dtype=np.float64)))


def shares(audio: np.ndarray, rate: int) -> dict[str, float]:
    """Each stem's share of the stems' total energy."""
    stems = dsp.split_stems(audio.astype(np.float32), rate)
    energies = {name: energy(stem) for name, stem in stems.items()}
    total = sum(energies.values())
    return {name: value / total for name, value in energies.items()}


def tone(freq: float, rate: int, seconds: float = 4.0, level: float = 0.5) -> np.ndarray:
    return level * np.sin(2 * np.pi * freq * np.arange(dsp.frames(seconds, rate)) / rate)


def stereo(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.stack([left, right], axis=1)


def assert_sums_back(audio: np.ndarray, stems: dict[str, dsp.Audio]) -> None:
    """Within 1e-6 per sample, however a caller adds them up."""
    in_order = stems["vocals"] + stems["drums"] + stems["bass"] + stems["other"]
    assert in_order.dtype == np.float32
    assert np.abs(in_order - audio).max() <= 1e-6
    stacked = np.sum(np.stack([stems[name] for name in NAMES]), axis=0)
    assert np.abs(stacked - audio).max() <= 1e-6
    exact = sum(stem.astype(np.float64) for stem in stems.values())
    assert np.abs(exact - audio).max() <= 1e-6


# --- adding back up -------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    rate=st.sampled_from(RATES),
    channels=st.sampled_from([1, 2]),
    seconds=st.floats(min_value=0.0001, max_value=1.5),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_stems_of_random_full_scale_audio_sum_back(
    rate: int, channels: int, seconds: float, seed: int
) -> None:
    n = max(1, dsp.frames(seconds, rate))
    rng = np.random.default_rng(seed)
    audio = rng.uniform(-1.0, 1.0, (n, channels)).astype(np.float32)
    audio[rng.random(audio.shape) < 0.05] = 1.0  # full scale exactly, now and then
    assert_sums_back(audio, dsp.split_stems(audio, rate))


@pytest.mark.parametrize("rate", RATES)
def test_stems_of_loud_music_and_square_waves_sum_back(rate: int) -> None:
    t = np.arange(dsp.frames(2.0, rate)) / rate
    square = np.sign(np.sin(2 * np.pi * 55 * t))  # the bass overshoots full scale
    for audio in (dsp.create(2.0, rate, 1, []), stereo(square, -square).astype(np.float32)):
        assert_sums_back(audio, dsp.split_stems(audio, rate))


@settings(max_examples=40, deadline=None)
@given(
    values=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 6), st.integers(1, 40)),
        elements=st.floats(0, 100, width=32),
    ),
    half=st.integers(0, 12),
)
def test_median_filter_is_the_running_median_with_mirrored_ends(
    values: np.ndarray, half: int
) -> None:
    size = 2 * half + 1
    mirrored = np.pad(values, ((0, 0), (half, half)), mode="reflect")
    expected = [
        [np.median(mirrored[row, col : col + size]) for col in range(values.shape[1])]
        for row in range(values.shape[0])
    ]
    assert np.array_equal(median_filter(values, size), np.array(expected, dtype=np.float32))


# --- what goes where ------------------------------------------------------------------


@pytest.mark.parametrize("rate", [44100, 48000])
def test_a_kick_drum_is_drums(rate: int) -> None:
    t = np.arange(dsp.frames(6.0, rate)) / rate
    since = t % 0.5  # 120 bpm
    # A pitch falling from 150 to 45 Hz, as in the emulator's own songs.
    sweep = 45 * since + 105 * 0.04 * (1 - np.exp(-since / 0.04))
    kick = 0.8 * np.sin(2 * np.pi * sweep) * np.exp(-since / 0.09)
    result = shares(stereo(kick, kick), rate)
    assert result["drums"] > 0.6
    assert result["drums"] == max(result.values())


@pytest.mark.parametrize("rate", [44100, 48000])
def test_a_centred_sustained_tone_in_the_voice_band_is_vocals(rate: int) -> None:
    a440 = tone(440, rate)
    assert shares(stereo(a440, a440), rate)["vocals"] > 0.95
    assert shares(a440[:, None], rate)["vocals"] > 0.95  # mono is centred


@pytest.mark.parametrize("rate", [22050, 44100, 48000, 96000])
def test_a_low_sine_is_bass(rate: int) -> None:
    low = tone(60, rate)
    assert shares(stereo(low, low), rate)["bass"] > 0.95


@pytest.mark.parametrize("rate", [44100, 48000])
def test_a_side_only_tone_is_not_vocals(rate: int) -> None:
    wide = tone(1000, rate)
    result = shares(stereo(wide, -wide), rate)
    assert result["vocals"] < 0.01
    assert result["other"] > 0.9


def test_a_tone_panned_to_one_side_is_mostly_not_vocals() -> None:
    a440 = tone(440, 44100)
    result = shares(stereo(a440, 0 * a440), 44100)
    assert result["vocals"] < 0.2
    assert result["other"] > 0.8


def test_a_song_spreads_over_all_four_stems() -> None:
    result = shares(dsp.create(8.0, 44100, 2, []), 44100)
    assert all(share > 0.02 for share in result.values())


# --- shape and determinism ------------------------------------------------------------


@pytest.mark.parametrize("frames", [1, 7, 1023, 1024, 1025, 44100])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_stems_keep_length_and_channels(frames: int, channels: int) -> None:
    audio = np.random.default_rng(frames).uniform(-1, 1, (frames, channels)).astype(np.float32)
    stems = dsp.split_stems(audio, 44100)
    assert list(stems) == NAMES
    for stem in stems.values():
        assert stem.shape == (frames, channels)
        assert stem.dtype == np.float32
    assert_sums_back(audio, stems)


def test_stems_are_deterministic() -> None:
    audio = dsp.create(3.0, 44100, 8, [])
    first, second = dsp.split_stems(audio, 44100), dsp.split_stems(audio.copy(), 44100)
    for name in NAMES:
        assert np.array_equal(first[name], second[name])


def test_silence_splits_into_silence() -> None:
    stems = dsp.split_stems(np.zeros((4410, 2), dtype=np.float32), 44100)
    assert not any(stem.any() for stem in stems.values())


# --- at the low rate the other emulator tests use ---------------------------------------

SR = 8000


def band(audio: np.ndarray, low: float, high: float) -> np.ndarray:
    spectrum = np.fft.rfft(audio.astype(np.float64), axis=0)
    freqs = np.fft.rfftfreq(audio.shape[0], d=1.0 / SR)
    mask = (freqs >= low) & (freqs < high)
    return np.fft.irfft(spectrum * mask[:, None], n=audio.shape[0], axis=0)


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def square_wave(seconds: float = 2.0) -> dsp.Audio:
    t = np.arange(dsp.frames(seconds, SR)) / SR
    return (0.99 * np.sign(np.sin(2 * np.pi * 110 * t))).astype(np.float32)[:, None]


def test_stems_of_a_song_and_a_square_wave_sum_back() -> None:
    for audio in (dsp.create(6.0, SR, 1, []), square_wave()):
        assert_sums_back(audio, dsp.split_stems(audio, SR))


def test_stems_are_not_clipped() -> None:
    # Low-passing a full-scale square wave overshoots (Gibbs), so the bass stem exceeds 1.
    assert np.abs(dsp.split_stems(square_wave(), SR)["bass"]).max() > 1.0


def test_bass_and_vocals_stay_in_their_bands() -> None:
    # Short-time masks are not brick walls: a little (-40 dB here) spills past the band edges.
    stems = dsp.split_stems(dsp.create(6.0, SR, 1, []), SR)
    bass, vocals = stems["bass"], stems["vocals"]
    assert rms(band(bass, 250, SR)) < 0.02 * rms(bass)
    assert rms(vocals - band(vocals, 250, 3500)) < 0.02 * rms(vocals)
    assert rms(bass) > 0.01
    assert rms(vocals) > 0.01


def test_drums_follow_transients() -> None:
    t = np.arange(dsp.frames(4.0, SR)) / SR
    tone = np.sin(2 * np.pi * 3500 * t)
    steady = (0.5 * tone).astype(np.float32)[:, None]
    hits = (0.5 * tone * np.exp(-(t % 0.5) / 0.01)).astype(np.float32)[:, None]
    assert rms(dsp.split_stems(steady, SR)["drums"][SR:]) < 0.05 * rms(steady)
    assert rms(dsp.split_stems(hits, SR)["drums"]) > 0.5 * rms(hits)
