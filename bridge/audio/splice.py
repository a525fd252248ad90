"""Fitting results to the span they cover and splicing them into the original. Pure numpy.

Arrays are (frames, channels) float64. Splices keep the original bit for bit wherever it
is kept: the crossfades lie inside the new material, never over the kept part.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bridge.errors import AudioError

Samples = npt.NDArray[np.float64]


def fit_length(data: Samples, frames: int, *, exact: bool) -> Samples:
    """`data` made `frames` long: silence added at the end when short, and, when `exact`,
    the end cut when long (else a longer result keeps its tail)."""
    have = data.shape[0]
    if have < frames:
        pad = np.zeros((frames - have, data.shape[1]), dtype=data.dtype)
        return np.concatenate([data, pad])
    if exact and have > frames:
        return data[:frames]
    return data


def match_channels(data: Samples, channels: int) -> Samples:
    """Mono to several channels by copying it to each; several to mono by their mean."""
    have = data.shape[1]
    if have == channels:
        return data
    if have == 1:
        return np.repeat(data, channels, axis=1)
    if channels == 1:
        return np.asarray(data.mean(axis=1, keepdims=True), dtype=np.float64)
    raise AudioError(f"cannot turn {have}-channel audio into {channels} channels")


def equal_power(frames: int) -> tuple[Samples, Samples]:
    """(fade-out, fade-in) gains over `frames` frames whose squares sum to 1 at every frame:
    material that does not correlate keeps its loudness through the crossfade."""
    angle = (np.arange(frames, dtype=np.float64) + 0.5) / frames * (np.pi / 2)
    return np.cos(angle)[:, None], np.sin(angle)[:, None]


def splice_section(original: Samples, new: Samples, start: int, end: int, fade: int) -> Samples:
    """`original` with frames [start, end) from `new` (the same length and channels),
    crossfading over `fade` frames just inside each edge of the section."""
    _check_same_shape(original, new)
    if not 0 <= start < end <= original.shape[0]:
        raise AudioError(f"section {start}..{end} is not inside {original.shape[0]} frames")
    fade = min(fade, (end - start) // 2)
    out = original.copy()
    out[start:end] = new[start:end]
    if fade > 0:
        fade_out, fade_in = equal_power(fade)
        head, tail = slice(start, start + fade), slice(end - fade, end)
        out[head] = original[head] * fade_out + new[head] * fade_in
        out[tail] = new[tail] * fade_out + original[tail] * fade_in
    return out


def splice_after(original: Samples, new: Samples, at: int, fade: int) -> Samples:
    """`original` up to frame `at`, then `new` from `at` on, crossfading over `fade` frames
    after `at` from what the original holds there. When it holds less than that, its last
    frames mirrored stand in: they carry on from the last kept frame without a jump."""
    if original.shape[1] != new.shape[1]:
        raise AudioError(f"{original.shape[1]} channels spliced with {new.shape[1]}")
    if not 0 < at <= min(original.shape[0], new.shape[0]):
        raise AudioError(f"splice point {at} is outside the audio")
    fade = min(fade, new.shape[0] - at, at)
    out = np.concatenate([original[:at], new[at:]])
    if fade > 0:
        follow = original[at : at + fade]
        if follow.shape[0] < fade:
            follow = original[at - fade : at][::-1]
        fade_out, fade_in = equal_power(fade)
        out[at : at + fade] = follow * fade_out + new[at : at + fade] * fade_in
    return out


def _check_same_shape(original: Samples, new: Samples) -> None:
    if original.shape != new.shape:
        raise AudioError(f"cannot splice {new.shape} frames x channels into {original.shape}")
