"""Start-up cost of the command line: `producer-bridge --version` as a whole process, against
`python -c pass` run the same number of times in the same run, interleaved.

Prints the medians, the ratio, the target (<= 4x) and whether it was met.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 4.0


def once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    script = str(Path(sys.executable).with_name("producer-bridge"))
    baseline, bridge = [], []
    for _ in range(args.runs):  # interleaved, so a busy moment costs both sides alike
        baseline.append(once([sys.executable, "-c", "pass"]))
        bridge.append(once([script, "--version"]))
    base, ours = statistics.median(baseline), statistics.median(bridge)
    ratio = ours / base
    print(f"python -c pass           median {base * 1000:6.1f} ms  ({args.runs} runs)")
    print(f"producer-bridge --version median {ours * 1000:6.1f} ms")
    verdict = "met" if ratio <= TARGET else "missed"
    print(f"ratio {ratio:.2f}x, target <= {TARGET:g}x: {verdict}")


if __name__ == "__main__":
    main()
