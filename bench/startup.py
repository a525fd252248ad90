"""Start-up cost of the command line: `producer-bridge --version` and `producer-bridge run
--help` as whole processes, against `python -c pass` run the same number of times in the
same run, interleaved.

Prints min/median/max of each, the ratio of medians against the baseline, the target
(<= 4x for `--version`) and whether it was met. `run --help` has no target of its own; it
shows what loading the `run` command's module costs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from common import ratio_line, spread

TARGET = 4.0


def once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="7 runs of each")
    args = parser.parse_args()
    runs = 7 if args.quick else args.runs
    script = str(Path(sys.executable).with_name("producer-bridge"))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "producer-bridge --version": [script, "--version"],
        "producer-bridge run --help": [script, "run", "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for index in range(runs):  # interleaved, so a busy moment costs every side alike
        names = list(commands) if index % 2 == 0 else list(commands)[::-1]
        for name in names:
            times[name].append(once(commands[name]))
    base = times["python -c pass"]
    for name, values in times.items():
        print(f"{name:<27} {spread(values)}")
    print(f"--version:  {ratio_line(times['producer-bridge --version'], base, TARGET)}")
    run_help = times["producer-bridge run --help"]
    print(f"run --help: {ratio_line(run_help, base, None)}")


if __name__ == "__main__":
    main()
