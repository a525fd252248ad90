"""Reading Live's loop region, tempo and selected clip through AbletonOSC, over real UDP."""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections.abc import Iterator
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.ableton import AbletonLink, beats_to_seconds, loop_selection, seconds_to_beats
from bridge.ableton.live import FILE_PATH, IS_AUDIO_CLIP, LOOP_START, TEMPO, TEST
from bridge.errors import AbletonError, BridgeError
from tests.conftest import need_tool
from tests.fake_live import FakeLive, free_udp_port, osc
from tests.waiting import wait_until_async

CLIP_QUERIES = ("/live/clip_slot/get/has_clip", IS_AUDIO_CLIP, FILE_PATH)


@pytest.fixture
def live() -> Iterator[FakeLive]:
    with FakeLive(reply_port=free_udp_port()) as fake:
        yield fake


def link_to(live: FakeLive, timeout: float = 1.0) -> AbletonLink:
    return AbletonLink(port=live.port, listen_port=live.reply_port, timeout=timeout)


async def received(live: FakeLive, address: str) -> None:
    await wait_until_async(
        lambda: address in live.addresses(), what=f"the fake Live to receive {address}"
    )


def send_to(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for datagram in datagrams:
            sender.sendto(datagram, ("127.0.0.1", port))


def closest(value: float, exact: Fraction) -> bool:
    """`value` is the float nearest to `exact` (one correctly rounded operation)."""
    return abs(Fraction(value) - exact) <= Fraction(math.ulp(value)) / 2


# -- the selection -------------------------------------------------------------------------


async def test_loop_8_to_16_beats_at_120_bpm_is_4_to_8_seconds(live: FakeLive) -> None:
    live.state.loop_start, live.state.loop_length = 8.0, 8.0
    live.state.clips = {(0, 0): "/Users/me/Music/take 1.wav"}
    async with link_to(live) as link:
        selection = await link.selection()
    assert (selection.start_seconds, selection.end_seconds) == (4.0, 8.0)
    assert selection.duration_seconds == 4.0
    assert (selection.tempo, selection.loop_start_beats, selection.loop_length_beats) == (
        120.0,
        8.0,
        8.0,
    )
    assert selection.clip_path == "/Users/me/Music/take 1.wav"


async def test_odd_tempo_is_converted_with_one_rounding(live: FakeLive) -> None:
    live.state.tempo, live.state.loop_start, live.state.loop_length = 93.5, 8.0, 8.0
    async with link_to(live) as link:
        selection = await link.selection()
    assert selection.tempo == 93.5  # exact in OSC's 32-bit floats
    assert closest(selection.start_seconds, Fraction(8 * 60) / Fraction(93.5))
    assert closest(selection.end_seconds, Fraction(16 * 60) / Fraction(93.5))
    assert selection.end_seconds == pytest.approx(10.26737967914438)


async def test_selected_audio_clip_gives_its_path(live: FakeLive) -> None:
    live.state.selected = (2, 3)
    live.state.clips = {(2, 3): "/Music/Bässe & Drums/loop.aif", (0, 0): "/other.wav"}
    async with link_to(live) as link:
        assert (await link.selection()).clip_path == "/Music/Bässe & Drums/loop.aif"
    assert (FILE_PATH, (2, 3)) in live.received


async def test_no_selected_clip_slot_gives_no_path(live: FakeLive) -> None:
    # A return or master track selected: AbletonOSC answers /live/error, not a reply.
    live.state.selected = None
    live.state.clips = {(0, 0): "/a.wav"}
    async with link_to(live) as link:
        selection = await link.selection()
    assert selection.clip_path is None
    assert selection.start_seconds == 0.0
    assert not set(CLIP_QUERIES) & set(live.addresses())


async def test_empty_selected_slot_gives_no_path(live: FakeLive) -> None:
    live.state.selected = (1, 1)
    async with link_to(live) as link:
        assert (await link.selection()).clip_path is None
    assert IS_AUDIO_CLIP not in live.addresses()


async def test_midi_clip_gives_no_path(live: FakeLive) -> None:
    live.state.clips = {(0, 0): ""}
    async with link_to(live) as link:
        assert (await link.selection()).clip_path is None
    assert FILE_PATH not in live.addresses()


async def test_refused_loop_names_every_problem(live: FakeLive) -> None:
    live.state.tempo, live.state.loop_length = 0.0, 0.0
    async with link_to(live) as link:
        with pytest.raises(AbletonError) as caught:
            await link.selection()
    assert "tempo is 0.0 bpm" in caught.value.message
    assert "loop length is 0.0 beats" in caught.value.message


async def test_reply_of_the_wrong_type_is_refused(live: FakeLive) -> None:
    live.state.tempo = "fast"  # type: ignore[assignment]
    async with link_to(live) as link:
        with pytest.raises(AbletonError, match=r"/live/song/get/tempo with \('fast',\)"):
            await link.selection()


async def test_live_error_for_a_lone_query_is_reported(live: FakeLive) -> None:
    async with link_to(live, timeout=5.0) as link:
        started = time.monotonic()
        with pytest.raises(AbletonError, match=r"could not answer .*NoneType"):
            await link.query(IS_AUDIO_CLIP, 5, 5)
        assert time.monotonic() - started < 1.0  # did not wait for the timeout


# -- the wire ------------------------------------------------------------------------------


async def test_silent_live_times_out_with_a_hint(live: FakeLive) -> None:
    live.silent = True
    async with link_to(live, timeout=0.3) as link:
        started = time.monotonic()
        with pytest.raises(AbletonError) as caught:
            await link.selection()
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.0
    message = caught.value.message
    assert "did not answer" in message
    assert "within 0.3 s" in message
    assert "Control Surface: AbletonOSC" in message


async def test_taken_listen_port_is_named(live: FakeLive) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        link = AbletonLink(port=live.port, listen_port=port)
        with pytest.raises(AbletonError) as caught:
            await link.open()
    message = caught.value.message
    assert f"UDP port {port}" in message
    assert "another program" in message
    assert "ableton.listen_port" in message
    assert isinstance(caught.value, BridgeError)


async def test_concurrent_queries_get_their_own_replies() -> None:
    # Answered in batches, last-first: only matching by address and ids can sort them out.
    with FakeLive(reply_port=free_udp_port(), tick=0.05, reverse=True) as live:
        live.state.clips = {(t, c): f"/clips/{t}-{c}.wav" for t in range(3) for c in range(3)}
        live.state.tempo, live.state.loop_start = 97.0, 4.0
        slots = [(t, c) for t in range(3) for c in range(3)]
        async with link_to(live) as link:
            replies = await asyncio.gather(
                *(link.query(FILE_PATH, t, c) for t, c in slots),
                link.query(TEMPO),
                link.query(LOOP_START),
                link.query(TEMPO),
            )
    assert replies[: len(slots)] == [(t, c, f"/clips/{t}-{c}.wav") for t, c in slots]
    assert replies[len(slots) :] == [(97.0,), (4.0,), (97.0,)]


async def test_stray_and_malformed_packets_are_ignored(live: FakeLive) -> None:
    live.state.loop_start = 2.0
    async with link_to(live) as link:
        await link.ping()
        good = osc(TEMPO, 120.0)
        send_to(
            live.reply_port,
            b"",
            b"not osc at all",
            b"\xff\xfe\x00\x01",
            good[:10],  # truncated
            good[:-4],  # argument missing
            b"#bundle\x00\x00\x00",  # broken bundle
            b"/live/x\x00,\xff\x00\x00",  # odd type tag
            osc(TEMPO, 999.0),  # an answer to nothing
            osc(FILE_PATH, "a", "b", "/x.wav"),  # ids that are not ids
            osc("/live/song/beat", 3),  # a listener we never asked for
        )
        await asyncio.sleep(0.05)
        selection = await link.selection()
    assert selection.tempo == 120.0
    assert selection.start_seconds == 1.0


async def test_closed_link_refuses_queries_and_closes_twice(live: FakeLive) -> None:
    link = link_to(live)
    await link.open()
    assert link.listen_address == ("127.0.0.1", live.reply_port)
    await link.aclose()
    link.close()
    await link.aclose()
    with pytest.raises(AbletonError, match="not open"):
        await link.query(TEMPO)


async def test_closing_fails_a_waiting_query(live: FakeLive) -> None:
    live.silent = True
    async with link_to(live, timeout=5.0) as link:
        waiting = asyncio.create_task(link.query(TEMPO))
        await received(live, TEMPO)
        link.close()
        with pytest.raises(AbletonError, match="closed"):
            await waiting


async def test_hostname_is_resolved_and_listens_on_loopback(live: FakeLive) -> None:
    async with AbletonLink("localhost", live.port, live.reply_port) as link:
        await link.ping()
        assert link.listen_address[0] == "127.0.0.1"


async def test_oscsend_stray_is_ignored_and_its_reply_is_read(live: FakeLive) -> None:
    oscsend = need_tool("oscsend", "liblo-tools")

    async def run(*args: str) -> None:
        process = await asyncio.create_subprocess_exec(oscsend, "127.0.0.1", *args)
        assert await process.wait() == 0

    async with link_to(live, timeout=3.0) as link:
        port = str(live.reply_port)
        await run(port, "/live/song/get/tempo", "f", "1.5")
        await run(port, "/some/controller/fader", "if", "3", "0.25")
        assert (await link.selection()).tempo == 120.0
        # A reply built by liblo rather than python-osc is read all the same.
        live.silent = True
        waiting = asyncio.create_task(link.query(TEST))
        await received(live, TEST)
        await run(port, TEST, "s", "ok")
        assert await waiting == ("ok",)


# -- timing, pure --------------------------------------------------------------------------


def test_beats_to_seconds() -> None:
    assert beats_to_seconds(8, 120) == 4.0
    assert beats_to_seconds(1, 60) == 1.0
    assert beats_to_seconds(0, 93.5) == 0.0
    assert seconds_to_beats(4.0, 120) == 8.0


@pytest.mark.parametrize(
    ("tempo", "start", "length", "fragments"),
    [
        (0.0, 0.0, 4.0, ["tempo is 0.0"]),
        (-120.0, 0.0, 4.0, ["tempo is -120.0"]),
        (math.nan, 0.0, 4.0, ["tempo is nan"]),
        (math.inf, 0.0, 4.0, ["tempo is inf"]),
        (120.0, 0.0, 0.0, ["loop length is 0.0"]),
        (120.0, 0.0, -1.0, ["loop length is -1.0"]),
        (120.0, -4.0, 4.0, ["loop start is -4.0"]),
        (120.0, math.nan, math.inf, ["loop start is nan", "loop length is inf"]),
        (0.0, 1.0, 0.0, ["tempo is 0.0", "loop length is 0.0"]),
    ],
)
def test_unusable_loops_are_refused(
    tempo: float, start: float, length: float, fragments: list[str]
) -> None:
    with pytest.raises(AbletonError) as caught:
        loop_selection(tempo, start, length)
    for fragment in fragments:
        assert fragment in caught.value.message


tempos = st.floats(min_value=20.0, max_value=999.0)
beats = st.floats(min_value=0.0, max_value=1e6)


@given(beats, tempos)
def test_beats_seconds_round_trip(value: float, tempo: float) -> None:
    back = seconds_to_beats(beats_to_seconds(value, tempo), tempo)
    assert back == pytest.approx(value, rel=1e-12, abs=1e-12)


@given(beats, beats, tempos)
def test_beats_to_seconds_is_monotonic(a: float, b: float, tempo: float) -> None:
    low, high = sorted((a, b))
    assert beats_to_seconds(low, tempo) <= beats_to_seconds(high, tempo)


@given(beats, st.floats(min_value=1 / 64, max_value=1e4), tempos)
def test_selection_spans_the_loop(start: float, length: float, tempo: float) -> None:
    selection = loop_selection(tempo, start, length)
    assert 0.0 <= selection.start_seconds < selection.end_seconds
    # Each end is rounded on its own (and start + length once in beats), so far into a long
    # set a short loop keeps an absolute precision of a few ulps (well under a nanosecond),
    # not a relative one.
    exact = Fraction(length) * 60 / Fraction(tempo)
    assert abs(Fraction(selection.duration_seconds) - exact) <= 3 * math.ulp(selection.end_seconds)
