"""The garbage collector while a short command starts: paused while it loads its modules
and configuration, then those objects set aside from its passes until the command ends."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[Callable[[], None]]:
    """Pause the collector inside the block; the function it hands over marks the end of
    loading: what is alive then is frozen (`gc.freeze`) and the collector resumes.

    Loading `run`'s modules builds some hundreds of thousands of objects, all of which
    stay alive: the passes the collector makes over them meanwhile free nothing and cost
    about 5% of a `run`, and later passes skip them once frozen. Leaving the block thaws
    them and restores the collector as it was found, so a caller that goes on (a test
    running commands in its own process) keeps collecting them."""
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    loaded: list[bool] = []

    def done() -> None:
        if not loaded:
            loaded.append(True)
            gc.freeze()
            if enabled:
                gc.enable()

    try:
        yield done
    finally:
        if loaded and not frozen:
            gc.unfreeze()
        if enabled:
            gc.enable()
