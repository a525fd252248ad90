"""Reading a clip's shape and making it acceptable to `upload`.

A cut is exact: the samples uploaded are the source's samples, bit for bit. Integer PCM is
copied as integers and floating point as 64-bit floats, into a file that holds the source's
own sample format (FLAC when asked for and able to hold it, else WAV). A lossy source (MP3,
Ogg) is copied as its decoder gives it, in 32-bit float WAV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from bridge.audio.riff import copy_frames, read_layout
from bridge.errors import AudioError
from bridge.jobs.request import MAX_UPLOAD_SECONDS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# numpy and soundfile are imported where a file is decoded: a job that only writes a WAV
# result as bytes, and a daemon waiting for jobs, load neither.

# What the service's upload accepts (PRODUCER_API.md).
UPLOAD_EXTENSIONS = (".mp3", ".wav", ".flac", ".m4a", ".aac", ".ogg", ".wma", ".opus")
_BLOCK = 1 << 16
UploadFormat = Literal["flac", "wav"]
# Source sample formats kept exactly: the format a copy is written in, by container.
_INTEGER: Final = {"PCM_S8": "PCM_16", "PCM_U8": "PCM_16", "PCM_16": "PCM_16", "PCM_24": "PCM_24"}
_FLAC_SUBTYPES: Final = {"PCM_16", "PCM_24"}  # FLAC holds no 32-bit integers, no floats


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    sample_rate: int
    channels: int
    frames: int
    subtype: str = "PCM_16"

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def probe(path: Path) -> AudioInfo:
    """The clip's rate, channels and length, or an AudioError that says why not."""
    import soundfile as sf

    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(
            f"{path}: not an audio file this machine can decode (WAV, FLAC, OGG, MP3, AIFF...): "
            f"{exc}"
        ) from exc
    if info.frames == 0:
        raise AudioError(f"{path}: the file holds no audio (a header, 0 samples): render it again")
    return AudioInfo(
        path, int(info.samplerate), int(info.channels), int(info.frames), str(info.subtype)
    )


def upload_suffix(info: AudioInfo, fmt: UploadFormat = "wav") -> str:
    """The extension a copy of this clip gets: FLAC only when it holds the samples exactly."""
    return ".flac" if fmt == "flac" and _INTEGER.get(info.subtype) in _FLAC_SUBTYPES else ".wav"


def prepare_upload(info: AudioInfo, workdir: Path, fmt: UploadFormat = "wav") -> Path:
    """The file to stage for `upload`: the clip itself, or an exact copy of it when the
    service would refuse its extension (AIFF, CAF...)."""
    _check_length(info.path, info.duration)
    if info.path.suffix.lower() in UPLOAD_EXTENSIONS:
        return info.path
    target = workdir / f"{info.path.stem}{upload_suffix(info, fmt)}"
    _copy_frames(info, 0, info.frames, target, "convert")
    return target


def cut_clip(info: AudioInfo, start: float, duration: float, dest: Path) -> AudioInfo:
    """Copy `duration` seconds from `start` (source seconds) of the clip into `dest` (its
    extension, .wav or .flac, decides the container; see `upload_suffix`), reading only that
    part: the source is opened by seeking, not decoded whole."""
    first = round(start * info.sample_rate)
    frames = min(round(duration * info.sample_rate), info.frames - first)
    if frames <= 0:
        raise AudioError(
            f"{info.path}: nothing to upload from {start:g} s (the file is "
            f"{info.duration:.3f} s long)"
        )
    _check_length(info.path, frames / info.sample_rate)
    _copy_frames(info, first, frames, dest, "cut")
    return probe(dest)


def read_frames(info: AudioInfo, first: int, frames: int) -> npt.NDArray[np.float64]:
    """`frames` frames from frame `first` of the clip (fewer at its end) as float64
    (frames, channels), reading only that part. Every integer and float sample is held
    exactly by a float64."""
    import numpy as np
    import soundfile as sf

    try:
        with sf.SoundFile(str(info.path)) as source:
            source.seek(max(0, first))
            data = source.read(max(0, frames), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"cannot read {info.path}: {exc}") from exc
    return np.asarray(data, dtype=np.float64)


# WAV sample formats from narrowest to widest; each holds every sample of those before it.
_WIDTHS: Final = ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")


def holding_subtype(wanted: str, source: str) -> str:
    """`wanted`, or a wider WAV sample format when `wanted` cannot hold every sample of a
    `source` file exactly (a lossy source's decoded samples need FLOAT)."""
    exact = _exact_format(source, "WAV")[0]
    if wanted not in _WIDTHS:
        return exact
    if {wanted, exact} == {"PCM_32", "FLOAT"}:
        return "DOUBLE"  # a float32 holds 24 bits, a 32-bit integer holds no fraction
    return max(wanted, exact, key=_WIDTHS.index)


def _check_length(path: Path, seconds: float) -> None:
    if seconds > MAX_UPLOAD_SECONDS:
        raise AudioError(
            f"{path} is {seconds:.1f} s long; the service takes at most "
            f"{MAX_UPLOAD_SECONDS:g} s: select or render a shorter clip"
        )


def _copy_frames(info: AudioInfo, first: int, frames: int, dest: Path, verb: str) -> None:
    """`frames` frames from frame `first` of the clip, exactly, into `dest`."""
    container = "FLAC" if dest.suffix.lower() == ".flac" else "WAV"
    if container == "WAV" and _copy_pcm_bytes(info, first, frames, dest):
        return
    import soundfile as sf

    subtype, dtype = _exact_format(info.subtype, container)
    try:
        with (
            sf.SoundFile(str(info.path)) as source,
            sf.SoundFile(
                str(dest), "w", info.sample_rate, info.channels, subtype=subtype, format=container
            ) as out,
        ):
            source.seek(first)
            left = frames
            while left > 0:
                block = source.read(min(_BLOCK, left), dtype=dtype, always_2d=True)
                if not len(block):
                    break
                out.write(block)
                left -= len(block)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"cannot {verb} {info.path} for upload: {exc}") from exc


def _copy_pcm_bytes(info: AudioInfo, first: int, frames: int, dest: Path) -> bool:
    """Copy a WAV's integer or float frames as bytes, with no conversion at all (plain and
    EXTENSIBLE headers, see `riff`); False, having written nothing, when the source is
    another kind."""
    try:
        layout = read_layout(info.path)
    except OSError:
        return False  # libsndfile's turn, and its words for what is wrong
    if layout is None or (layout.channels, layout.sample_rate) != (
        info.channels,
        info.sample_rate,
    ):
        return False  # compressed or unusual WAV, or not a WAV: libsndfile's turn
    try:
        # The header gets the count written, never the source's own, which a writer still
        # recording (or streaming: 0xFFFFFFFF) may have left untrue.
        copy_frames(layout, info.path, first, frames, dest)
    except OSError as exc:
        raise AudioError(f"cannot cut {info.path} for upload: {exc}") from exc
    return True


def _exact_format(source: str, container: str) -> tuple[str, str]:
    """(subtype to write, dtype to copy through) that keep every sample of `source`."""
    integer = _INTEGER.get(source)
    if integer is not None and (container == "WAV" or integer in _FLAC_SUBTYPES):
        return integer, "int32"  # libsndfile scales integers exactly between widths
    if container == "FLAC":
        raise AudioError(f"FLAC cannot hold {source} samples exactly; write a .wav")
    if source in ("PCM_32", "DOUBLE"):
        return source, "int32" if source == "PCM_32" else "float64"
    return "FLOAT", "float64"  # float sources, and what a lossy decoder gives
