"""Results written as WAV at the project's sample rate, atomically, never overwriting.

A DAW plays a file at the wrong speed or resamples it badly on import when its rate
differs from the project's, so results are resampled here, once, at the best quality.
"""

from __future__ import annotations

import errno
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from bridge.errors import ProjectError
from bridge.files import write_bytes_atomic

log = logging.getLogger(__name__)

SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")

_READ_ONLY = (errno.EROFS,)
_NOT_WRITABLE = (errno.EACCES, errno.EPERM)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class WavShape:
    """What a written (or existing) audio file holds; frames are counted per channel."""

    path: Path
    frames: int
    sample_rate: int
    channels: int


def translate_os_error(exc: OSError, folder: Path) -> ProjectError:
    """One ProjectError, saying what to do, for an OSError met while writing in `folder`."""
    if isinstance(exc, FileExistsError):
        name = exc.filename or folder
        return ProjectError(f"{name} already exists; results never overwrite a file")
    if exc.errno in _NO_SPACE:
        return ProjectError(
            f"no space left on the device holding {folder}: free some space, then retry the job"
        )
    if exc.errno in _READ_ONLY:
        return ProjectError(
            f"{folder} is read-only: choose a project folder on a writable disk "
            "(or remount it writable), then retry the job"
        )
    if exc.errno in _NOT_WRITABLE:
        return ProjectError(
            f"{folder} is not writable: give your user write permission on it "
            "(or choose another project folder), then retry the job"
        )
    if exc.errno == errno.ENOENT:
        return ProjectError(f"{folder} does not exist: create it, then retry the job")
    return ProjectError(f"cannot write in {folder}: {exc}; fix the cause, then retry the job")


def write_project_wav(
    source: Path, dest: Path, *, sample_rate: int | None, subtype: str = "PCM_24"
) -> WavShape:
    """Decode `source`, resample it to `sample_rate` (None keeps its own), write WAV `dest`."""
    if subtype not in SUBTYPES:
        raise ProjectError(f"unknown WAV sample format {subtype!r}: use one of {SUBTYPES}")
    if dest.exists():
        raise ProjectError(f"{dest} already exists; results never overwrite a file")
    data, source_rate = _decode(source)
    rate = source_rate if sample_rate is None else sample_rate
    if rate != source_rate:
        log.debug("resampling %s from %d Hz to %d Hz", source, source_rate, rate)
        data = soxr.resample(data, source_rate, rate, quality="VHQ")
    if subtype.startswith("PCM"):
        # PCM cannot hold overs. Clip here rather than rely on libsndfile's conversion of
        # out-of-range floats (its clipping switch is off by default). FLOAT keeps overs,
        # so a gain change in the DAW can still bring them back.
        data = np.clip(data, -1.0, 1.0)
    encoded = _encode(data, rate, subtype, dest)
    try:
        write_bytes_atomic(dest, encoded)
    except FileExistsError as exc:
        raise ProjectError(f"{dest} already exists; results never overwrite a file") from exc
    except OSError as exc:
        raise translate_os_error(exc, dest.parent) from exc
    return WavShape(dest, frames=len(data), sample_rate=rate, channels=data.shape[1])


def read_shape(path: Path) -> WavShape:
    """The frames, rate and channels of an audio file, read from its header."""
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as exc:
        raise ProjectError(
            f"cannot read the audio file {path}: {exc}; it may be missing or damaged: "
            "retry the job to write it again"
        ) from exc
    return WavShape(path, frames=info.frames, sample_rate=info.samplerate, channels=info.channels)


def _decode(source: Path) -> tuple[npt.NDArray[np.float64], int]:
    try:
        data, rate = sf.read(str(source), dtype="float64", always_2d=True)
    except (RuntimeError, OSError) as exc:
        # LibsndfileError is a RuntimeError; it carries no errno, only libsndfile's text.
        raise ProjectError(
            f"cannot decode the result file {source}: {exc}; it may be incomplete or in a "
            "format libsndfile cannot read (WAV, FLAC, MP3, OGG, AIFF): retry the job"
        ) from exc
    return data, int(rate)


def _encode(data: npt.NDArray[np.float64], rate: int, subtype: str, dest: Path) -> bytes:
    # Encoding in memory, then writing plain bytes, keeps the real OSError (disk full,
    # read-only) that libsndfile would otherwise reduce to an errno-less "System error".
    buffer = io.BytesIO()
    try:
        sf.write(buffer, data, rate, subtype=subtype, format="WAV")
    except (RuntimeError, ValueError) as exc:
        raise ProjectError(f"cannot encode {dest} as {subtype} WAV: {exc}") from exc
    return buffer.getvalue()
