"""Cutting the clip's visible part for upload: exact samples, read by seeking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.audio import cut_clip, probe
from bridge.errors import AudioError


def noise_file(path: Path, seconds: float, rate: int = 48000, subtype: str = "PCM_16") -> Path:
    data = np.random.default_rng(7).uniform(-0.5, 0.5, (round(seconds * rate), 2))
    sf.write(str(path), data, rate, subtype=subtype)
    return path


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_the_cut_equals_the_source_range_sample_for_sample(tmp_path: Path, subtype: str) -> None:
    source = noise_file(tmp_path / "take.wav", 6.0, subtype=subtype)
    cut = cut_clip(probe(source), 1.5, 2.25, tmp_path / "upload.wav")
    assert (cut.frames, cut.sample_rate, cut.channels) == (108000, 48000, 2)
    whole, _ = sf.read(str(source), dtype="int32")
    part, _ = sf.read(str(cut.path), dtype="int32")
    assert np.array_equal(part, whole[72000:180000])


def test_a_cut_past_the_end_of_the_file_stops_at_its_end(tmp_path: Path) -> None:
    source = noise_file(tmp_path / "take.flac", 3.0)
    cut = cut_clip(probe(source), 2.0, 5.0, tmp_path / "upload.wav")
    assert cut.frames == 48000


def test_a_cut_longer_than_the_service_takes_is_refused_with_its_length(tmp_path: Path) -> None:
    source = noise_file(tmp_path / "long.wav", 250.0, rate=8000)
    with pytest.raises(AudioError, match=r"245\.0 s long; the service takes at most 240 s"):
        cut_clip(probe(source), 5.0, 246.0, tmp_path / "upload.wav")
    assert not (tmp_path / "upload.wav").exists()


def test_a_cut_that_starts_after_the_end_says_so(tmp_path: Path) -> None:
    source = noise_file(tmp_path / "take.wav", 1.0)
    with pytest.raises(AudioError, match="nothing to upload from 2 s"):
        cut_clip(probe(source), 2.0, 1.0, tmp_path / "upload.wav")
