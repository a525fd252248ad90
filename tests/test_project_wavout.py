"""Results land as WAV at the project's rate, whole or not at all, never over a file."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from bridge.errors import ProjectError
from bridge.files import remove_temporaries, write_atomic, write_bytes_atomic
from bridge.project import read_shape, write_project_wav
from bridge.project.wavout import Fit
from tests.conftest import need_tool

Mount = Callable[[str], Path]


def sine(frequency: float, rate: int, seconds: float, channels: int = 2) -> npt.NDArray[np.float64]:
    t = np.arange(round(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * frequency * t)
    return np.repeat(wave[:, None], channels, axis=1)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".part")))


def skip_or_fail(reason: str) -> None:
    """Outside CI a missing privilege skips; in CI these tests must run, so it fails."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run this test as root")
    pytest.skip(reason)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Mount]:
    """Mount a small tmpfs with the given options; unmounted after the test."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        if os.geteuid() != 0:
            skip_or_fail("mounting a tmpfs needs root")
        folder = tmp_path / f"mnt{len(mounted)}"
        folder.mkdir()
        command = [need_tool("mount", "mount"), "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            skip_or_fail(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run([need_tool("umount", "mount"), str(folder)], check=True)


def test_a_44k_float_result_is_written_as_48k_pcm24_close_to_the_tone(tmp_path: Path) -> None:
    source = tmp_path / "result.wav"
    sf.write(str(source), sine(440, 44100, 2.0), 44100, subtype="FLOAT")
    dest = tmp_path / "take.wav"

    shape = write_project_wav(source, dest, sample_rate=48000)

    info = sf.info(str(dest))
    assert info.subtype == "PCM_24"
    assert (info.samplerate, info.channels) == (48000, 2)
    assert abs(info.frames - round(2.0 * 44100 * 48000 / 44100)) <= 1
    assert (shape.frames, shape.sample_rate, shape.channels) == (info.frames, 48000, 2)
    written, _ = sf.read(str(dest), dtype="float64", always_2d=True)
    reference = sine(440, 48000, 2.0)[: len(written)]
    # The resampler's filter rings at the very edges; the body must match the tone.
    body = slice(2000, len(written) - 2000)
    assert np.max(np.abs(written[body] - reference[body])) < 1e-3


def test_a_same_rate_write_is_sample_exact(tmp_path: Path) -> None:
    codes = np.random.default_rng(7).integers(-(2**23), 2**23, size=(4800, 2))
    data = codes / 2.0**23  # exactly representable in PCM_24
    source = tmp_path / "result.wav"
    sf.write(str(source), data, 48000, subtype="FLOAT")

    write_project_wav(source, tmp_path / "take.wav", sample_rate=48000)

    written, rate = sf.read(str(tmp_path / "take.wav"), dtype="float64", always_2d=True)
    assert rate == 48000
    assert np.array_equal(written, data)


def libsndfile_wav(source: Path, subtype: str, frames: int | None = None) -> bytes:
    """What decoding `source` to float64 and encoding it again as WAV gives."""
    data, rate = sf.read(str(source), dtype="float64", always_2d=True)
    if frames is not None:
        data = np.concatenate([data, np.zeros((max(0, frames - len(data)), data.shape[1]))])
        data = data[:frames]
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(data, -1.0, 1.0), rate, subtype=subtype, format="WAV")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("container", "width", "subtype"),
    [
        ("WAV", "PCM_16", "PCM_24"),
        ("WAV", "PCM_16", "PCM_16"),
        ("WAV", "PCM_16", "PCM_32"),
        ("WAVEX", "PCM_24", "PCM_24"),
        ("WAVEX", "PCM_24", "PCM_32"),
        ("WAV", "PCM_32", "PCM_32"),
    ],
)
def test_an_integer_wav_at_the_project_rate_is_written_as_decoding_and_encoding_would(
    tmp_path: Path, container: str, width: str, subtype: str
) -> None:
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}[width]
    extremes = [[-(2 ** (bits - 1)), 2 ** (bits - 1) - 1], [0, -1], [1, 2 ** (bits - 2)]]
    rng = np.random.default_rng(bits)
    codes = np.concatenate([extremes, rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), (999, 2))])
    source = tmp_path / "result.wav"
    samples = (codes << (32 - bits)).astype(np.int32)
    sf.write(str(source), samples, 44100, subtype=width, format=container)

    shape = write_project_wav(source, tmp_path / "take.wav", sample_rate=44100, subtype=subtype)

    assert (tmp_path / "take.wav").read_bytes() == libsndfile_wav(source, subtype)
    assert (shape.frames, shape.sample_rate, shape.channels) == (1002, 44100, 2)


@pytest.mark.parametrize(("fit", "frames"), [(Fit(frames=1500), 1500), (Fit(frames=700), 700)])
def test_a_fitted_integer_wav_gets_the_silence_or_the_cut_decoding_would_give(
    tone: Callable[..., Path], tmp_path: Path, fit: Fit, frames: int
) -> None:
    source = tone(1000 / 44100, rate=44100, channels=1)

    shape = write_project_wav(source, tmp_path / "take.wav", sample_rate=None, fit=fit)

    assert (tmp_path / "take.wav").read_bytes() == libsndfile_wav(source, "PCM_24", frames)
    assert shape.frames == frames


def test_a_longer_result_keeps_its_tail_when_the_fit_is_not_exact(
    tone: Callable[..., Path], tmp_path: Path
) -> None:
    source = tone(1000 / 44100, rate=44100)
    fit = Fit(frames=700, exact=False)

    shape = write_project_wav(source, tmp_path / "take.wav", sample_rate=None, fit=fit)

    assert shape.frames == 1000
    assert (tmp_path / "take.wav").read_bytes() == libsndfile_wav(source, "PCM_24")


@pytest.mark.parametrize(("channels", "frames"), [(2, 400_001), (1, 700_000)])
def test_an_integer_wav_longer_than_a_block_is_widened_whole_and_padded(
    tmp_path: Path, channels: int, frames: int
) -> None:
    # 1.6 MB and 0.8 MB of 16-bit samples: more than one 1 MiB block, and a last one cut
    # short; the mono fit asks for silence after the file's 600,000 frames.
    rng = np.random.default_rng(channels)
    codes = rng.integers(-(2**15), 2**15, (min(frames, 600_000), channels), dtype=np.int32)
    source = tmp_path / "result.wav"
    sf.write(str(source), codes << 16, 44100, subtype="PCM_16", format="WAV")

    shape = write_project_wav(
        source, tmp_path / "take.wav", sample_rate=44100, fit=Fit(frames=frames)
    )

    assert (tmp_path / "take.wav").read_bytes() == libsndfile_wav(source, "PCM_24", frames)
    assert (shape.frames, shape.channels) == (frames, channels)


def test_no_rate_keeps_the_source_rate(tone: Callable[..., Path], tmp_path: Path) -> None:
    shape = write_project_wav(tone(1.0, rate=22050), tmp_path / "take.wav", sample_rate=None)
    assert (shape.sample_rate, shape.frames) == (22050, 22050)


def test_mono_stays_mono(tone: Callable[..., Path], tmp_path: Path) -> None:
    shape = write_project_wav(tone(0.5, channels=1), tmp_path / "take.wav", sample_rate=44100)
    assert shape.channels == 1
    assert sf.info(str(tmp_path / "take.wav")).channels == 1


def test_overs_are_clipped_for_pcm_and_kept_for_float(tmp_path: Path) -> None:
    source = tmp_path / "loud.wav"
    sf.write(str(source), np.array([[1.5], [-1.5], [0.25]]), 48000, subtype="FLOAT")

    write_project_wav(source, tmp_path / "pcm.wav", sample_rate=None, subtype="PCM_16")
    write_project_wav(source, tmp_path / "float.wav", sample_rate=None, subtype="FLOAT")

    pcm, _ = sf.read(str(tmp_path / "pcm.wav"))
    assert pcm.min() >= -1.0
    assert pcm.max() <= 1.0
    assert pcm[0] > 0.99
    assert pcm[1] == -1.0
    floats, _ = sf.read(str(tmp_path / "float.wav"))
    assert floats.tolist() == [1.5, -1.5, 0.25]


def test_an_mp3_result_decodes(tmp_path: Path) -> None:
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3")
    source = tmp_path / "result.mp3"
    sf.write(str(source), sine(440, 44100, 1.0), 44100, format="MP3", subtype="MPEG_LAYER_III")

    shape = write_project_wav(source, tmp_path / "take.wav", sample_rate=48000)

    assert (shape.sample_rate, shape.channels) == (48000, 2)
    assert shape.frames > 40000  # the encoder may pad or trim a little
    written, _ = sf.read(str(tmp_path / "take.wav"))
    assert np.max(np.abs(written)) > 0.3


def test_an_existing_file_is_refused_and_left_untouched(
    tone: Callable[..., Path], tmp_path: Path
) -> None:
    dest = tmp_path / "take.wav"
    dest.write_bytes(b"the user's own file")
    with pytest.raises(ProjectError, match="already exists; results never overwrite a file"):
        write_project_wav(tone(0.5), dest, sample_rate=48000)
    assert dest.read_bytes() == b"the user's own file"
    assert leftovers(tmp_path) == []


def test_an_undecodable_source_is_named_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "result.mp3"
    source.write_bytes(b"<html>expired link</html>")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ProjectError, match="cannot decode") as caught:
        write_project_wav(source, out / "take.wav", sample_rate=48000)
    assert str(source) in caught.value.message
    assert list(out.iterdir()) == []


def test_an_unknown_subtype_is_refused(tone: Callable[..., Path], tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="PCM_24"):
        write_project_wav(tone(0.5), tmp_path / "take.wav", sample_rate=None, subtype="ULAW")
    assert not (tmp_path / "take.wav").exists()


def test_a_full_disk_says_no_space_and_leaves_no_temporary(
    tone: Callable[..., Path], tmpfs: Mount
) -> None:
    folder = tmpfs("size=64k")
    with pytest.raises(ProjectError, match="no space left on the device") as caught:
        write_project_wav(tone(2.0), folder / "take.wav", sample_rate=48000)
    assert str(folder) in caught.value.message
    assert "retry the job" in caught.value.message
    assert list(folder.iterdir()) == []


def test_a_widened_wav_that_fills_the_disk_leaves_no_temporary(
    tmp_path: Path, tmpfs: Mount
) -> None:
    source = tmp_path / "result.wav"
    sf.write(str(source), np.zeros((200_000, 2), dtype=np.int32), 44100, subtype="PCM_16")
    folder = tmpfs("size=1m")
    with pytest.raises(ProjectError, match="no space left on the device"):
        write_project_wav(source, folder / "take.wav", sample_rate=None)
    assert list(folder.iterdir()) == []


def test_a_read_only_folder_is_named_and_left_empty(
    tone: Callable[..., Path], tmp_path: Path, tmpfs: Mount
) -> None:
    if os.geteuid() == 0:
        folder = tmpfs("ro")
    else:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
    try:
        with pytest.raises(ProjectError, match=r"read-only|not writable") as caught:
            write_project_wav(tone(0.5), folder / "take.wav", sample_rate=48000)
    finally:
        if os.geteuid() != 0:
            folder.chmod(0o755)  # so pytest can clean tmp_path up
    assert str(folder) in caught.value.message
    assert list(folder.iterdir()) == []


def test_read_shape_reports_frames_rate_and_channels(tone: Callable[..., Path]) -> None:
    shape = read_shape(tone(0.25, rate=44100, channels=1))
    assert (shape.frames, shape.sample_rate, shape.channels) == (11025, 44100, 1)


def test_read_shape_of_a_missing_file_is_a_project_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="cannot read the audio file"):
        read_shape(tmp_path / "gone.wav")


# The atomic primitives (bridge.files) the writer stands on.


def test_write_bytes_atomic_publishes_whole_and_never_replaces(tmp_path: Path) -> None:
    dest = tmp_path / "notes.txt"
    write_bytes_atomic(dest, b"first")
    with pytest.raises(FileExistsError):
        write_bytes_atomic(dest, b"second")
    assert dest.read_bytes() == b"first"
    assert leftovers(tmp_path) == []


def test_a_failing_writer_leaves_no_temporary(tmp_path: Path) -> None:
    def half_then_fail(temp: Path) -> None:
        temp.write_bytes(b"half")
        raise OSError("device went away")

    with pytest.raises(OSError, match="device went away"):
        write_atomic(tmp_path / "take.wav", half_then_fail)
    assert list(tmp_path.iterdir()) == []


def test_remove_temporaries_clears_hidden_leftovers_anywhere_below(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    stale = [tmp_path / ".take.wav.1a2b3c4d.tmp", tmp_path / "sub" / ".vocals.wav.9f8e.part"]
    kept = [tmp_path / "take.wav", tmp_path / "visible.tmp", tmp_path / ".hidden"]
    for path in stale + kept:
        path.write_bytes(b"x")

    assert sorted(remove_temporaries(tmp_path)) == sorted(stale)
    assert all(path.exists() for path in kept)
    assert not any(path.exists() for path in stale)
