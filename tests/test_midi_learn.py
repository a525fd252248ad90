"""`producer-bridge midi-learn`: a real subprocess listening to a network MIDI peer, and the
command's choices in-process."""

from __future__ import annotations

import argparse
import io
import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import mido
import pytest
from rich.console import Console

from bridge.cli.main import build_parser
from bridge.cli.midi_learn import add_midi_learn_parser, execute, learn_line
from bridge.config import load_config
from bridge.midi import probe_inputs
from tests.test_midi_ports import Peer, free_port

# The command as a separate program, in case the main parser does not list it (yet).
STANDALONE = """
import argparse, sys
from pathlib import Path
from rich.console import Console
from bridge.cli.midi_learn import add_midi_learn_parser, execute
from bridge.config import load_config
parser = argparse.ArgumentParser()
add_midi_learn_parser(parser.add_subparsers(dest="command", required=True))
config = load_config(Path(sys.argv[1])).config
out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
sys.exit(execute(parser.parse_args(sys.argv[2:]), config, out, err))
"""


@pytest.fixture
def peer() -> Iterator[Peer]:
    made = Peer()
    yield made
    made.close()


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("PRODUCER_API_KEY", "PRODUCER_API_URL", "PRODUCER_BRIDGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    path = tmp_path / "bridge.toml"
    path.write_text("")
    return path


def main_knows_midi_learn() -> bool:
    commands = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return any("midi-learn" in action.choices for action in commands)


def command(config: Path, *args: str) -> list[str]:
    if main_knows_midi_learn():
        return [sys.executable, "-m", "bridge", "--config", str(config), "midi-learn", *args]
    return [sys.executable, "-c", STANDALONE, str(config), "midi-learn", *args]


def read_line(proc: subprocess.Popen[str], timeout: float = 10.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "midi-learn printed nothing (not flushed?)"
    return proc.stdout.readline()


def test_midi_learn_prints_lines_to_paste(config_file: Path, peer: Peer) -> None:
    argv = command(config_file, "--input", peer.spec, "--count", "2", "--seconds", "60")
    root = Path(__file__).resolve().parents[1]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root, env=os.environ
    ) as proc:
        try:
            peer.wait_for_clients()
            peer.send(
                mido.Message("clock"),
                mido.Message("active_sensing"),
                mido.Message("note_off", note=36, channel=9),
                mido.Message("note_on", note=36, velocity=0, channel=9),
                mido.Message("note_on", note=36, velocity=100, channel=9),
            )
            # Each line arrives as it happens, not when the command ends.
            first = read_line(proc)
            peer.send(
                mido.Message("control_change", control=20, value=70),
                mido.Message("control_change", control=20, value=90),
            )
            rest, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    lines = [first.rstrip("\n"), *rest.splitlines()]
    assert lines[0] == f'"note 36 ch 10" = ""   # note_on velocity 100 from {peer.spec}'
    assert lines[1:] == [f'"cc 20 ch 1" = ""   # control_change value 70 from {peer.spec}']
    assert f"listening to {peer.spec}" in err
    assert "Ctrl-C" in err


def run_in_process(config: Path, *args: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_midi_learn_parser(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    code = execute(
        parser.parse_args(["midi-learn", *args]),
        load_config(config).config,
        Console(file=out, soft_wrap=True),
        Console(file=err, soft_wrap=True),
    )
    return code, out.getvalue(), err.getvalue()


def test_a_knob_prints_once_and_seconds_stop_the_command(config_file: Path, peer: Peer) -> None:
    config_file.write_text(f'[midi]\ninputs = ["{peer.spec}"]\n')
    burst = [mido.Message("control_change", control=7, value=v, channel=1) for v in range(40)]
    burst += [mido.Message("program_change", program=3, channel=15), *burst[:2]]

    def send_when_connected() -> None:
        peer.wait_for_clients()
        peer.send(*burst)

    sender = threading.Thread(target=send_when_connected)
    sender.start()
    try:
        code, out, err = run_in_process(config_file, "--seconds", "1.5")
    finally:
        sender.join()
    assert code == 0
    assert out.splitlines() == [
        f'"cc 7 ch 2" = ""   # control_change value 0 from {peer.spec}',
        f'"program 3 ch 16" = ""   # program_change from {peer.spec}',
        f'"cc 7 ch 2" = ""   # control_change value 0 from {peer.spec}',
    ]
    assert "after 1.5 s" in err


def test_without_any_input_it_says_how_to_give_one(config_file: Path) -> None:
    names, _ = probe_inputs()
    if names:
        pytest.skip(f"this machine has MIDI ports ({names}); midi-learn would listen to them")
    code, out, err = run_in_process(config_file, "--seconds", "1")
    assert code == 1
    assert out == ""
    assert "no MIDI input to listen to" in err
    assert "--input socket:HOST:PORT" in err


def test_when_nothing_opens_it_fails_with_the_help(config_file: Path) -> None:
    code, out, err = run_in_process(
        config_file, "--input", f"socket:127.0.0.1:{free_port()}", "--count", "1"
    )
    assert code == 1
    assert out == ""
    assert "no MIDI input could be opened" in err
    assert "--input socket:HOST:PORT" in err


def test_learn_line_skips_what_cannot_be_mapped() -> None:
    assert learn_line("x", mido.Message("note_on", note=1, velocity=0)) is None
    assert learn_line("x", mido.Message("clock")) is None
    assert learn_line("x", mido.Message("note_off", note=1)) is None
    assert learn_line("pad", mido.Message("note_on", note=1, velocity=5)) == (
        '"note 1 ch 1" = ""   # note_on velocity 5 from pad'
    )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [(["--count", "0"], "at least 1"), (["--seconds", "-1"], "seconds above 0")],
)
def test_bad_limits_are_refused(
    args: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    add_midi_learn_parser(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["midi-learn", *args])
    assert complaint in capsys.readouterr().err
