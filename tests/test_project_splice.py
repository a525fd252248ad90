"""Results as files: decoded (WAV, MP3), resampled once to the project rate, made exactly
as long as the span they cover, and spliced into the original so that every kept sample
is the original's, bit for bit, in 16-bit, 24-bit and float sources at every common rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.audio.clips import holding_subtype, probe, read_frames
from bridge.project.wavout import Fit, SplicePlan, write_project_wav, write_spliced

RATES = (22050, 44100, 48000, 96000)
SOURCE_FORMATS = ("PCM_16", "PCM_24", "FLOAT")


def noise(frames: int, channels: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.9, 0.9, (frames, channels))


def write(path: Path, data: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    fmt = "MP3" if path.suffix == ".mp3" else "WAV"
    sf.write(str(path), data, rate, subtype=subtype, format=fmt)
    return path


def read(path: Path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    return data, int(rate)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rate=st.sampled_from(RATES),
    source_format=st.sampled_from(SOURCE_FORMATS),
    project_format=st.sampled_from(("PCM_16", "PCM_24", "FLOAT")),
    channels=st.sampled_from([1, 2]),
    result_channels=st.sampled_from([1, 2]),
    result_rate=st.sampled_from([44100, 48000]),
    section=st.tuples(st.floats(0.0, 0.9), st.floats(0.05, 1.0)),
    fade=st.sampled_from([0.0, 0.005, 0.02, 0.5]),
)
def test_a_replace_splice_is_the_original_bit_for_bit_outside_the_section(
    tmp_path_factory: pytest.TempPathFactory,
    rate: int,
    source_format: str,
    project_format: str,
    channels: int,
    result_channels: int,
    result_rate: int,
    section: tuple[float, float],
    fade: float,
) -> None:
    folder = tmp_path_factory.mktemp("splice")
    seconds = 1.0
    source = write(folder / "take.wav", noise(rate, channels, 1), rate, source_format)
    result_frames = round(seconds * result_rate) - 7  # a result a few samples short
    result = write(folder / "result.wav", noise(result_frames, result_channels, 2), result_rate)
    info = probe(source)
    original = read_frames(info, 0, info.frames)
    start = section[0]
    end = min(seconds, start + section[1])
    subtype = holding_subtype(project_format, info.subtype)

    shape = write_spliced(
        original,
        rate,
        result,
        folder / "spliced.wav",
        plan=SplicePlan(start, end, fade),
        sample_rate=None,  # the project runs at the original's rate
        subtype=subtype,
    )

    out, out_rate = read(shape.path)
    kept, _ = read(source)
    first, last = round(start * rate), round(end * rate)
    assert (out_rate, out.shape) == (rate, (rate, channels))
    assert shape.frames == rate
    assert np.array_equal(out[:first], kept[:first])
    assert np.array_equal(out[last:], kept[last:])
    if last - first > 2 * round(fade * rate) + 2:
        assert not np.array_equal(out[first:last], kept[first:last])


def test_an_extend_splice_keeps_the_original_up_to_the_point_and_the_whole_continuation(
    tmp_path: Path,
) -> None:
    rate = 48000
    source = write(tmp_path / "take.wav", noise(2 * rate, 2, 3), rate, "PCM_24")
    continuation = write(tmp_path / "result.wav", noise(5 * rate, 2, 4), rate)
    info = probe(source)
    # What the original holds after the point (0.02 s) is read for the crossfade.
    original = read_frames(info, 0, 2 * rate + round(0.02 * rate))

    shape = write_spliced(
        original,
        rate,
        continuation,
        tmp_path / "spliced.wav",
        plan=SplicePlan(1.5, None, 0.02),
        sample_rate=rate,
        subtype="PCM_24",
    )

    out, _ = read(shape.path)
    kept, _ = read(source)
    new, _ = read(continuation)
    at, fade = round(1.5 * rate), round(0.02 * rate)
    assert shape.frames == 5 * rate  # the whole continuation, its tail included
    assert np.array_equal(out[:at], kept[:at])
    assert np.allclose(out[at + fade :], new[at + fade :], atol=2**-15)


def test_a_spliced_file_at_another_project_rate_is_resampled_once(tmp_path: Path) -> None:
    source = write(tmp_path / "take.wav", noise(44100, 2, 5), 44100)
    result = write(tmp_path / "result.wav", noise(44100, 2, 6), 44100)
    info = probe(source)
    shape = write_spliced(
        read_frames(info, 0, info.frames),
        44100,
        result,
        tmp_path / "spliced.wav",
        plan=SplicePlan(0.25, 0.5, 0.01),
        sample_rate=48000,
        subtype="PCM_24",
    )
    assert (shape.sample_rate, shape.frames, shape.channels) == (48000, 48000, 2)


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
@pytest.mark.parametrize(("result_rate", "project_rate"), [(44100, 48000), (48000, 96000)])
def test_results_are_decoded_resampled_and_made_exactly_as_long_as_their_span(
    tmp_path: Path, suffix: str, result_rate: int, project_rate: int
) -> None:
    # A 3 s span; the service's file runs 211 samples long (a peer tool's classic).
    t = np.arange(3 * result_rate + 211) / result_rate
    tone = 0.5 * np.sin(2 * np.pi * 440.0 * t)[:, None].repeat(2, axis=1)
    source = write(
        tmp_path / f"result{suffix}",
        tone,
        result_rate,
        "MPEG_LAYER_III" if suffix == ".mp3" else "PCM_16",
    )
    shape = write_project_wav(
        source,
        tmp_path / "result_exact.wav",
        sample_rate=project_rate,
        fit=Fit(seconds=3.0, exact=True),
    )
    assert (shape.frames, shape.sample_rate) == (3 * project_rate, project_rate)
    data, _ = read(shape.path)
    # Still the same tone, at the same place: its phase matches the original's.
    expected = 0.5 * np.sin(2 * np.pi * 440.0 * np.arange(3 * project_rate) / project_rate)
    middle = slice(project_rate, 2 * project_rate)
    tolerance = 0.05 if suffix == ".mp3" else 1e-3
    assert np.max(np.abs(data[middle, 0] - expected[middle])) < tolerance


def test_a_short_result_is_padded_with_silence_and_a_long_one_kept_when_not_exact(
    tmp_path: Path,
) -> None:
    short = write(tmp_path / "short.wav", noise(900, 1, 7), 1000 * 8)
    padded = write_project_wav(short, tmp_path / "a.wav", sample_rate=None, fit=Fit(frames=1000))
    data, _ = read(padded.path)
    assert padded.frames == 1000
    assert not np.any(data[900:])
    kept = write_project_wav(
        short, tmp_path / "b.wav", sample_rate=None, fit=Fit(frames=800, exact=False)
    )
    assert kept.frames == 900
