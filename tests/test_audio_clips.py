"""Cutting the clip's visible part for upload: exact samples, read by seeking."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.audio import cut_clip, probe
from bridge.audio.clips import upload_suffix
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


# ------------------------------------------------------------- exact for every sample format

SOURCE_FORMATS = [
    ("WAV", "PCM_16", "int32"),
    ("WAV", "PCM_24", "int32"),
    ("WAV", "PCM_32", "int32"),
    ("WAV", "FLOAT", "float64"),
    ("WAV", "DOUBLE", "float64"),
    ("WAV", "PCM_U8", "int32"),
    # WAVE_FORMAT_EXTENSIBLE, as sox and ffmpeg write 24-bit files, and RF64
    ("WAVEX", "PCM_16", "int32"),
    ("WAVEX", "PCM_24", "int32"),
    ("WAVEX", "PCM_32", "int32"),
    ("WAVEX", "FLOAT", "float64"),
    ("WAVEX", "DOUBLE", "float64"),
    ("RF64", "PCM_24", "int32"),
    ("AIFF", "PCM_24", "int32"),
    ("FLAC", "PCM_16", "int32"),
    ("FLAC", "PCM_24", "int32"),
]
EXTENSIONS = {"WAV": ".wav", "WAVEX": ".wav", "RF64": ".wav", "AIFF": ".aiff", "FLAC": ".flac"}


def noise_source(
    path: Path, container: str, subtype: str, rate: int, channels: int, frames: int, seed: int
) -> Path:
    """Random samples in `subtype`; float sources go past full scale, which an integer
    copy would clip."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(-1.5, 1.5, size=(frames, channels))
    if subtype not in ("FLOAT", "DOUBLE"):
        data = np.clip(data, -1.0, 1.0)
    sf.write(str(path), data, rate, subtype=subtype, format=container)
    return path


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(SOURCE_FORMATS),
    st.sampled_from([22050, 44100, 48000, 96000]),
    st.sampled_from([1, 2, 3]),
    st.integers(0, 3000),
    st.integers(1, 5000),
    st.sampled_from(["flac", "wav"]),
)
def test_a_cut_holds_the_source_samples_bit_for_bit(
    tmp_path_factory: pytest.TempPathFactory,
    source_format: tuple[str, str, str],
    rate: int,
    channels: int,
    first: int,
    frames: int,
    fmt: str,
) -> None:
    container, subtype, dtype = source_format
    folder = tmp_path_factory.mktemp("cut")
    source = noise_source(
        folder / f"source{EXTENSIONS[container]}", container, subtype, rate, channels, 9000, first
    )
    info = probe(source)
    dest = folder / f"upload{upload_suffix(info, fmt)}"  # type: ignore[arg-type]
    cut = cut_clip(info, first / rate, frames / rate, dest)
    expected, _ = sf.read(str(source), start=first, frames=frames, dtype=dtype, always_2d=True)
    got, got_rate = sf.read(str(dest), dtype=dtype, always_2d=True)
    assert got_rate == rate
    assert cut.frames == len(expected) == frames
    assert np.array_equal(got, expected)
    if fmt == "flac" and subtype in ("PCM_16", "PCM_24", "PCM_U8"):
        assert dest.suffix == ".flac"  # lossless and smaller where FLAC can hold it
    if subtype in ("PCM_32", "FLOAT", "DOUBLE"):
        assert dest.suffix == ".wav"  # FLAC would round these


def test_flac_is_refused_where_it_would_round_the_samples(tmp_path: Path) -> None:
    source = noise_source(tmp_path / "float.wav", "WAV", "FLOAT", 48000, 2, 100, 1)
    with pytest.raises(AudioError, match="FLAC cannot hold FLOAT samples exactly"):
        cut_clip(probe(source), 0.0, 0.001, tmp_path / "upload.flac")


def test_a_lossy_source_is_copied_as_its_decoder_gives_it(tmp_path: Path) -> None:
    wav = noise_source(tmp_path / "n.wav", "WAV", "PCM_16", 44100, 2, 44100, 3)
    ogg = tmp_path / "n.ogg"
    data, rate = sf.read(str(wav))
    sf.write(str(ogg), data, rate, format="OGG", subtype="VORBIS")
    info = probe(ogg)
    cut = cut_clip(info, 0.0, 0.5, tmp_path / f"upload{upload_suffix(info, 'flac')}")
    assert cut.path.suffix == ".wav"
    assert sf.info(str(cut.path)).subtype == "FLOAT"
    assert cut.frames == 22050


