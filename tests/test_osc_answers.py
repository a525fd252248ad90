"""Every OSC message gets exactly one answer, whatever its arguments' OSC types; refusals
stay short, and remote senders cannot draw more than a few of them."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing.osc_types import write_string

from bridge import __version__
from bridge.daemon.context import PARAMS
from bridge.daemon.osc_api import ROUTES, Route
from bridge.emulator.server import EmulatorServer
from tests.daemon_harness import OscListener, daemon_config, free_udp_port, running_daemon
from tests.waiting import wait_until

ANSWERS = {
    "/bridge/rejected",
    "/bridge/ok",
    "/bridge/job/accepted",
    "/bridge/pong",
    "/bridge/context/state",
    "/bridge/job/status",
    "/bridge/status/summary",
    "/bridge/capabilities/state",
}

# Strings that lead somewhere: names the routes know, and requests with a NUL in a path.
_NUL_CLIP = {"version": 1, "action": "cover_music", "clip": {"path": "/music/a\u0000.wav"}}
_NUL_PROJECT = {"version": 1, "action": "create_music", "project": {"folder": "/music/\u0000"}}
MEANINGFUL = st.sampled_from(
    [
        json.dumps(_NUL_CLIP),
        json.dumps(_NUL_PROJECT),
        "seed",
        "strength",
        "model",
        "stems",
        "create_music",
        "variation",
        "/music",
        "{",
    ]
)
INT32 = st.integers(-(2**31), 2**31 - 1)
# (OSC type tag, value) for every type OscMessageBuilder writes.
BUILT = st.one_of(
    st.tuples(st.just("i"), INT32),
    st.tuples(st.just("h"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("f"), st.floats(width=32)),
    st.tuples(st.just("d"), st.floats()),
    st.tuples(
        st.just("s"), st.one_of(MEANINGFUL, st.text(max_size=12).map(lambda t: t.replace("\0", "")))
    ),
    st.tuples(st.just("b"), st.binary(min_size=1, max_size=12)),  # python-osc: never empty
    st.tuples(st.just("T"), st.just(True)),
    st.tuples(st.just("F"), st.just(False)),
    st.tuples(st.just("N"), st.none()),
    st.tuples(st.just("r"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("m"), st.tuples(*[st.integers(0, 255)] * 4)),
    st.tuples(
        st.just("array"),
        st.lists(INT32 | st.text(max_size=4).map(lambda t: t.replace("\0", "")), max_size=3),
    ),
)
# Types python-osc reads but does not write: time tag, infinitum, char (tag, payload bytes).
RAW = st.one_of(
    st.tuples(st.just("t"), st.binary(min_size=8, max_size=8)),
    st.tuples(st.just("I"), st.just(b"")),
    st.tuples(st.just("c"), st.integers(0, 127).map(lambda c: struct.pack(">i", c))),
)
ARG = st.one_of(BUILT, RAW)


def _encoded(tag: str, value: Any) -> tuple[str, bytes]:
    """One argument's type tags and bytes, as OscMessageBuilder writes them."""
    if tag in "tIc":
        return tag, value
    builder = OscMessageBuilder("/")
    builder.add_arg(value, None if tag == "array" else tag)
    dgram = builder.build().dgram
    tags = dgram[4:].split(b"\0")[0].decode()
    return tags[1:], dgram[4 + len(write_string(tags)) :]


def packet(address: str, args: list[tuple[str, Any]]) -> bytes:
    encoded = [_encoded(tag, value) for tag, value in args]
    tags = "," + "".join(tag for tag, _ in encoded)
    return write_string(address) + write_string(tags) + b"".join(data for _, data in encoded)


def _answers(listener: OscListener) -> list[tuple[str, list[Any]]]:
    return [(found, args) for found, args in listener.messages if found in ANSWERS]


def _one_answer(listener: OscListener, port: int, data: bytes, what: str) -> list[Any]:
    """Send `data`; the one answer it draws. A ping sent once it is answered is answered
    after it: nothing may come between them."""
    before = len(_answers(listener))
    listener.send_packet(port, data)
    wait_until(lambda: len(_answers(listener)) > before, within=5.0, interval=0.002, what=what)
    listener.send(port, "/bridge/ping")

    def barrier() -> int | None:
        heard = _answers(listener)
        return next(
            (i for i in range(before + 1, len(heard)) if heard[i][0] == "/bridge/pong"), None
        )

    wait_until(lambda: barrier() is not None, within=5.0, interval=0.002, what="the pong")
    answers = _answers(listener)[before : barrier()]
    assert len(answers) == 1, f"{what}: {answers}"
    assert "internal error" not in str(answers[0][1]), f"{what}: {answers}"
    return answers[0][1]


@pytest.fixture
def daemon_port(
    jobs_config: Path, tmp_path: Path, listener: OscListener, emulator: EmulatorServer
) -> Any:
    port = free_udp_port()
    config = daemon_config(jobs_config, tmp_path, port)
    with running_daemon(config, emulator.url, port) as daemon:
        yield port
        assert daemon.process.poll() is None


_FITTING = {
    "request": st.sampled_from([json.dumps(_NUL_CLIP), json.dumps(_NUL_PROJECT), "{"]),
    "name": st.sampled_from(PARAMS),
}


def _args(route: Route) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """Each of the route's arguments, often of its own type and often of any other."""
    slots = [
        st.one_of(_FITTING.get(arg.name, ARG).map(lambda v: ("s", v)), ARG)
        if arg.name in _FITTING
        else ARG
        for arg in route.args
    ]
    return st.tuples(*slots).map(list) | st.lists(ARG, max_size=4)


