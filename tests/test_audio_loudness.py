"""Loudness matching of spliced sections (ITU-R BS.1770 integrated loudness)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.audio.clips import probe, read_frames
from bridge.audio.loudness import MAX_GAIN_DB, integrated_loudness, matching_gain
from bridge.project.wavout import SplicePlan, write_spliced

RATE = 48000


def noise(seconds: float, level: float, seed: int, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level * rng.uniform(-1.0, 1.0, (round(seconds * RATE), channels))


def test_the_gain_gives_the_material_the_reference_loudness() -> None:
    reference, material = noise(4.0, 0.1, 1), noise(2.0, 0.4, 2)
    gain = matching_gain(reference, material, RATE)
    assert gain == pytest.approx(0.25, rel=0.05)  # 12 dB quieter
    matched = integrated_loudness(material * gain, RATE)
    wanted = integrated_loudness(reference, RATE)
    assert matched is not None
    assert wanted is not None
    assert matched == pytest.approx(wanted, abs=0.1)


def test_the_gain_is_limited_to_12_db() -> None:
    gain = matching_gain(noise(2.0, 0.5, 1), noise(2.0, 0.001, 2), RATE)
    assert 20 * np.log10(gain) == pytest.approx(MAX_GAIN_DB)


@pytest.mark.parametrize(
    ("reference", "material"),
    [
        (noise(2.0, 0.1, 1), noise(0.3, 0.4, 2)),  # shorter than one 400 ms block
        (np.zeros((RATE, 2)), noise(2.0, 0.4, 2)),  # silence has no loudness
    ],
)
def test_what_cannot_be_measured_is_left_as_it_is(
    reference: np.ndarray, material: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert matching_gain(reference, material, RATE) == 1.0
    assert "loudness not matched" in caplog.text


def test_a_matched_splice_is_as_loud_as_its_surroundings_and_keeps_them_exact(
    tmp_path: Path,
) -> None:
    source = tmp_path / "take.wav"
    sf.write(str(source), noise(6.0, 0.1, 3), RATE, subtype="PCM_24")
    result = tmp_path / "result.wav"
    sf.write(str(result), noise(6.0, 0.3, 4), RATE, subtype="PCM_24")  # 9.5 dB too loud
    info = probe(source)
    original = read_frames(info, 0, info.frames)

    shape = write_spliced(
        original,
        RATE,
        result,
        tmp_path / "spliced.wav",
        plan=SplicePlan(2.0, 4.0, 0.02, match_loudness=True),
        sample_rate=RATE,
        subtype="PCM_24",
    )

    out, _ = sf.read(str(shape.path), dtype="float64", always_2d=True)
    around = integrated_loudness(np.concatenate([original[: 2 * RATE], original[4 * RATE :]]), RATE)
    section = integrated_loudness(out[2 * RATE + 960 : 4 * RATE - 960], RATE)
    assert around is not None
    assert section is not None
    assert section == pytest.approx(around, abs=0.5)
    assert np.array_equal(out[: 2 * RATE], original[: 2 * RATE])
    assert np.array_equal(out[4 * RATE :], original[4 * RATE :])
