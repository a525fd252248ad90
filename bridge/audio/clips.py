"""Reading a clip's shape and making it acceptable to `upload`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from bridge.errors import AudioError

# What the service's upload accepts (PRODUCER_API.md), and its length limit.
UPLOAD_EXTENSIONS = (".mp3", ".wav", ".flac", ".m4a", ".aac", ".ogg", ".wma", ".opus")
MAX_UPLOAD_SECONDS = 240.0
_BLOCK = 1 << 16


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def probe(path: Path) -> AudioInfo:
    """The clip's rate, channels and length, or an AudioError that says why not."""
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(
            f"{path}: not an audio file this machine can decode (WAV, FLAC, OGG, MP3, AIFF...): "
            f"{exc}"
        ) from exc
    return AudioInfo(path, int(info.samplerate), int(info.channels), int(info.frames))


def prepare_upload(info: AudioInfo, workdir: Path) -> Path:
    """The file to stage for `upload`: the clip itself, or a WAV copy of it when the
    service would refuse its extension (AIFF, CAF...)."""
    _check_length(info.path, info.duration)
    if info.path.suffix.lower() in UPLOAD_EXTENSIONS:
        return info.path
    target = workdir / f"{info.path.stem}.wav"
    _copy_frames(info, 0, info.frames, target, "convert")
    return target


def cut_clip(info: AudioInfo, start: float, duration: float, dest: Path) -> AudioInfo:
    """Copy `duration` seconds from `start` (source seconds) of the clip into a WAV at
    `dest`, reading only that part (the source is opened by seeking, not decoded whole)."""
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


def _check_length(path: Path, seconds: float) -> None:
    if seconds > MAX_UPLOAD_SECONDS:
        raise AudioError(
            f"{path} is {seconds:.1f} s long; the service takes at most "
            f"{MAX_UPLOAD_SECONDS:g} s: select or render a shorter clip"
        )


def _copy_frames(info: AudioInfo, first: int, frames: int, dest: Path, verb: str) -> None:
    """`frames` frames from frame `first` of the clip, as 24-bit WAV at `dest`."""
    try:
        with (
            sf.SoundFile(str(info.path)) as source,
            sf.SoundFile(
                str(dest), "w", info.sample_rate, info.channels, subtype="PCM_24", format="WAV"
            ) as out,
        ):
            source.seek(first)
            left = frames
            while left > 0:
                block = source.read(min(_BLOCK, left), dtype="float32", always_2d=True)
                if not len(block):
                    break
                out.write(block)
                left -= len(block)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"cannot {verb} {info.path} to WAV for upload: {exc}") from exc
