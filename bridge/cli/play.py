"""`producer-bridge play JOB_ID|FILE`: hear a file, or a job's result, on this machine."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Final, Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from bridge.app import open_journal
from bridge.audio.devices import probe_audio
from bridge.audio.preview import (
    OPEN_TIMEOUT,
    STOP_TIMEOUT,
    Backend,
    Playback,
    Player,
    SoundDeviceBackend,
)
from bridge.cli.args import load_settings, seconds_arg
from bridge.config import Config
from bridge.jobs.state import Job
from bridge.project.playable import resolve_target

INTERRUPTED: Final = 130  # as for any command stopped by Ctrl-C
_TICK: Final = 0.1  # seconds between two progress updates


def _device(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def add_play_parser(commands: Any) -> None:
    play = commands.add_parser(
        "play",
        help="play a file, or a job's result, on this machine's audio output",
        description="Play an audio file, or the file a job wrote (its spliced clip if it has "
        "one, else its first result), on an output device. A FILE that exists wins over a job "
        "id. Ctrl-C stops. Needs PortAudio (`producer-bridge doctor` checks it).",
    )
    play.set_defaults(func=command)
    play.add_argument("target", metavar="JOB_ID|FILE", help="a job id (or its start), or a file")
    play.add_argument(
        "--device",
        type=_device,
        help="output device: its number or part of its name (default: the system's default)",
    )
    play.add_argument(
        "--start",
        type=seconds_arg(zero=True),
        default=0.0,
        help="seconds into the file to start at (default 0)",
    )


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    return execute(args, load_settings(args), err)


def execute(
    args: argparse.Namespace, config: Config, err: Console, backend: Backend | None = None
) -> int:
    path = resolve_target(args.target, _journal_lookup(config))
    backend = backend or SoundDeviceBackend(probe=probe_audio)
    player = Player(path, backend=backend, start=args.start, device=args.device)
    return play_file(player, make_display(err))


def _journal_lookup(config: Config) -> Callable[[str], Job]:
    def find(ref: str) -> Job:
        with open_journal(config) as journal:
            return journal.get(ref)

    return find


class Display(Protocol):
    def started(self, player: Player) -> None: ...
    def update(self, position: float) -> None: ...
    def done(self, text: str) -> None: ...


def play_file(player: Player, display: Display, *, timeout: float = OPEN_TIMEOUT) -> int:
    """Play to the end (0) or until Ctrl-C (130); AudioError when it cannot play."""
    with Playback(player) as playback:
        try:
            playback.start(timeout)
            display.started(player)
            while not playback.wait(_TICK):
                display.update(player.position)
        except KeyboardInterrupt:
            playback.stop(STOP_TIMEOUT)
            display.done(f"stopped at {clock(player.position)}")
            return INTERRUPTED
    if playback.error is not None:
        display.done(f"stopped at {clock(player.position)}")
        raise playback.error
    display.update(player.position)
    display.done(f"played to the end ({clock(player.duration)})")
    return 0


def clock(seconds: float) -> str:
    minutes, rest = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def _title(player: Player) -> str:
    info = player.info
    return (
        f"{player.path.name} ({clock(info.duration)}, {info.sample_rate} Hz, "
        f"{info.channels} ch) from {clock(player.start)}"
    )


class LineDisplay:
    """A line at the start, at each quarter and at the end: for pipes and logs."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._duration = 0.0
        self._quarter = 0

    def started(self, player: Player) -> None:
        self._duration = player.duration
        self._quarter = int(4 * player.start / self._duration)
        self._print(f"playing {player.path}: {_title(player)}")

    def update(self, position: float) -> None:
        quarter = int(4 * position / self._duration) if self._duration else 0
        if 0 < quarter < 4 and quarter > self._quarter:
            self._quarter = quarter
            self._print(f"{quarter * 25}% ({clock(position)} of {clock(self._duration)})")

    def done(self, text: str) -> None:
        self._print(text)

    def _print(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False, soft_wrap=True)


class RichDisplay:
    """A bar with the time played, on a terminal."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=32),
            TextColumn("{task.fields[at]}"),
            console=console,
        )
        self._row: TaskID | None = None
        self._duration = 0.0

    def started(self, player: Player) -> None:
        self._duration = player.duration
        self._progress.start()
        self._row = self._progress.add_task(_title(player), total=player.duration, at="")
        self.update(player.position)

    def update(self, position: float) -> None:
        if self._row is not None:
            at = f"{clock(position)} / {clock(self._duration)}"
            self._progress.update(self._row, completed=position, at=at)

    def done(self, text: str) -> None:
        self._progress.stop()
        self._console.print(text, markup=False, highlight=False)


def make_display(console: Console) -> LineDisplay | RichDisplay:
    return RichDisplay(console) if console.is_terminal else LineDisplay(console)
