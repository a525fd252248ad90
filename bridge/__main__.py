"""`python -m bridge` and the `producer-bridge` script. Nothing else in the bridge imports
its command line."""

from __future__ import annotations

import atexit
import gc
from collections.abc import Sequence

from bridge.cli import main as command_line

# At exit the interpreter's collections walk every object still alive (about 0.1 s once the
# runner is loaded), all of it kept until then: frozen first, they skip it.
atexit.register(gc.freeze)


def main(argv: Sequence[str] | None = None) -> int:
    return command_line.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
