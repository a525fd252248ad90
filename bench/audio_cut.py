#!/usr/bin/env python3
"""Cutting a clip out of a long recording, and resampling a result to the project rate.

1. Extraction. A `--minutes` long source (default 60: about 1 GB) and a 1-minute source,
   both 48 kHz, 24-bit, stereo WAV, are written to a temporary folder in 10 s blocks with
   soundfile (then fsynced, so that the kernel's writeback does not run during the
   measurement; both stay in the page cache, so every cut reads from a warm cache). The
   content is noise that differs in every block, so a cut taken from the wrong place
   cannot match. 10 s are then cut from the middle of each source with
   `bridge.audio.clips.cut_clip(probe(src), start, 10.0, dest)` (in this process; the
   `probe` of the source is done once, outside the timing), and, as the baseline, with
   Debian's `sox src dest trim <start> 10` (a subprocess, so its time includes starting
   the process: the script prints that floor, `sox -n ... trim 0 0`, apart). Each of
   the four (source, side) pairs gets one unmeasured warm-up, then `--repeat` runs
   (default 5): every round runs all four, in an order that rotates (and reverses every
   other round), so that a disturbance on the machine falls on all of them alike. Each
   cut goes to a fresh destination removed after it is timed. Medians are compared.
   Target: median(bridge) / median(sox) <= 1.0 on the long source. Both outputs of the
   last round are read back with soundfile as int32 and compared with numpy, with each
   other and with the same frames read straight from the source.
2. Flat cost. The same 10 s cut by `cut_clip` from the 1-minute and from the long source:
   the ratio long / short of the medians. `cut_clip` seeks instead of decoding the whole
   file, so its cost should not grow with the source. Target: ratio <= 1.25 ("about 1";
   the long source is 60 times larger by default).
3. Resampling. A 3-minute stereo 44.1 kHz 24-bit WAV (a few tones over quiet noise) to
   48 kHz with `bridge.project.wavout.write_project_wav(src, dest, sample_rate=48000,
   subtype="PCM_24")` (soxr VHQ, clipping, atomic write with fsync): throughput as a
   multiple of real time (audio seconds / wall seconds), median of 3. For reference, in
   the same run: `sox -D src -b 24 dest rate -v 48000` (sox's own very-high-quality
   resampler, no dither). No target: the figure is reported.

Disk: before writing, the script checks the free space in the temporary folder with
`shutil.disk_usage` and, when the long source would leave less than 2 GB free, scales it
down to the largest whole number of minutes that does, and prints what it used. When
`sox` is not installed, the baseline needs Debian's `sox` (`apt-get install sox`): the
script says so and skips the sox measurements; it never installs anything.

Every file goes to one temporary folder removed at the end; XDG_DATA_HOME and
XDG_CACHE_HOME point into it, and the script prints how many files landed there. A
benchmark, not a test: a missed target is printed and the exit code stays 0; it is 1
only when a cut's frames are wrong or there is not even room for a 1-minute source.

Run from the repository root:  .venv/bin/python bench/audio_cut.py  (--help)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from bridge.audio.clips import AudioInfo, cut_clip, probe
from bridge.project.wavout import write_project_wav

RATE = 48_000
CHANNELS = 2
SUBTYPE = "PCM_24"
BYTES_PER_MINUTE = 60 * RATE * CHANNELS * 3
CUT_SECONDS = 10.0
BLOCK_SECONDS = 10
SPARE_BYTES = 2 * 10**9
RESAMPLE_FROM = 44_100
RESAMPLE_SECONDS = 180
RESAMPLE_REPEAT = 3
CUT_TARGET = 0.5
FLAT_TARGET = 1.25
GB = 10**9


@dataclass
class Found:
    """Everything measured, in seconds."""

    minutes: int
    write_long: float = 0.0
    write_short: float = 0.0
    bridge: dict[str, list[float]] = field(default_factory=dict)  # "long"/"short" -> runs
    sox: dict[str, list[float]] = field(default_factory=dict)
    sox_floor: list[float] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    resample: list[float] = field(default_factory=list)
    resample_frames: int = 0
    sox_resample: list[float] = field(default_factory=list)


# Sources --------------------------------------------------------------------------------


def write_noise_wav(path: Path, minutes: int, seed: int, header: str = "WAVEX") -> float:
    """A `minutes` long 48 kHz 24-bit stereo WAV, written block by block; seconds taken.
    `header` is soundfile's format: "WAVEX" (WAVE_FORMAT_EXTENSIBLE, as sox and ffmpeg
    write 24-bit files) or "WAV" (a plain PCM header)."""
    rng = np.random.default_rng(seed)
    frames = BLOCK_SECONDS * RATE
    # 24-bit values in the top 24 bits of an int32: exactly what PCM_24 stores.
    base = rng.integers(-(1 << 23), 1 << 23, size=(frames, CHANNELS), dtype=np.int32) << 8
    blocks = minutes * 60 // BLOCK_SECONDS
    began = time.perf_counter()
    with sf.SoundFile(str(path), "w", RATE, CHANNELS, subtype=SUBTYPE, format=header) as out:
        for index in range(blocks):
            # A different offset per block (wrapping in int32), so no two blocks are equal.
            offset = np.int32((((index * 40_503) % (1 << 24)) - (1 << 23)) << 8)
            out.write(base + offset)
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())
    return time.perf_counter() - began


def write_tones_wav(path: Path, seconds: int, rate: int) -> None:
    """Stereo 24-bit WAV: three tones per channel over noise at -40 dBFS, peak about -3 dBFS."""
    rng = np.random.default_rng(7)
    t = np.arange(seconds * rate) / rate
    left = 0.3 * np.sin(2 * np.pi * 220.0 * t) + 0.2 * np.sin(2 * np.pi * 1_760.0 * t)
    left += 0.1 * np.sin(2 * np.pi * 15_000.0 * t)
    right = 0.3 * np.sin(2 * np.pi * 330.0 * t) + 0.2 * np.sin(2 * np.pi * 2_640.0 * t)
    right += 0.1 * np.sin(2 * np.pi * 18_000.0 * t)
    data = np.stack([left, right], axis=1) + rng.normal(0.0, 0.01, size=(len(t), 2))
    sf.write(str(path), data, rate, subtype=SUBTYPE, format="WAV")


# Timing ---------------------------------------------------------------------------------


class Fresh:
    """Fresh destination names in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def __call__(self, stem: str) -> Path:
        self.count += 1
        return self.folder / f"{stem}-{self.count}.wav"


