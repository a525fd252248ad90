"""The journal's fault injection: a process told to die after an event dies right after
that event's commit, by SIGKILL, before it writes anything else; a wrong setting is named."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.errors import JournalError
from bridge.journal.crash import ENV_KILL_AFTER, kill_point

# Opens a journal and journals three "done" events of step "stage", one at a time.
THREE_EVENTS = """
import sys
from pathlib import Path
from bridge.journal.writer import Writer
from bridge.journal.tables import open_writing
db = open_writing(Path(sys.argv[1]))
db.execute("PRAGMA foreign_keys = OFF")  # events of a job this script does not make
writer = Writer(db)
for n in range(3):
    writer.submit(lambda c, n=n: c.execute(
        "INSERT INTO events (job_id, at, kind, step, data) VALUES ('j', ?, 'done', 'stage', '{}')",
        (float(n),),
    )).result()
    print(n, flush=True)
"""


def test_unset_nothing_is_checked() -> None:
    assert kill_point({}) is None


@pytest.mark.parametrize("spec", ["done", "done:upload", "done:upload:0", "done:upload:x"])
def test_a_setting_that_is_not_kind_step_count_is_refused_naming_it(spec: str) -> None:
    with pytest.raises(JournalError, match=f"{ENV_KILL_AFTER} must be KIND:STEP:N"):
        kill_point({ENV_KILL_AFTER: spec})


def test_the_process_dies_by_sigkill_right_after_the_commit_that_reaches_the_count(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite3"
    env = {**os.environ, ENV_KILL_AFTER: "done:stage:2"}
    done = subprocess.run(
        [sys.executable, "-c", THREE_EVENTS, str(journal)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["0"]  # the second commit's caller never learnt of it
    with sqlite3.connect(journal) as db:
        assert db.execute("SELECT COUNT(*) FROM events").fetchone() == (2,)
