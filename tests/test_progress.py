"""The progress reporters: what a person sees on a terminal and in a log."""

from __future__ import annotations

import io

from rich.console import Console

from bridge.cli.progress import LineProgress, RichProgress, make_progress
from bridge.errors import register_secret
from bridge.jobs.results import TaskStatus


def play(progress: LineProgress | RichProgress) -> None:
    with progress:
        progress.step("generate", "replace_music")
        progress.task("generate", TaskStatus(task_id="t-42", status="processing"))
        progress.task("generate", TaskStatus(task_id="t-42", status="completed"))
        progress.finished("generate", "1 clip(s)")
        progress.step("fetch result.wav", "result.wav")
        for done in (0, 500_000, 1_000_000):
            progress.transfer("fetch result.wav", done, 1_000_000)
        progress.finished("fetch result.wav", "out/result.wav key=sk-progress-secret-99")


def test_a_log_gets_one_line_per_event_and_quarter_steps_of_a_download() -> None:
    register_secret("sk-progress-secret-99")
    buffer = io.StringIO()
    play(LineProgress(Console(file=buffer, width=200)))
    lines = buffer.getvalue().splitlines()
    assert lines[:3] == [
        "[generate] started: replace_music",
        "[generate] task t-42: processing",
        "[generate] task t-42: completed",
    ]
    assert [line for line in lines if "%" in line] == [
        "[fetch result.wav] 0% of 1000000 bytes",
        "[fetch result.wav] 50% of 1000000 bytes",
        "[fetch result.wav] 100% of 1000000 bytes",
    ]
    assert lines[-1].endswith("out/result.wav key=********")


def test_a_terminal_gets_a_live_table_that_ends_with_every_step_done() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, force_terminal=True)
    assert isinstance(make_progress(console), RichProgress)
    play(RichProgress(console))
    final = buffer.getvalue().rsplit("\x1b[2K", 2)[-2:]  # the last frame rendered
    text = "".join(final)
    assert "generate" in text
    assert "1.0/1.0 MB" in text
    assert "sk-progress-secret-99" not in buffer.getvalue()
