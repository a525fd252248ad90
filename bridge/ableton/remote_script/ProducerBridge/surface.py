"""The control surface Live runs: it reads the daemon's questions on Live's display timer."""

from typing import Any

import Live

from .placing import place, version_text
from .reading import snapshot
from .wire import PORT, Endpoint

SCRIPT_VERSION = 1


class ProducerBridge:
    """What Live calls on a control surface; everything else is answered by doing nothing."""

    def __init__(self, c_instance: Any) -> None:
        self._c_instance = c_instance
        self._song = c_instance.song()
        self._app = Live.Application.get_application()
        self._endpoint: Endpoint | None = None
        try:
            self._endpoint = Endpoint(self._handle)
        except OSError as exc:
            c_instance.show_message(f"ProducerBridge: cannot listen on UDP port {PORT}: {exc}")
        else:
            c_instance.show_message(f"ProducerBridge: ready for producer-bridge (UDP {PORT})")

    def _handle(self, message: dict[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        if op == "hello":
            return {"live": version_text(self._app), "script": SCRIPT_VERSION}
        if op == "read":
            return snapshot(self._song)
        if op == "place":
            return place(self._song, self._app, message)
        raise ValueError(f"unknown question {op!r}")

    # Live calls these --------------------------------------------------------------------

    def update_display(self) -> None:
        """Live's timer, about every 100 ms: answer what has arrived, without waiting."""
        if self._endpoint is not None:
            self._endpoint.poll()

    def disconnect(self) -> None:
        if self._endpoint is not None:
            self._endpoint.close()
            self._endpoint = None

    def refresh_state(self) -> None:
        pass

    def build_midi_map(self, midi_map_handle: Any) -> None:
        """Take every note and CC of the controller chosen as this surface's Input: the
        daemon's [midi.map] says what each one does, as for a controller it reads itself."""
        handle = self._c_instance.handle()
        for channel in range(16):
            for number in range(128):
                Live.MidiMap.forward_midi_note(handle, midi_map_handle, channel, number)
                Live.MidiMap.forward_midi_cc(handle, midi_map_handle, channel, number)

    def receive_midi(self, midi_bytes: Any) -> None:
        told = self._endpoint is not None and self._endpoint.tell(
            {"op": "midi", "bytes": [int(b) for b in midi_bytes]}
        )
        if not told:
            self._c_instance.show_message("ProducerBridge: producer-bridge is not running")

    def connect_script_instances(self, instances: Any) -> None:
        pass

    def can_lock_to_devices(self) -> bool:
        return False

    def suggest_input_port(self) -> str:
        return ""

    def suggest_output_port(self) -> str:
        return ""
