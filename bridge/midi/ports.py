"""MIDI inputs: hardware and virtual ports (python-rtmidi) and network peers (mido sockets).

Input specs, as written in `[midi] inputs` or on the command line:

- ``PORT NAME``: a port as `mido.get_input_names()` lists it (on ALSA the trailing
  ``client:port`` numbers, or the client name, may be left out, as mido allows);
- ``virtual:NAME``: a virtual input port other programs can send to (ALSA, CoreMIDI);
- ``socket:HOST:PORT``: a client of a mido socket server (``mido.sockets.PortServer``) that
  sends MIDI to its clients. Note that mido's own ``mido-serve`` script does the opposite (it
  plays what clients send it), so the peer is a small PortServer script; the tests use one.

An input that cannot be opened is a warning, not a failure: the daemon keeps running with
the others, and says why in its banner. Each open input has one reader thread that polls
its port and calls ``on_message(spec, msg)``; the caller hands the message to its own loop.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, Self

import mido
from mido.backends.rtmidi_utils import expand_alsa_port_name  # type: ignore[import-untyped]

from bridge.midi.quiet import alsa_lines
from bridge.resources import Closeable

__all__ = [
    "SOCKET_PREFIX",
    "VIRTUAL_PREFIX",
    "MidiInputs",
    "OnMessage",
    "list_inputs",
    "probe_inputs",
]

log = logging.getLogger(__name__)

SOCKET_PREFIX: Final = "socket:"
VIRTUAL_PREFIX: Final = "virtual:"
POLL_INTERVAL: Final = 0.005
CONNECT_TIMEOUT: Final = 3.0
JOIN_TIMEOUT: Final = 2.0

OnMessage = Callable[[str, mido.Message], None]

# python-rtmidi's errors derive from OSError (no backend, no ALSA sequencer), ValueError (bad
# port) or RuntimeError; a missing module is ImportError. Caught only where ports are opened.
_BACKEND_ERRORS: Final = (OSError, ValueError, RuntimeError, ImportError)


class _CannotOpen(Exception):
    """Why one input spec cannot be opened, worded for the user."""


def probe_inputs() -> tuple[list[str], str | None]:
    """The input port names the MIDI backend sees, and why there are none if it has none."""
    with alsa_lines() as alsa:
        try:
            return list(mido.get_input_names()), None
        except _BACKEND_ERRORS as exc:
            problem = exc
    return [], f"no MIDI backend on this machine ({_backend_said(problem, alsa)})"


def _backend_said(exc: BaseException, alsa: list[str]) -> str:
    """rtmidi's error, after what alsa-lib said about it (kept from the terminal)."""
    return "; ".join([*dict.fromkeys(alsa), f"rtmidi: {exc}"])


def list_inputs() -> list[str]:
    """The input port names the MIDI backend sees; empty, never an error, if it has none."""
    names, reason = probe_inputs()
    if reason is not None:
        log.info("cannot list MIDI inputs: %s", reason)
    return names


