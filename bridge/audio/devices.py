"""What PortAudio says about this machine's outputs, asked from a child process, and what
that means for a person: the words the doctor prints and a preview's error carries.

Loading PortAudio and asking it for devices can block for good on a broken sound server, or
abort the process (libasound asserts on some ALSA set-ups); a child can hang or die alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Final

PROBE_TIMEOUT: Final = 10.0  # seconds the child gets to answer

_SCRIPT: Final = """
import json
try:
    import sounddevice as sd
except OSError as exc:
    print(json.dumps({"missing": str(exc)}))
    raise SystemExit(0)
try:
    outputs = [d["name"] for d in sd.query_devices() if d["max_output_channels"] > 0]
    try:
        default = sd.query_devices(kind="output")["name"]
    except (sd.PortAudioError, ValueError):
        default = None
    print(json.dumps({"outputs": outputs, "default": default}))
except Exception as exc:
    print(json.dumps({"missing": f"{type(exc).__name__}: {exc}"}))
"""


def probe_audio(timeout: float = PROBE_TIMEOUT) -> dict[str, object]:
    """What PortAudio says, from a child process: {"missing": why}, {"hung": why},
    {"crashed": why}, or {"outputs": [names], "default": name or None}."""
    try:
        done = subprocess.run(  # noqa: S603 - this interpreter, running our own script
            [sys.executable, "-c", _SCRIPT],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"hung": f"PortAudio did not answer within {timeout:g} s"}
    lines = done.stdout.strip().splitlines()
    if not lines and _crashed(done.returncode):
        # Killed by a signal: PortAudio is there, and aborted while loading (libasound
        # asserts on some ALSA set-ups).
        return {"crashed": f"PortAudio crashed while loading (exit status {done.returncode})"}
    if not lines:
        return {"missing": done.stderr.strip()[-300:] or f"exit status {done.returncode}"}
    found: dict[str, object] = json.loads(lines[-1])
    return found


@dataclass(frozen=True)
class Outputs:
    """A probe's answer in words: can previews play, what was seen, and the fix if not."""

    playable: bool
    detail: str
    fix: str = ""

    def sentence(self) -> str:
        return f"{self.detail}; fix: {self.fix}"



def _crashed(returncode: int) -> bool:
    """A child that died of a crash: a negative status (the signal) on POSIX, an NTSTATUS
    error code such as 0xC0000005 (access violation) on Windows, which has no signals."""
    if os.name == "nt":
        return returncode & 0xFFFFFFFF >= 0xC0000000
    return returncode < 0

def judge(found: dict[str, object]) -> Outputs:
    """What a probe's answer (as `probe_audio` gives it) means for previews."""
    if "hung" in found or "crashed" in found:
        return Outputs(
            False,
            str(found.get("hung") or found["crashed"]),
            "check the sound server (PipeWire, PulseAudio, JACK); previews need it",
        )
    if "missing" in found:
        return Outputs(
            False,
            f"PortAudio cannot be used ({found['missing']}): previews cannot play",
            "install PortAudio: `apt install libportaudio2` (Debian, Ubuntu), "
            "`brew install portaudio` (macOS)",
        )
    if found.get("default"):
        return Outputs(True, f"default output device: {found['default']}")
    outputs = found.get("outputs") or []
    return Outputs(
        False,
        f"no default output device ({len(outputs) if isinstance(outputs, list) else 0} "
        "output(s) seen); previews need one",
        "connect or enable an output device, or choose a default one in the system settings",
    )
