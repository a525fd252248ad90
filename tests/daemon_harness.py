"""Running `producer-bridge serve` for a test, and hearing what it says over real UDP."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bridge.daemon.client import DaemonClient, NoDaemon
from bridge.osc.transport import build, parse
from tests.fake_live import free_udp_port
from tests.waiting import wait_until

__all__ = ["OscListener", "daemon_config", "free_udp_port", "running_daemon", "serve_command"]

Message = tuple[str, list[Any]]


class OscListener:
    """A real OSC receiver on a UDP port: records every message the daemon sends it."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(0.05)
        self.port = int(self._sock.getsockname()[1])
        self.messages: list[Message] = []  # everything heard, in order
        self.bytes_heard = 0  # the size of every packet heard, added up
        self._unclaimed: list[Message] = []  # what no wait_for has returned yet
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._read, name="osc-listener", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stopping.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._changed:
                self.bytes_heard += len(data)
                heard = parse(data)
                self.messages.extend(heard)
                self._unclaimed.extend(heard)
                self._changed.notify_all()

    def send(self, port: int, address: str, *args: Any) -> None:
        """Send from this listener's own port, so that answers to the sender come back here."""
        self.send_packet(port, build(address, args))

    def send_packet(self, port: int, data: bytes) -> None:
        """Send a packet as it is, from this listener's own port."""
        self._sock.sendto(data, ("127.0.0.1", port))

    def wait_for(
        self,
        address: str,
        match: Callable[[list[Any]], bool] = lambda args: True,
        timeout: float = 30.0,
    ) -> list[Any]:
        """The arguments of the oldest message to `address` that `match`es and that no
        earlier wait_for returned: each message is returned once, so waiting twice for
        `/bridge/ok` waits for two of them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, (found, args) in enumerate(self._unclaimed):
                    if found == address and match(args):
                        del self._unclaimed[index]
                        return args
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {address} within {timeout} s; heard: {self.messages[-10:]}"
                    )
                self._changed.wait(left)

    def of(self, address: str) -> list[list[Any]]:
        with self._changed:
            return [args for found, args in self.messages if found == address]

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
        self._sock.close()

    def __enter__(self) -> OscListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def daemon_config(base: Path, tmp_path: Path, osc_port: int, **sections: str) -> Path:
    """The jobs_config of conftest plus the daemon's own sections."""
    text = base.read_text().replace("[jobs]\n", f'[jobs]\naudio_roots = ["{tmp_path}"]\n')
    # A request without a project must not write into the folder the tests run from.
    text = text.replace("[output]\n", f'[output]\ndir = "{tmp_path / "default-project"}"\n')
    extra = {
        "osc": f"port = {osc_port}",
        "drop": f'folder = "{tmp_path / "drop"}"\nsettle = 0.2\npair_wait = 0.3',
        **sections,
    }
    for name, body in extra.items():
        text += f"\n[{name}]\n{body}\n"
    path = tmp_path / "daemon.toml"
    path.write_text(text)
    return path


def serve_command(config: Path, api_url: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bridge",
        "--config",
        str(config),
        "serve",
        "--api-url",
        api_url,
        *args,
    ]


def wait_until_serving(served: Served, port: int, timeout: float = 20.0) -> None:
    with DaemonClient("127.0.0.1", port) as client:

        def answering() -> bool:
            if served.process.poll() is not None:
                served.stop()
                raise AssertionError(f"serve exited with {served.process.returncode}: {served.err}")
            try:
                client.ping()
            except NoDaemon:
                return False
            return True

        wait_until(answering, within=timeout, what="serve to answer /bridge/ping")


class Served:
    """A daemon process; `out` and `err` hold what it printed once it has stopped."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.out = ""
        self.err = ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        self.out += out or ""
        self.err += err or ""
        return self.process.returncode


@contextmanager
def running_daemon(config: Path, api_url: str, port: int, *args: str) -> Iterator[Served]:
    """`producer-bridge serve` in a subprocess, stopped with SIGTERM at the end."""
    served = Served(
        subprocess.Popen(
            serve_command(config, api_url, *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    try:
        wait_until_serving(served, port)
        yield served
    finally:
        if served.process.returncode is None:
            served.stop()
