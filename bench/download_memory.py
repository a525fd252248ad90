"""Peak memory while the bridge downloads a large file, against reading it whole.

A file of --size-mb MiB (default 500) is written in chunks to a temporary folder and
served by `python -m http.server` in a separate process, so the server's memory is not
counted. This process imports everything and builds the client, warms it up on a small
file, records its resident memory (VmRSS) as the baseline, then downloads the big file
with ProducerClient.fetch (the bridge's streaming path) and reads the peak.

The peak is the kernel's high-water mark VmHWM, reset just before the download by
writing "5" to /proc/self/clear_refs (Linux >= 4.0). Where that reset is refused, a
background thread samples VmRSS every 10 ms instead (--sampler forces this).

For contrast, a child process (this script, re-run with a hidden flag) fetches the same
URL with a plain `httpx.AsyncClient.get()`, which holds the whole body in memory, and
is measured the same way. Target: streaming peak minus baseline < 60 MiB.

This is a benchmark, not a test: a MISS is printed, and the exit code stays 0.
Linux only (it reads /proc/self/status).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bridge.api import ProducerClient, make_http_client

MIB = 1 << 20
TARGET_MIB = 60.0
WRITE_CHUNK = MIB
WARMUP_NAME = "warmup.bin"
BIG_NAME = "big.bin"
SERVER_START_SECONDS = 15.0


# Reading this process's memory ------------------------------------------------------------


def _status_kib(field: str) -> int:
    """A `kB` field of /proc/self/status, such as VmRSS or VmHWM."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} is not in /proc/self/status")


def rss_bytes() -> int:
    return _status_kib("VmRSS") * 1024


def hwm_bytes() -> int:
    return _status_kib("VmHWM") * 1024


def reset_hwm() -> bool:
    """Reset VmHWM to the current RSS; False when the kernel refuses or ignores it.

    To tell a working reset from one that is silently ignored, first raise the mark by
    touching 32 MiB and freeing it, then check that the reset brought the mark back down.
    """
    spike = b"\x01" * (32 * MIB)
    del spike
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return hwm_bytes() - rss_bytes() < 4 * MIB


class Sampler:
    """Samples VmRSS on a background thread and keeps the largest value seen."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.peak = rss_bytes()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self.samples += 1
            self._stop.wait(self.period)


@dataclass
class Measurement:
    method: str  # "VmHWM" or "sampled VmRSS"
    baseline: int
    peak: int
    seconds: float
    received: int

    @property
    def delta(self) -> int:
        return self.peak - self.baseline

    @property
    def mib_per_second(self) -> float:
        return self.received / MIB / self.seconds


async def measure(download: Callable[[], Awaitable[int]], force_sampler: bool) -> Measurement:
    """Baseline RSS, then run `download` and record the peak RSS while it ran."""
    use_hwm = not force_sampler and reset_hwm()
    baseline = rss_bytes()
    started = time.perf_counter()
    if use_hwm:
        received = await download()
        seconds = time.perf_counter() - started
        peak = hwm_bytes()
        method = "VmHWM (reset via /proc/self/clear_refs)"
    else:
        with Sampler() as sampler:
            received = await download()
            seconds = time.perf_counter() - started
        peak = sampler.peak
        method = f"sampled VmRSS every 10 ms ({sampler.samples} samples)"
    return Measurement(method, baseline, max(peak, baseline), seconds, received)


# The two ways of downloading ----------------------------------------------------------------


async def streaming(url: str, out_dir: Path, force_sampler: bool) -> Measurement:
    """The bridge's path: ProducerClient.fetch -> fetch_file, streamed to disk."""
    async with make_http_client() as http:
        client = ProducerClient(http, base_url=url, api_key="bench-unused-key")
        # Warm up: pay for lazy imports, the connection and first buffers before the baseline.
        await client.fetch(f"{url}/{WARMUP_NAME}", out_dir / "warmup-streaming.bin")
        dest = out_dir / BIG_NAME
        return await measure(lambda: client.fetch(f"{url}/{BIG_NAME}", dest), force_sampler)


async def naive(url: str, force_sampler: bool) -> Measurement:
    """The contrast: one `httpx.AsyncClient.get`, the whole body held in memory."""
    async with httpx.AsyncClient(timeout=120.0) as http:
        (await http.get(f"{url}/{WARMUP_NAME}")).raise_for_status()

        async def download() -> int:
            response = await http.get(f"{url}/{BIG_NAME}")
            response.raise_for_status()
            return len(response.content)

        return await measure(download, force_sampler)


def naive_child(url: str, force_sampler: bool) -> int:
    """Entry point of the child process: measure the naive download, print JSON."""
    result = asyncio.run(naive(url, force_sampler))
    print(json.dumps(asdict(result)))
    return 0