def test_a_file_with_a_header_and_no_audio_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 2), dtype=np.float32), 48000, subtype="PCM_24")
    with pytest.raises(AudioError, match="holds no audio"):
        probe(empty)


@pytest.mark.parametrize("claimed", [0xFFFFFFFF, 0xFFFFFFF0, 4800 * 4 + 2])
def test_a_wav_whose_header_claims_another_length_is_cut_from_the_audio_it_holds(
    tmp_path: Path, claimed: int
) -> None:
    # Writers that stream (ffmpeg to a pipe) or are still recording leave such sizes.
    rng = np.random.default_rng(5)
    source = tmp_path / "streamed.wav"
    sf.write(str(source), rng.uniform(-0.5, 0.5, (4800, 2)), 48000, subtype="PCM_16")
    data = bytearray(source.read_bytes())
    size_at = data.index(b"data") + 4
    data[size_at : size_at + 4] = claimed.to_bytes(4, "little")
    source.write_bytes(bytes(data))
    info = probe(source)
    cut = cut_clip(info, 0.01, 0.05, tmp_path / "cut.wav")
    expected, _ = sf.read(str(source), start=480, frames=2400, dtype="int16")
    got, rate = sf.read(str(tmp_path / "cut.wav"), dtype="int16")
    assert (cut.frames, rate) == (2400, 48000)
    assert np.array_equal(got, expected)


def wav_bytes(tag: int, subformat: int | None, body: bytes, channels: int, bits: int) -> bytes:
    """A WAV written by hand: `fmt ` (EXTENSIBLE when `subformat` is given), an odd-sized
    chunk with its pad byte, then `data`."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, 48000, 48000 * align, align, bits)
    if subformat is not None:
        guid = struct.pack("<H", subformat) + bytes.fromhex("000000001000800000aa00389b71")
        fmt += struct.pack("<HHI", 22, bits, 0) + guid
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"junk" + struct.pack("<I", 3) + b"abc" + b"\0"
    chunks += b"data" + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


@pytest.mark.parametrize(
    ("tag", "subformat", "dtype", "subtype"),
    [
        (1, None, "<i2", "PCM_16"),
        (0xFFFE, 1, "<i2", "PCM_16"),
        (0xFFFE, 3, "<f4", "FLOAT"),
        (3, None, "<f8", "DOUBLE"),
    ],
)
def test_a_hand_written_header_with_an_odd_sized_chunk_is_cut_exactly(
    tmp_path: Path, tag: int, subformat: int | None, dtype: str, subtype: str
) -> None:
    rng = np.random.default_rng(11)
    samples = rng.uniform(-0.9, 0.9, (4801, 1))
    samples = (samples * 32767).astype(dtype) if subtype == "PCM_16" else samples.astype(dtype)
    source = tmp_path / "hand.wav"
    source.write_bytes(wav_bytes(tag, subformat, samples.tobytes(), 1, samples.itemsize * 8))
    info = probe(source)
    cut = cut_clip(info, 0.01, 0.05, tmp_path / "cut.wav")
    got, rate = sf.read(str(cut.path), dtype="float64", always_2d=True)
    expected = samples[480:2880].astype("float64")
    if subtype == "PCM_16":
        expected = expected / 32768
    assert (cut.frames, rate, sf.info(str(cut.path)).subtype) == (2400, 48000, subtype)
    assert np.array_equal(got, expected)


def test_an_odd_number_of_24_bit_mono_frames_is_cut_to_a_readable_padded_file(
    tmp_path: Path,
) -> None:
    source = noise_source(tmp_path / "mono.wav", "WAVEX", "PCM_24", 48000, 1, 9001, 4)
    cut = cut_clip(probe(source), 0.0, 4001 / 48000, tmp_path / "cut.wav")
    assert cut.path.stat().st_size % 2 == 0  # the odd data chunk has its pad byte
    expected, _ = sf.read(str(source), frames=4001, dtype="int32")
    got, _ = sf.read(str(cut.path), dtype="int32")
    assert cut.frames == 4001
    assert np.array_equal(got, expected)
