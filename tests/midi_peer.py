"""A network MIDI peer for tests: a mido socket server on loopback."""

from __future__ import annotations

import mido

from tests.waiting import wait_until

WAIT = 5.0


class Peer:
    """A network MIDI peer: a mido socket server that sends to every client connected."""

    def __init__(self) -> None:
        self.server = mido.sockets.PortServer("127.0.0.1", 0)
        # mido names the server after the port it was asked for (0), so ask the socket.
        self.port: int = self.server._socket.getsockname()[1]
        self.spec = f"socket:127.0.0.1:{self.port}"

    def wait_for_clients(self, count: int = 1) -> None:
        # PortServer.poll() would accept too, but then blocks for good once a client is
        # connected (MultiPort._receive asks for a blocking receive), so accept here.
        def connected() -> bool:
            client = self.server.accept(block=False)
            if client is not None:
                self.server.ports.append(client)
            return len(self.server.ports) >= count

        wait_until(connected, within=WAIT, what=f"{count} client(s) to connect to {self.spec}")

    def send(self, *messages: mido.Message) -> None:
        for msg in messages:
            self.server.send(msg)

    def close(self) -> None:
        self.server.close()
        # A closed SocketPort keeps its descriptor (and the connection) until its file
        # objects are freed: drop them so that the client sees the hang-up now.
        self.server.ports.clear()