def timed(run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def run_sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def middle(minutes: int) -> int:
    """Start of the 10 s in the middle of a `minutes` long source, in whole seconds."""
    return minutes * 30 - int(CUT_SECONDS) // 2


@dataclass
class Cutter:
    """One way of cutting one source: a side ("bridge" or "sox") on a source ("long"...)."""

    source_name: str
    side: str
    cut: Callable[[Path], None]
    runs: list[float]


def cutters(found: Found, sources: dict[str, tuple[Path, int]], sox: bool) -> list[Cutter]:
    made = []
    for name, (source, start) in sources.items():
        info = probe(source)  # once, outside the timing

        def bridge_cut(dest: Path, info: AudioInfo = info, start: int = start) -> None:
            cut_clip(info, float(start), CUT_SECONDS, dest)

        def sox_cut(dest: Path, source: Path = source, start: int = start) -> None:
            run_sox(str(source), str(dest), "trim", str(start), f"{CUT_SECONDS:g}")

        runs = found.bridge.setdefault(name, [])
        made.append(Cutter(name, "bridge", bridge_cut, runs))
        if sox:
            runs = found.sox.setdefault(name, [])
            made.append(Cutter(name, "sox", sox_cut, runs))
    return made


def measure_cuts(
    found: Found, sources: dict[str, tuple[Path, int]], fresh: Fresh, repeat: int, sox: bool
) -> None:
    """Every (source, side) pair once per round, the order rotating from round to round,
    so that a disturbance on the machine falls on all of them alike."""
    every = cutters(found, sources, sox)
    for cutter in every:  # warm-up, unmeasured
        dest = fresh(f"warm-{cutter.source_name}-{cutter.side}")
        cutter.cut(dest)
        dest.unlink()
    last: dict[tuple[str, str], Path] = {}
    for round_ in range(repeat):
        shift = round_ % len(every)
        order = every[shift:] + every[:shift]
        if round_ % 2:
            order.reverse()
        for cutter in order:
            dest = fresh(f"{cutter.source_name}-{cutter.side}")
            cutter.runs.append(timed(lambda cut=cutter.cut, dest=dest: cut(dest)))
            if round_ == repeat - 1:
                last[cutter.source_name, cutter.side] = dest
            else:
                dest.unlink()
    for name, (source, start) in sources.items():
        outputs = {side: last[name, side] for side in ("bridge", "sox") if (name, side) in last}
        found.checks += verify(name, source, start, outputs)
    for dest in last.values():
        dest.unlink()


def verify(name: str, source: Path, start: int, outputs: dict[str, Path]) -> list[tuple[str, bool]]:
    """Each output against the source's own frames, and the outputs against each other."""
    first = start * RATE
    expected, _ = sf.read(
        str(source), start=first, stop=first + int(CUT_SECONDS) * RATE, dtype="int32"
    )
    got = {side: sf.read(str(path), dtype="int32")[0] for side, path in outputs.items()}
    checks = [
        (f"{name}: {side} output equals the source's frames", np.array_equal(data, expected))
        for side, data in got.items()
    ]
    if len(got) == 2:
        same = np.array_equal(got["bridge"], got["sox"])
        checks.append((f"{name}: bridge and sox outputs have the same frames", same))
    return checks


def measure_resampling(found: Found, folder: Path, fresh: Fresh, sox: bool) -> None:
    source = folder / "resample-source-44k1.wav"
    write_tones_wav(source, RESAMPLE_SECONDS, RESAMPLE_FROM)
    for round_ in range(RESAMPLE_REPEAT + 1):  # round 0 is the warm-up
        dest = fresh("resampled-bridge")
        wall = timed(lambda dest=dest: write_project_wav(source, dest, sample_rate=RATE))
        found.resample_frames = sf.info(str(dest)).frames
        dest.unlink()
        if round_:
            found.resample.append(wall)
        if sox:
            dest = fresh("resampled-sox")
            args = ("-D", str(source), "-b", "24", str(dest), "rate", "-v", str(RATE))
            wall = timed(lambda args=args: run_sox(*args))
            dest.unlink()
            if round_:
                found.sox_resample.append(wall)
    source.unlink()


# Reporting ------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def verdict(met: bool) -> str:
    return "met" if met else "missed"


def report_resampling(found: Found, sox: bool) -> None:
    if not found.resample:
        print("  resampling: not measured (--quick)")
        return
    audio = found.resample_frames / RATE
    rt = [RESAMPLE_SECONDS / wall for wall in found.resample]
    print(
        f"  resampling {RESAMPLE_SECONDS} s 44.1 -> 48 kHz, write_project_wav (soxr VHQ, PCM_24): "
        f"median {statistics.median(found.resample):.3f} s = "
        f"{statistics.median(rt):.1f} x real time (runs {', '.join(f'{x:.1f}' for x in rt)}); "
        f"{found.resample_frames} frames out ({audio:g} s)"
    )
    if sox:
        sox_rt = RESAMPLE_SECONDS / statistics.median(found.sox_resample)
        print(
            f"  reference: sox rate -v, median {statistics.median(found.sox_resample):.3f} s = "
            f"{sox_rt:.1f} x real time; bridge / sox throughput "
            f"{statistics.median(rt) / sox_rt:.2f}"
        )


def report(args: argparse.Namespace, found: Found, free: int, sox: bool) -> int:
    long_name = f"{found.minutes}-min"
    print(
        f"audio cut: 10 s from the middle of 48 kHz 24-bit stereo WAVs ({args.header} header), "
        f"{args.repeat} runs per source and side after 1 warm-up, warm page cache; "
        "resampling 3 min 44.1 -> 48 kHz"
    )
    used = found.minutes * BYTES_PER_MINUTE
    scaled = "" if found.minutes == args.minutes else f" (scaled down from {args.minutes})"
    print(
        f"  long source: {found.minutes} min{scaled}, {used / GB:.2f} GB, written in "
        f"{found.write_long:.1f} s ({used / found.write_long / 2**20:.0f} MiB/s incl. fsync); "
        f"free in the temporary folder before: {free / GB:.1f} GB"
    )
    short = f"{BYTES_PER_MINUTE / GB:.3f} GB, written in {found.write_short:.2f} s"
    print(f"  short source: 1 min, {short}")
    if not sox:
        print("  sox: not found; the baseline needs Debian's sox (apt-get install sox): skipped")
    else:
        floor = ms(statistics.median(found.sox_floor))
        print(f"  sox process floor (sox -n ... trim 0 0), median: {floor}")
    print(f"  {'10 s cut from':<16}{'bridge cut_clip':>16}{'sox trim':>14}{'bridge/sox':>12}")
    medians: dict[str, float] = {}
    for name, label in (("long", long_name), ("short", "1-min")):
        bridge = statistics.median(found.bridge[name])
        medians[name] = bridge
        if sox:
            other = statistics.median(found.sox[name])
            print(f"  {label:<16}{ms(bridge):>16}{ms(other):>14}{bridge / other:>12.2f}")
        else:
            print(f"  {label:<16}{ms(bridge):>16}{'-':>14}{'-':>12}")
    for name, label in (("long", long_name), ("short", "1-min")):
        runs = ", ".join(f"{r * 1000:.1f}" for r in found.bridge[name])
        line = f"  runs (ms), {label}: bridge {runs}"
        if sox:
            line += "; sox " + ", ".join(f"{r * 1000:.1f}" for r in found.sox[name])
        print(line)
    failed = False
    for text, ok in found.checks:
        failed |= not ok
        print(f"  check: {text}: {'yes' if ok else 'NO'}")
    flat = medians["long"] / medians["short"]
    report_resampling(found, sox)
    if sox:
        ratio = medians["long"] / statistics.median(found.sox["long"])
        print(
            f"  target: bridge / sox <= {CUT_TARGET:g} ({long_name} source) -> "
            f"{verdict(ratio <= CUT_TARGET)} ({ratio:.2f})"
        )
    else:
        print(f"  target: bridge / sox <= {CUT_TARGET:g} -> not measured (no sox)")
    print(
        f"  target: flat cost, {long_name} / 1-min cut_clip <= {FLAT_TARGET:g} -> "
        f"{verdict(flat <= FLAT_TARGET)} ({flat:.2f})"
    )
    print("  resampling: no target (reported)")
    if failed:
        print("  a cut's frames are wrong: see the checks above")
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time bridge.audio.clips.cut_clip against sox trim on a long and a short WAV, "
            "and write_project_wav's resampling; print the figures and the targets."
        )
    )
    parser.add_argument(
        "--minutes", type=int, default=60, help="length of the long source (default 60)"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="measured cuts per side and source (default 5)"
    )
    parser.add_argument(
        "--header",
        choices=("WAVEX", "WAV"),
        default="WAVEX",
        help="the sources' header: WAVEX (WAVE_FORMAT_EXTENSIBLE, the default) or WAV (plain)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a 5-minute long source, 3 runs, no resampling"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.repeat = 5, 3
    if args.minutes < 1 or args.repeat < 1:
        parser.error("--minutes and --repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sox = shutil.which("sox") is not None
    free = shutil.disk_usage(tempfile.gettempdir()).free
    # Beside the long source: the 1-minute source, the 3-minute resampling source and
    # the small outputs (one at a time), about 0.1 GB in all.
    room = (free - SPARE_BYTES - BYTES_PER_MINUTE * 6) // BYTES_PER_MINUTE
    minutes = min(args.minutes, int(room))
    if minutes < 1:
        print(
            f"audio cut: only {free / GB:.1f} GB free in {tempfile.gettempdir()}; not even a "
            "1-minute source fits with 2 GB to spare: nothing measured"
        )
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-audio-cut-"))
    xdg = tmp / "xdg"
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(xdg / name.lower())
    try:
        found = Found(minutes=minutes)
        long_source, short_source = tmp / "long.wav", tmp / "short.wav"
        found.write_long = write_noise_wav(long_source, minutes, seed=1, header=args.header)
        found.write_short = write_noise_wav(short_source, 1, seed=2, header=args.header)
        fresh = Fresh(tmp)
        if sox:
            for _ in range(args.repeat + 1):
                dest = fresh("floor")
                args_floor = ("-n", "-r", str(RATE), "-c", "2", "-b", "24", str(dest))
                found.sox_floor.append(timed(lambda a=args_floor: run_sox(*a, "trim", "0", "0")))
                dest.unlink()
            found.sox_floor = found.sox_floor[1:]
        sources = {"long": (long_source, middle(minutes)), "short": (short_source, middle(1))}
        measure_cuts(found, sources, fresh, args.repeat, sox)
        long_source.unlink()
        short_source.unlink()
        if not args.quick:
            measure_resampling(found, tmp, fresh, sox)
        status = report(args, found, free, sox)
        left = sum(1 for path in xdg.rglob("*") if path.is_file()) if xdg.exists() else 0
        print(f"  files left under the temporary XDG_DATA_HOME / XDG_CACHE_HOME: {left}")
        return status
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
