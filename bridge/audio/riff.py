"""The sample layout of a WAV file, read from its RIFF chunks, and byte copies of its frames.

Reads plain PCM (format tag 1), IEEE float (3) and WAVE_FORMAT_EXTENSIBLE (0xFFFE) whose
subformat is PCM or float, in RIFF or RF64 files. A `data` size that claims more than the
file holds (a streaming writer's 0xFFFFFFFF, a recording still going) is clamped to the file.
Anything else (compressed formats, RIFX, sample widths that are not whole bytes) is not a
layout this module copies: `read_layout` answers None, and the caller decodes instead.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from io import FileIO
from pathlib import Path
from typing import BinaryIO, Final

PCM: Final = 1
IEEE_FLOAT: Final = 3
_EXTENSIBLE: Final = 0xFFFE
# The GUID of an EXTENSIBLE subformat is its format tag followed by these 14 bytes.
_GUID_TAIL: Final = bytes.fromhex("000000001000800000aa00389b71")
_BLOCK: Final = 1 << 20
_UNKNOWN_SIZE: Final = 0xFFFFFFFF


@dataclass(frozen=True)
class WavLayout:
    """Where a WAV's frames are and what one frame is."""

    tag: int  # PCM or IEEE_FLOAT (an EXTENSIBLE header is read as its subformat)
    channels: int
    sample_rate: int
    bits: int
    data_offset: int
    data_bytes: int  # what the file really holds, never more

    @property
    def block_align(self) -> int:
        return self.channels * self.bits // 8

    @property
    def frames(self) -> int:
        return self.data_bytes // self.block_align


def read_layout(path: Path) -> WavLayout | None:
    """The layout of the WAV at `path`, or None when its frames cannot be copied as bytes.
    OSError when the file cannot be read."""
    with path.open("rb") as source:
        size = os.fstat(source.fileno()).st_size
        riff = source.read(12)
        if len(riff) < 12 or riff[8:] != b"WAVE" or riff[:4] not in (b"RIFF", b"RF64"):
            return None
        return _walk(source, size, rf64=riff[:4] == b"RF64")


def _walk(source: BinaryIO, size: int, *, rf64: bool) -> WavLayout | None:
    """Walk the chunks from the current position to `data`, reading `fmt ` (and `ds64`)."""
    fmt: tuple[int, int, int, int] | None = None
    data_size64: int | None = None
    while True:
        head = source.read(8)
        if len(head) < 8:
            return None
        chunk, length = head[:4], int.from_bytes(head[4:], "little")
        start = source.tell()
        if chunk == b"data":
            if fmt is None:
                return None
            if rf64 and length == _UNKNOWN_SIZE and data_size64 is not None:
                length = data_size64
            return _layout(fmt, start, min(length, size - start))
        if chunk == b"fmt ":
            fmt = _parse_fmt(source.read(length))
            if fmt is None:
                return None
        elif chunk == b"ds64" and rf64 and length >= 16:
            data_size64 = int.from_bytes(source.read(16)[8:], "little")
        source.seek(start + length + (length & 1))  # chunks are padded to even sizes


def _parse_fmt(body: bytes) -> tuple[int, int, int, int] | None:
    """(tag, channels, sample rate, bits) of a `fmt ` chunk we can copy, else None."""
    if len(body) < 16:
        return None
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 40 or body[26:40] != _GUID_TAIL:
            return None
        tag = int.from_bytes(body[24:26], "little")
    if tag not in (PCM, IEEE_FLOAT) or channels < 1 or rate < 1 or bits % 8:
        return None
    if (tag == PCM and not 8 <= bits <= 32) or (tag == IEEE_FLOAT and bits not in (32, 64)):
        return None
    if block_align != channels * bits // 8:
        return None
    return tag, channels, rate, bits


def _layout(fmt: tuple[int, int, int, int], offset: int, data_bytes: int) -> WavLayout:
    tag, channels, rate, bits = fmt
    return WavLayout(tag, channels, rate, bits, offset, max(0, data_bytes))


