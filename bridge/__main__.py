"""`python -m bridge` and the `producer-bridge` script. Nothing else in the bridge imports
its command line."""

from __future__ import annotations

import gc
from collections.abc import Sequence

from bridge.cli import main as command_line


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return command_line.main(argv)
    finally:
        # The process ends next. The interpreter's collections at exit walk every object
        # still alive (about 0.1 s once the runner is loaded), and what the command loaded
        # is garbage only to them: frozen, they skip it.
        gc.freeze()


if __name__ == "__main__":
    raise SystemExit(main())