def run_naive_in_child(url: str, force_sampler: bool) -> Measurement:
    command = [sys.executable, str(Path(__file__).resolve()), "--naive-child", url]
    if force_sampler:
        command.append("--sampler")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the naive child failed ({done.returncode}): {done.stderr[-2000:]}")
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))


# The file and its server ------------------------------------------------------------------


def write_file(path: Path, size: int) -> None:
    """Write `size` bytes a chunk at a time (never the whole file in memory)."""
    block = os.urandom(WRITE_CHUNK)
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(block[: min(left, WRITE_CHUNK)])
            left -= WRITE_CHUNK


def start_server(directory: Path) -> tuple[subprocess.Popen[str], str]:
    """`python -m http.server` on 127.0.0.1 and a free port; wait until it answers."""
    command = [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]
    command += ["--directory", str(directory)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (...) ..."
        found = re.search(r" port (\d+)", banner)
        if found is None:
            raise RuntimeError(f"http.server did not start: {banner!r}")
        url = f"http://127.0.0.1:{found.group(1)}"
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                if httpx.head(f"{url}/{WARMUP_NAME}", timeout=1.0).status_code == 200:
                    return server, url
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"http.server on {url} did not answer")
            time.sleep(0.05)
    except BaseException:
        stop_server(server)
        raise


def stop_server(server: subprocess.Popen[str]) -> None:
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)
    if server.stdout is not None:
        server.stdout.close()


# Report ------------------------------------------------------------------------------------


def _mib(value: int) -> str:
    return f"{value / MIB:8.1f} MiB"


def report(size: int, stream: Measurement, plain: Measurement | None, file_ok: bool) -> None:
    print(
        f"download memory: one file of {size / MIB:g} MiB ({size} bytes), served by "
        "http.server in a separate process on 127.0.0.1"
    )
    rows = [("bridge streaming (ProducerClient.fetch)", stream)]
    if plain is not None:
        rows.append(("naive httpx get() in memory (child)", plain))
    for name, m in rows:
        print(f"  {name}")
        print(f"    peak from:   {m.method}")
        print(f"    baseline RSS {_mib(m.baseline)}")
        print(f"    peak RSS     {_mib(m.peak)}")
        print(f"    peak - base  {_mib(m.delta)}")
        print(f"    throughput   {m.mib_per_second:8.1f} MiB/s ({m.seconds:.2f} s)")
        print(f"    received     {m.received} bytes ({'OK' if m.received == size else 'WRONG'})")
    print(f"  downloaded file on disk is {size} bytes: {'yes' if file_ok else 'NO'}")
    if plain is not None and plain.delta > 0:
        ratio = stream.delta / plain.delta
        saved = (plain.delta - stream.delta) / MIB
        print(
            f"  ratio streaming / naive (peak - baseline): {ratio:.3g}  "
            f"(streaming saves {saved:.1f} MiB of peak memory)"
        )
    verdict = "PASS" if stream.delta < TARGET_MIB * MIB and file_ok else "MISS"
    print(f"  target: streaming peak - baseline < {TARGET_MIB:g} MiB  -> {verdict}")


# Main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Measure peak resident memory while the bridge downloads a large file "
            "(ProducerClient.fetch, streamed to disk) from a local http.server in a "
            "separate process, against a naive httpx get() that holds the body in memory "
            f"(run in a child process). Target: peak - baseline < {TARGET_MIB:g} MiB. "
            "Linux only; talks to 127.0.0.1 only; exits 0 on a MISS."
        )
    )
    parser.add_argument(
        "--size-mb", type=int, default=500, help="size of the file in MiB (default 500)"
    )
    parser.add_argument(
        "--sampler",
        action="store_true",
        help="sample VmRSS every 10 ms instead of resetting and reading VmHWM",
    )
    parser.add_argument(
        "--skip-naive", action="store_true", help="do not run the naive in-memory contrast"
    )
    parser.add_argument("--naive-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size_mb < 1:
        parser.error("--size-mb must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.naive_child:
        return naive_child(args.naive_child, args.sampler)
    size = args.size_mb * MIB
    with tempfile.TemporaryDirectory(prefix="bench-download-") as tmp:
        serve_dir, out_dir = Path(tmp, "serve"), Path(tmp, "out")
        serve_dir.mkdir()
        out_dir.mkdir()
        write_file(serve_dir / WARMUP_NAME, MIB)
        write_file(serve_dir / BIG_NAME, size)
        server, url = start_server(serve_dir)
        try:
            stream = asyncio.run(streaming(url, out_dir, args.sampler))
            dest = out_dir / BIG_NAME
            file_ok = dest.stat().st_size == size
            dest.unlink()
            plain = None if args.skip_naive else run_naive_in_child(url, args.sampler)
        finally:
            stop_server(server)
    report(size, stream, plain, file_ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
