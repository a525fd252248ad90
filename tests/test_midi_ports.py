"""MIDI inputs against real network peers: mido socket servers on loopback (no sound hardware
or ALSA sequencer on the test machines, and no mocks of mido)."""

from __future__ import annotations

import logging
import queue
import socket
import time
from collections.abc import Iterator

import mido
import pytest

from bridge.midi import MidiInputs, Trigger, list_inputs, parse_mapping, probe_inputs
from tests.midi_peer import WAIT, Peer
from tests.waiting import wait_until


class Inbox:
    """`on_message` for MidiInputs: keeps what arrives, from the reader threads."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[str, mido.Message]] = queue.Queue()

    def __call__(self, spec: str, msg: mido.Message) -> None:
        self.queue.put((spec, msg))

    def take(self, count: int) -> list[tuple[str, mido.Message]]:
        return [self.queue.get(timeout=WAIT) for _ in range(count)]

    def quiet_for(self, seconds: float) -> bool:
        try:
            self.queue.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    made: list[Peer] = []
    yield made
    for peer in made:
        peer.close()
    made.clear()


@pytest.fixture
def peer(peers: list[Peer]) -> Peer:
    peers.append(Peer())
    return peers[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_messages_from_a_peer_arrive_in_order(peer: Peer) -> None:
    inbox = Inbox()
    sent = [
        mido.Message("note_on", note=36, velocity=100, channel=9),
        mido.Message("control_change", control=20, value=70),
        mido.Message("program_change", program=3),
        mido.Message("clock"),
        mido.Message("sysex", data=[1, 2, 3]),
        mido.Message("note_on", note=36, velocity=0, channel=9),
    ]
    with MidiInputs([peer.spec], inbox) as inputs:
        assert inputs.opened == [peer.spec]
        assert inputs.problems == []
        peer.wait_for_clients()
        peer.send(*sent)
        assert inbox.take(len(sent)) == [(peer.spec, msg) for msg in sent]


def test_through_the_wire_into_the_mapping(peer: Peer) -> None:
    mapping = parse_mapping({"note 36 ch 10": "trigger disco", "cc 20": "music_variation"})
    inbox = Inbox()
    with MidiInputs([peer.spec], inbox):
        peer.wait_for_clients()
        peer.send(
            mido.Message("note_on", note=36, velocity=0, channel=9),
            mido.Message("note_off", note=36, channel=9),
            mido.Message("note_on", note=36, velocity=90, channel=0),
            mido.Message("note_on", note=36, velocity=90, channel=9),
            *(mido.Message("control_change", control=20, value=v) for v in (30, 70, 90, 10, 80)),
        )
        commands = [command for _, msg in inbox.take(9) for command in mapping.handle(msg)]
    assert commands == [Trigger("disco"), Trigger("music_variation"), Trigger("music_variation")]


def test_inputs_that_cannot_open_are_warnings_and_the_rest_work(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    refused = f"socket:127.0.0.1:{free_port()}"
    specs = ["Launchpad Mini That Is Not Here", peer.spec, refused, "socket:no-port", "virtual:"]
    inbox = Inbox()
    with caplog.at_level(logging.WARNING, logger="bridge.midi"), MidiInputs(specs, inbox) as inputs:
        assert inputs.opened == [peer.spec]
        missing, bad_socket, bad_address, nameless = inputs.problems
        assert "'Launchpad Mini That Is Not Here'" in missing
        # With a MIDI backend the port is simply absent; without one, that is the reason.
        assert "not found; available:" in missing or "no MIDI backend" in missing
        assert refused in bad_socket
        assert "cannot connect" in bad_socket
        assert "socket:HOST:PORT" in bad_address
        assert "virtual:NAME" in nameless
        assert [r.getMessage() for r in caplog.records] == inputs.problems
        peer.wait_for_clients()
        peer.send(mido.Message("note_on", note=1))
        assert inbox.take(1) == [(peer.spec, mido.Message("note_on", note=1))]


def test_a_virtual_port_opens_or_says_why(peer: Peer) -> None:
    with MidiInputs(["virtual:producer-bridge-test", peer.spec], Inbox()) as inputs:
        assert peer.spec in inputs.opened
        if "virtual:producer-bridge-test" not in inputs.opened:
            (problem,) = inputs.problems
            assert "virtual:producer-bridge-test" in problem
            assert "virtual MIDI ports need ALSA/CoreMIDI" in problem or "loopMIDI" in problem


def test_a_peer_that_hangs_up_stops_only_its_own_input(
    peers: list[Peer], caplog: pytest.LogCaptureFixture
) -> None:
    leaving, staying = Peer(), Peer()
    peers += [leaving, staying]
    inbox = Inbox()
    with caplog.at_level(logging.WARNING, logger="bridge.midi"):
        with MidiInputs([leaving.spec, staying.spec], inbox) as inputs:
            leaving.wait_for_clients()
            staying.wait_for_clients()
            leaving.close()
            (problem,) = wait_until(
                lambda: inputs.problems, within=WAIT, what="the hang-up to be noticed"
            )
            assert leaving.spec in problem
            assert "disconnected" in problem
            staying.send(mido.Message("program_change", program=5))
            assert inbox.take(1) == [(staying.spec, mido.Message("program_change", program=5))]
            time.sleep(0.05)
        warnings = [r for r in caplog.records if "disconnected" in r.getMessage()]
        assert len(warnings) == 1


def test_a_failing_handler_does_not_stop_the_input(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()

    def handler(spec: str, msg: mido.Message) -> None:
        if msg.type == "clock":
            raise RuntimeError("a bug in the handler")
        inbox(spec, msg)

    with caplog.at_level(logging.ERROR, logger="bridge.midi"), MidiInputs([peer.spec], handler):
        peer.wait_for_clients()
        peer.send(mido.Message("clock"), mido.Message("note_on", note=2))
        assert inbox.take(1) == [(peer.spec, mido.Message("note_on", note=2))]
    assert "a bug in the handler" in caplog.text


def test_close_is_idempotent_and_open_again_works(peer: Peer) -> None:
    inbox = Inbox()
    inputs = MidiInputs([peer.spec], inbox)
    inputs.close()  # never opened
    inputs.open()
    inputs.open()  # already open: nothing more
    peer.wait_for_clients()
    inputs.close()
    inputs.close()
    assert inbox.quiet_for(0.05)


def test_listing_inputs_never_raises() -> None:
    names = list_inputs()
    assert isinstance(names, list)
    listed, reason = probe_inputs()
    assert listed == names
    if reason is not None:
        assert listed == []
        assert "MIDI backend" in reason
