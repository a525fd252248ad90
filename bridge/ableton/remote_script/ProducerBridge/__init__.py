"""ProducerBridge: Ableton Live's end of producer-bridge.

Choose it as a Control Surface in Live's Settings (Link, Tempo & MIDI). It answers the
producer-bridge daemon over loopback UDP (JSON, port 11041): what clip is in view, the loop
brace and tempo; and it places finished results on the Arrangement timeline (Live 12.0.5+).
Standard library only; it never blocks Live and does not mind a daemon that is not running.
"""

from typing import Any

from .surface import ProducerBridge


def create_instance(c_instance: Any) -> ProducerBridge:
    return ProducerBridge(c_instance)