def wav_header(layout: WavLayout, frames: int) -> bytes:
    """A plain header (tag 1 or 3, a 16-byte `fmt `; float files get a `fact` chunk, as
    libsndfile writes them) for `frames` frames in `layout`'s sample format."""
    data_bytes = frames * layout.block_align
    fmt = struct.pack(
        "<HHIIHH",
        layout.tag,
        layout.channels,
        layout.sample_rate,
        layout.sample_rate * layout.block_align,
        layout.block_align,
        layout.bits,
    )
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if layout.tag == IEEE_FLOAT:
        chunks += b"fact" + struct.pack("<II", 4, frames)
    chunks += b"data" + struct.pack("<I", data_bytes)
    riff_size = 4 + len(chunks) + data_bytes + (data_bytes & 1)
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + chunks


def copy_frames(layout: WavLayout, source: Path, first: int, frames: int, dest: Path) -> int:
    """Copy up to `frames` frames from frame `first` of `source` into a new WAV at `dest`,
    byte for byte: one seek, then unbuffered reads into one reused block (positioned reads
    on every system; `os.pread` is POSIX-only). The frames written (fewer at the end of the
    audio the file holds). OSError when a file cannot be read or written."""
    frames = max(0, min(frames, layout.frames - first))
    left = frames * layout.block_align
    block = memoryview(bytearray(min(_BLOCK, max(left, 1))))
    with source.open("rb", buffering=0) as src, dest.open("wb") as out:
        out.write(wav_header(layout, frames))
        src.seek(layout.data_offset + first * layout.block_align)
        while left > 0:
            got = src.readinto(block[: min(len(block), left)])
            if not got:
                raise OSError(f"{source}: the file ended inside its audio")
            out.write(block[:got])
            left -= got
        if (frames * layout.block_align) & 1:
            out.write(b"\0")
    return frames


def widened_blocks(
    layout: WavLayout, source: FileIO, bits: int, frames: int
) -> Iterator[memoryview]:
    """A whole plain WAV of `frames` frames of `source`'s integer PCM (`layout`), every
    sample made `bits` wide (at least the source's width) exactly: its bytes become the
    high bytes of the wider sample and the low ones are zero, the samples a decoder and an
    encoder would write. Silence follows when `frames` asks for more than the file holds.

    Yields the header, then the samples a block at a time (a block is valid until the
    next is asked for: one buffer is reused), so that a long file is neither held whole
    nor copied. OSError when the file cannot be read or ends inside its audio."""
    if layout.tag != PCM or not 16 <= layout.bits <= bits or bits % 8:
        raise ValueError(f"cannot widen {layout.bits}-bit samples (tag {layout.tag}) to {bits}")
    wide = replace(layout, bits=bits)
    yield memoryview(wav_header(wide, frames))
    size, width = layout.bits // 8, bits // 8
    left = max(0, min(frames, layout.frames)) * layout.block_align
    block = min(_BLOCK // layout.block_align, max(frames, 1)) * layout.block_align
    raw, out = bytearray(block), bytearray(block // size * width)
    source.seek(layout.data_offset)
    while left > 0:
        got = min(block, left)
        _read_exactly(source, memoryview(raw)[:got])
        left -= got
        end = got // size * width
        for byte in range(size):  # little-endian: the source's bytes are the high ones
            out[width - size + byte : end : width] = raw[byte:got:size]
        yield memoryview(out)[:end]
    data_bytes = frames * wide.block_align
    written = min(frames, layout.frames) * wide.block_align
    if data_bytes > written:
        yield memoryview(bytes(data_bytes - written))
    if data_bytes & 1:
        yield memoryview(b"\0")


def _read_exactly(source: FileIO, view: memoryview) -> None:
    done = 0
    while done < len(view):
        got = source.readinto(view[done:])
        if not got:
            raise OSError(f"{source.name}: the file ended inside its audio")
        done += got
