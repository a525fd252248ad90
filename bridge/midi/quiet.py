"""What a C library writes to the process's stderr while a MIDI backend starts.

alsa-lib reports a missing sequencer (`ALSA lib seq_hw.c:...: open /dev/snd/seq failed`) by
writing to file descriptor 2 itself, past Python and its logging; python-rtmidi then raises
its own error, which the bridge words for a person. So the descriptor is pointed at a
temporary file while the backend is created: alsa-lib's lines are kept for that wording, and
anything else written meanwhile (another thread's log line) is put back on stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Final

ALSA_PREFIX: Final = "ALSA lib "

_lock = threading.Lock()


@contextlib.contextmanager
def alsa_lines() -> Iterator[list[str]]:
    """The block's alsa-lib lines, each without its source location, collected in the list
    it yields (filled when the block ends) instead of reaching the terminal."""
    caught: list[str] = []
    with _lock, tempfile.TemporaryFile() as held:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no stderr to speak of: nothing to keep quiet
            yield caught
            return
        os.dup2(held.fileno(), 2)
        try:
            yield caught
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            _sort(held.read().decode(errors="replace"), caught)


def _sort(text: str, caught: list[str]) -> None:
    others = []
    for line in text.splitlines(keepends=True):
        if line.startswith(ALSA_PREFIX):
            # "ALSA lib seq_hw.c:466:(snd_seq_hw_open) open /dev/snd/seq failed: ..."
            caught.append(line.rpartition(") ")[2].strip() or line.strip())
        else:
            others.append(line)
    if others:
        os.write(2, "".join(others).encode())
