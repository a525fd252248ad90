"""Results written as WAV at the project's sample rate, atomically, never overwriting.

A DAW plays a file at the wrong speed or resamples it badly on import when its rate
differs from the project's, so results are resampled here, once, at the best quality.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bridge.audio.riff import PCM, read_layout, widened_blocks
from bridge.errors import ProjectError
from bridge.files import link_refused, translate_os_error, write_new_in

if TYPE_CHECKING:
    from bridge.audio.splice import Samples

# numpy, soundfile and soxr are imported where samples are decoded: an integer PCM WAV
# at the project's rate is written as bytes, and a job that writes only those loads none.

log = logging.getLogger(__name__)

SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")
# Integer PCM subtypes, by bits per sample: what a WAV's bytes can be widened into.
_PCM_BITS: Final = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
# What a spliced file may need besides, to hold an original's samples exactly.
WRITABLE = (*SUBTYPES, "PCM_32", "DOUBLE")


@dataclass(frozen=True)
class WavShape:
    """What a written (or existing) audio file holds; frames are counted per channel."""

    path: Path
    frames: int
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class Fit:
    """The length a written file must have: `frames` at the written rate, or `seconds`
    converted at it (rounded to the nearest frame); `exact` cuts a longer file to it,
    otherwise only a shorter one changes (silence added at its end)."""

    frames: int | None = None
    seconds: float | None = None
    exact: bool = True

    def frames_at(self, rate: int) -> int:
        if self.frames is not None:
            return self.frames
        return round((self.seconds or 0.0) * rate)


@dataclass(frozen=True)
class SplicePlan:
    """How a result goes into the original: a section [start, end) replaced (end None:
    everything from start on replaced, the continuation of an extend). Seconds from the
    start of the original, as uploaded."""

    start: float
    end: float | None
    fade: float
    match_loudness: bool = False  # the new part turned to the kept original's loudness


def write_project_wav(
    source: Path,
    dest: Path,
    *,
    sample_rate: int | None,
    subtype: str = "PCM_24",
    fit: Fit | None = None,
) -> WavShape:
    """Decode `source`, resample it to `sample_rate` (None keeps its own), fit its length,
    write WAV `dest`."""
    _check_subtype(subtype)
    _check_free(dest)
    copied = _write_widened(source, dest, sample_rate, subtype, fit)
    if copied is not None:
        return copied
    from bridge.audio.splice import fit_length

    data, rate = decode_at(source, sample_rate)
    if fit is not None:
        data = fit_length(data, fit.frames_at(rate), exact=fit.exact)
    return _write(data, rate, subtype, dest)


def _write_widened(
    source: Path, dest: Path, sample_rate: int | None, subtype: str, fit: Fit | None
) -> WavShape | None:
    """`write_project_wav` without decoding, for an integer PCM WAV at the project's rate
    written in a format at least as wide: the samples libsndfile would decode and encode,
    as bytes. None, having written nothing, for any other source."""
    bits = _PCM_BITS.get(subtype)
    try:
        layout = read_layout(source)
    except OSError:
        return None  # the decoder's turn, and its words for what is wrong
    if bits is None or layout is None or layout.tag != PCM or not 16 <= layout.bits <= bits:
        return None
    if sample_rate not in (None, layout.sample_rate):
        return None
    frames = layout.frames
    if fit is not None:  # as `fit_length`: silence added when short, cut only when exact
        wanted = fit.frames_at(layout.sample_rate)
        frames = wanted if fit.exact or frames < wanted else frames
    try:
        src = source.open("rb", buffering=0)
    except OSError:
        return None  # the decoder's turn, as above
    with src:  # written as it is widened: the file is neither held whole nor copied
        _store(widened_blocks(layout, src, bits, frames), dest)
    return WavShape(dest, frames=frames, sample_rate=layout.sample_rate, channels=layout.channels)


def write_spliced(
    original: Samples,
    original_rate: int,
    result: Path,
    dest: Path,
    *,
    plan: SplicePlan,
    sample_rate: int | None,
    subtype: str,
) -> WavShape:
    """The original with the result spliced in as `plan` says, at `sample_rate` (None:
    the original's), with the original's channels. Where the rate is the original's,
    every kept frame is the original's, bit for bit (given a `subtype` that holds it)."""
    import numpy as np
    import soxr

    from bridge.audio.loudness import matching_gain
    from bridge.audio.splice import fit_length, match_channels, splice_after, splice_section

    _check_subtype(subtype)
    _check_free(dest)
    rate = original_rate if sample_rate is None else sample_rate
    if rate != original_rate:
        original = soxr.resample(original, original_rate, rate, quality="VHQ")
    new, _ = decode_at(result, rate)
    new = match_channels(new, original.shape[1])
    start = round(plan.start * rate)
    fade = round(plan.fade * rate)
    if plan.end is None:
        at = min(start, original.shape[0])
        new = fit_length(new, at + 1, exact=False)
        if plan.match_loudness:
            new = new * matching_gain(original[:at], new[at:], rate)
        spliced = splice_after(original, new, at, fade)
    else:
        new = fit_length(new, original.shape[0], exact=True)
        end = min(round(plan.end * rate), original.shape[0])
        start = min(start, end - 1)
        if plan.match_loudness:
            around = np.concatenate([original[:start], original[end:]])
            new = new * matching_gain(around, new[start:end], rate)
        spliced = splice_section(original, new, start, end, fade)
    return _write(spliced, rate, subtype, dest)


def decode_at(source: Path, sample_rate: int | None) -> tuple[Samples, int]:
    """A file's samples as float64 (frames, channels), resampled to `sample_rate` once, at
    the best quality (None keeps the file's own rate)."""
    import soxr

    data, source_rate = _decode(source)
    rate = source_rate if sample_rate is None else sample_rate
    if rate != source_rate:
        log.debug("resampling %s from %d Hz to %d Hz", source, source_rate, rate)
        data = soxr.resample(data, source_rate, rate, quality="VHQ")
    return data, rate


def _check_subtype(subtype: str) -> None:
    if subtype not in WRITABLE:
        raise ProjectError(f"unknown WAV sample format {subtype!r}: use one of {SUBTYPES}")


def _check_free(dest: Path) -> None:
    if dest.is_symlink():
        raise link_refused(dest)
    if dest.exists():
        raise ProjectError(f"{dest} already exists; results never overwrite a file")


def _write(data: Samples, rate: int, subtype: str, dest: Path) -> WavShape:
    import numpy as np

    if subtype.startswith("PCM"):
        # PCM cannot hold overs. Clip here rather than rely on libsndfile's conversion of
        # out-of-range floats (its clipping switch is off by default). FLOAT keeps overs,
        # so a gain change in the DAW can still bring them back.
        data = np.clip(data, -1.0, 1.0)
    _store(_encode(data, rate, subtype, dest), dest)
    return WavShape(dest, frames=len(data), sample_rate=rate, channels=data.shape[1])


def _store(encoded: bytes | Iterable[memoryview], dest: Path) -> None:
    try:
        write_new_in(dest, encoded)
    except FileExistsError as exc:
        raise ProjectError(f"{dest} already exists; results never overwrite a file") from exc
    except OSError as exc:
        raise translate_os_error(exc, dest.parent) from exc


def read_shape(path: Path) -> WavShape:
    """The frames, rate and channels of an audio file, read from its header."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as exc:
        raise ProjectError(
            f"cannot read the audio file {path}: {exc}; it may be missing or damaged: "
            "retry the job to write it again"
        ) from exc
    return WavShape(path, frames=info.frames, sample_rate=info.samplerate, channels=info.channels)


def _decode(source: Path) -> tuple[Samples, int]:
    import soundfile as sf

    try:
        data, rate = sf.read(str(source), dtype="float64", always_2d=True)
    except (RuntimeError, OSError) as exc:
        # LibsndfileError is a RuntimeError; it carries no errno, only libsndfile's text.
        raise ProjectError(
            f"cannot decode the result file {source}: {exc}; it may be incomplete or in a "
            "format libsndfile cannot read (WAV, FLAC, MP3, OGG, AIFF): retry the job"
        ) from exc
    return data, int(rate)


def _encode(data: Samples, rate: int, subtype: str, dest: Path) -> bytes:
    # Encoding in memory, then writing plain bytes, keeps the real OSError (disk full,
    # read-only) that libsndfile would otherwise reduce to an errno-less "System error".
    import soundfile as sf

    buffer = io.BytesIO()
    try:
        sf.write(buffer, data, rate, subtype=subtype, format="WAV")
    except (RuntimeError, ValueError) as exc:
        raise ProjectError(f"cannot encode {dest} as {subtype} WAV: {exc}") from exc
    return buffer.getvalue()
