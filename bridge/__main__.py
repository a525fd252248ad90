"""`python -m bridge` and the `producer-bridge` script. Nothing else in the bridge imports
its command line."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.cli import main as command_line


def main(argv: Sequence[str] | None = None) -> int:
    return command_line.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