MESSAGES = st.sampled_from(ROUTES).flatmap(
    lambda route: st.tuples(st.just(str(route.address)), _args(route))
) | st.tuples(st.just("/bridge/nowhere"), st.lists(ARG, max_size=2))


def test_every_message_of_any_osc_types_gets_exactly_one_answer(
    daemon_port: int, listener: OscListener
) -> None:
    @settings(
        max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.lists(MESSAGES, min_size=1, max_size=3))
    def messages(sent: list[tuple[str, list[tuple[str, Any]]]]) -> None:
        for address, args in sent:
            _one_answer(listener, daemon_port, packet(address, args), f"{address} {args!r}")
        # Whatever was set, the context can still be read.
        state = _one_answer(listener, daemon_port, packet("/bridge/context/get", []), "get")
        json.loads(state[0])

    messages()


def test_a_nul_in_a_path_of_a_job_is_refused_naming_the_field(
    daemon_port: int, listener: OscListener
) -> None:
    for request, field in ((_NUL_CLIP, "clip.path"), (_NUL_PROJECT, "project.folder")):
        data = packet("/bridge/job", [("s", json.dumps(request))])
        address, reason = _one_answer(listener, daemon_port, data, field)
        assert address == "/bridge/job"
        assert f"{field}: a path cannot hold control characters" in reason


@pytest.mark.parametrize(
    "arg",
    [("b", b"\x01\x02"), ("t", b"\0" * 8), ("N", None), ("m", (1, 2, 3, 4)), ("array", [1, 2])],
    ids=["blob", "timetag", "nil", "midi", "array"],
)
def test_a_param_of_a_type_the_bridge_cannot_use_is_refused_and_the_context_still_reads(
    daemon_port: int, listener: OscListener, arg: tuple[str, Any]
) -> None:
    data = packet("/bridge/context/param", [("s", "seed"), arg])
    address, reason = _one_answer(listener, daemon_port, data, "param")
    assert (address, reason.split(":")[0]) == (
        "/bridge/context/param",
        "request is invalid (1 problem(s))",
    )
    assert "value: must be a string, number or true/false" in reason
    state = _one_answer(listener, daemon_port, packet("/bridge/context/get", []), "get")
    assert json.loads(state[0])["params"] == {}


def _remote_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        host = str(probe.getsockname()[0])
    return None if host.startswith("127.") or host == "0.0.0.0" else host  # noqa: S104


def test_refusals_are_short_and_a_remote_sender_draws_only_a_few(
    jobs_config: Path, tmp_path: Path, emulator: EmulatorServer
) -> None:
    host = _remote_address()
    if host is None:
        pytest.skip("this machine has no address but loopback")
    port = free_udp_port()
    osc = f'host = "0.0.0.0"\nport = {port}\nallow_remote = true'
    config = daemon_config(jobs_config, tmp_path, port, osc=osc)
    with running_daemon(config, emulator.url, port), OscListener(host=host) as remote:
        tiny = b"/x\0\0,\0\0\0"
        remote.send_packet(port, tiny)
        remote.wait_for("/bridge/rejected")
        assert remote.bytes_heard <= 12 * len(tiny)  # was 480 bytes
        builder = OscBundleBuilder(IMMEDIATELY)
        for n in range(80):
            builder.add_content(OscMessageBuilder(f"/bridge/x{n:02}").build())
        bundle = builder.build().dgram
        before = remote.bytes_heard
        remote.send_packet(port, bundle)
        remote.send(port, "/bridge/ping")  # answers that are not refusals are never held back
        remote.wait_for("/bridge/pong")
        pong = len(packet("/bridge/pong", [("s", "0.1.0"), ("s", emulator.url)]))
        drawn = remote.bytes_heard - before - pong
    assert 1500 <= len(bundle) <= 1700
    assert drawn <= len(bundle)  # was 96 KB for a bundle of this size


def test_a_ping_with_or_without_its_type_tag_draws_one_pong_and_its_copy(
    jobs_config: Path, tmp_path: Path, listener: OscListener, emulator: EmulatorServer
) -> None:
    port, copy_port = free_udp_port(), free_udp_port()
    osc = f'port = {port}\nreply_to = "127.0.0.1:{copy_port}"'
    config = daemon_config(jobs_config, tmp_path, port, osc=osc)
    with OscListener(copy_port) as copy, running_daemon(config, emulator.url, port):
        # Answered as read, from a pong built once: the same as a ping the loop answers.
        for data in (b"/bridge/ping\0\0\0\0,\0\0\0", b"/bridge/ping\0\0\0\0"):
            listener.send_packet(port, data)
            assert listener.wait_for("/bridge/pong") == [__version__, emulator.url]
            assert copy.wait_for("/bridge/pong") == [__version__, emulator.url]
        listener.send(port, "/bridge/ping", 1)
        refusal = listener.wait_for("/bridge/rejected")
        assert refusal[0] == "/bridge/ping"
        listener.send(port, "/bridge/ping")  # nothing else came between
        listener.wait_for("/bridge/pong")
        copy.wait_for("/bridge/rejected")
        copy.wait_for("/bridge/pong")
        assert len(listener.of("/bridge/pong")) == 3
        # The harness's own pings, sent while the daemon started, may be answered late.
        assert len(copy.of("/bridge/pong")) >= 3