def _open_socket(spec: str) -> Any:
    host, _, port_text = spec.removeprefix(SOCKET_PREFIX).rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # [::1]:9080
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _CannotOpen(
            f"MIDI input {spec!r} is not a socket address; write socket:HOST:PORT, "
            "e.g. socket:127.0.0.1:9080"
        )
    # mido.sockets.connect() has no timeout: an unreachable host would hang start-up.
    try:
        sock = socket.create_connection((host, int(port_text)), timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise _CannotOpen(
            f"MIDI input {spec!r}: cannot connect ({exc}); is a mido socket server "
            f"listening on {host}:{port_text}?"
        ) from exc
    return _SocketInput(sock)


class _SocketInput:
    """A client of a mido socket server: the socket's bytes through mido's parser.

    Not mido's SocketPort: its file objects keep the descriptor, and the connection, open
    after close() for as long as anything (a logged traceback, say) still refers to the port.
    """

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._parser = mido.Parser()
        self.closed = False

    def iter_pending(self) -> Iterator[mido.Message]:
        while not self.closed:
            try:
                data = self._sock.recv(4096)
            except BlockingIOError:
                break
            if not data:
                self.close()  # the peer hung up; what it sent before still counts
                break
            self._parser.feed(data)
        yield from self._parser

    def close(self) -> None:
        self.closed = True
        self._sock.close()


def _open_virtual(spec: str) -> Any:
    name = spec.removeprefix(VIRTUAL_PREFIX)
    if not name:
        raise _CannotOpen(f"MIDI input {spec!r} needs a name: virtual:NAME")
    with alsa_lines() as alsa:
        try:
            return mido.open_input(name, virtual=True)
        except NotImplementedError as exc:
            raise _CannotOpen(
                f"MIDI input {spec!r}: this platform has no virtual MIDI ports (Windows needs "
                "a loopback driver such as loopMIDI; then name its port instead)"
            ) from exc
        except _BACKEND_ERRORS as exc:
            problem = exc
    raise _CannotOpen(
        f"MIDI input {spec!r}: virtual MIDI ports need ALSA/CoreMIDI; this machine has no "
        f"MIDI backend ({_backend_said(problem, alsa)})"
    ) from problem


def _open_named(spec: str) -> Any:
    names, reason = probe_inputs()
    if reason is not None:
        raise _CannotOpen(
            f"MIDI input {spec!r} cannot be opened: {reason}; on a machine without MIDI "
            "hardware, use socket:HOST:PORT to reach a mido socket server instead"
        )
    # mido matches ALSA names without their client:port numbers; accept the same here.
    if expand_alsa_port_name(names, spec) not in names:
        available = ", ".join(repr(name) for name in names) or "none"
        raise _CannotOpen(f"MIDI input {spec!r} not found; available: {available}")
    with alsa_lines() as alsa:
        try:
            return mido.open_input(spec)
        except _BACKEND_ERRORS as exc:
            problem = exc
    raise _CannotOpen(
        f"MIDI input {spec!r} cannot be opened ({_backend_said(problem, alsa)})"
    ) from problem


def _open_port(spec: str) -> Any:
    if spec.startswith(SOCKET_PREFIX):
        return _open_socket(spec)
    if spec.startswith(VIRTUAL_PREFIX):
        return _open_virtual(spec)
    return _open_named(spec)


class _Reader:
    """One port and the thread that polls it; the thread alone reads the port."""

    def __init__(
        self, spec: str, port: Any, on_message: OnMessage, on_lost: Callable[[str], None]
    ) -> None:
        self.spec = spec
        self._port = port
        self._on_message = on_message
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"midi-in {spec}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pending = list(self._port.iter_pending())
            except Exception as exc:  # any port failure ends this input, never the daemon
                self._lost(f"MIDI input {self.spec!r} failed ({exc}); no longer listening to it")
                return
            for msg in pending:
                self._deliver(msg)
            # mido's SocketPort closes itself when the peer hangs up.
            if self._port.closed:
                self._lost(
                    f"MIDI input {self.spec!r} disconnected (the peer closed the connection); "
                    "restart the bridge once the peer is back"
                )
                return
            self._stop.wait(POLL_INTERVAL)

    def _deliver(self, msg: mido.Message) -> None:
        try:
            self._on_message(self.spec, msg)
        except Exception:
            # An edge handler's bug must not silence the pad for the rest of the session.
            log.exception("MIDI input %r: handling %s failed", self.spec, msg)

    def _lost(self, text: str) -> None:
        if not self._stop.is_set():
            self._on_lost(text)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT)
            if self._thread.is_alive():
                log.warning("MIDI input %r: reader thread did not stop", self.spec)
        with contextlib.suppress(OSError):
            self._port.close()


class MidiInputs(Closeable):
    """Every configured MIDI input, open at once; a context manager."""

    def __init__(self, specs: Sequence[str], on_message: OnMessage) -> None:
        self.specs = list(specs)
        self.opened: list[str] = []
        self.problems: list[str] = []
        self._on_message = on_message
        self._readers: list[_Reader] = []
        self._lock = threading.Lock()

    def open(self) -> Self:
        """Open every spec; one that fails is logged and listed in `problems`."""
        if self._readers:
            return self
        self.opened, self.problems = [], []
        for spec in dict.fromkeys(self.specs):
            try:
                port = _open_port(spec)
            except _CannotOpen as exc:
                self._problem(str(exc))
                continue
            self._readers.append(_Reader(spec, port, self._on_message, self._problem))
            self.opened.append(spec)
            log.info("MIDI input %r open", spec)
        return self

    def _problem(self, text: str) -> None:
        log.warning("%s", text)
        with self._lock:
            self.problems.append(text)

    def close(self) -> None:
        readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()

    def __enter__(self) -> Self:
        return self.open()
