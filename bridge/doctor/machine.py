"""Checks of this machine: the OSC port, MIDI, the drop folder, audio, REAPER, the journal."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from bridge.audio.devices import judge
from bridge.config import (
    DropSettings,
    OscSettings,
    ReaperSettings,
)
from bridge.doctor.report import FAIL, OK, WARN, Check, merge
from bridge.errors import (
    JournalError,
)
from bridge.net import address_in_use, is_loopback

log = logging.getLogger(__name__)

IMPORT_SCRIPT: Final = "ProducerBridge - Import results.lua"


def check_osc(settings: OscSettings, ping: Callable[[str, int], bool]) -> Check:
    host, port = settings.host, settings.port
    where = f"{host}:{port}"
    if not is_loopback(host) and not settings.allow_remote:
        return Check(
            "osc",
            FAIL,
            f"osc.host {host} lets other machines send jobs, and serve refuses it",
            'set osc.allow_remote = true if you mean it, or osc.host = "127.0.0.1"',
        )
    if port == 0:
        return Check(
            "osc",
            WARN,
            "osc.port = 0: the daemon takes another port at each start, which DAWs cannot know",
            "set osc.port to a fixed port, e.g. 9110",
        )
    try:
        _bind_udp(host, port)
    except OSError as exc:
        if not address_in_use(exc):
            return Check(
                "osc",
                FAIL,
                f"cannot listen on {where} (UDP): {exc.strerror or exc}",
                'set osc.host to an address of this machine, e.g. "127.0.0.1"',
            )
        if ping(_loopback_for(host), port):
            return Check("osc", OK, f"a producer-bridge daemon is running on {where}")
        return Check(
            "osc",
            FAIL,
            f"{where} (UDP) is taken by another program",
            "stop that program, or set osc.port to a free port (and the same port in the "
            "DAW's OSC set-up)",
        )
    return Check("osc", OK, f"{where} (UDP) is free for the daemon")


def _bind_udp(host: str, port: int) -> None:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.bind(address)


def _loopback_for(host: str) -> str:
    # A daemon on "every address" is reached here through loopback.
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104


# MIDI -----------------------------------------------------------------------------------
def check_midi(
    specs: Sequence[str],
    probe: Callable[[], tuple[list[str], str | None]],
    open_inputs: Callable[[Sequence[str]], list[str]],
) -> Check:
    names, reason = probe()
    seen = reason or "available: " + (", ".join(repr(name) for name in names) or "none")
    if not specs:
        return Check("midi", OK, f"no MIDI inputs configured; {seen}")
    problems = open_inputs(specs)
    if problems:
        listed = "" if "available:" in " ".join(problems) or reason else f" ({seen})"
        return Check(
            "midi",
            WARN,
            "; ".join(problems) + listed,
            "correct midi.inputs (`producer-bridge midi-learn` lists the ports; virtual:NAME "
            "and socket:HOST:PORT work without hardware); the daemon runs without it meanwhile",
        )
    return Check("midi", OK, f"opened {', '.join(repr(spec) for spec in specs)}")


# drop folder ----------------------------------------------------------------------------
def check_drop(settings: DropSettings) -> Check:
    from bridge.watch.drop import CLIP_ACTIONS, Folder

    if not settings.enabled:
        return Check("drop folder", OK, "off (drop.enabled = false)")
    path = settings.path()
    if path.exists() and not path.is_dir():
        return Check("drop folder", FAIL, f"{path} is not a folder", "set drop.folder to a folder")
    existed, problem = _probe_folder(path)
    if problem is not None:
        return Check(
            "drop folder",
            FAIL,
            problem,
            "set drop.folder to a folder you can write, or fix its permissions",
        )
    later = "start `producer-bridge serve` once: it creates the folder and its subfolders"
    if not existed:
        return Check("drop folder", WARN, f"{path} can be created, but does not exist yet", later)
    names = (*CLIP_ACTIONS, *Folder)
    absent = [name for name in names if not (path / name).is_dir()]
    if absent:
        lacking = ", ".join(f"{name}/" for name in absent)
        return Check("drop folder", WARN, f"{path} is writable but lacks {lacking}", later)
    return Check("drop folder", OK, f"{path} is writable, with its subfolders")


def _probe_folder(path: Path) -> tuple[bool, str | None]:
    """(whether `path` existed, why it cannot be created or written in). What had to be
    created to find out is removed again: the doctor leaves nothing behind."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Hidden, so that a running daemon's watcher ignores it.
        fd, name = tempfile.mkstemp(prefix=".doctor-", dir=path)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return (
            not missing,
            f"cannot {'create' if missing else 'write in'} {path}: {exc.strerror or exc}",
        )
    finally:
        for folder in missing:
            with contextlib.suppress(OSError):
                folder.rmdir()
    return not missing, None


# audio output ---------------------------------------------------------------------------
def check_audio(probe: Callable[[], dict[str, object]]) -> Check:
    outputs = judge(probe())
    return Check("audio output", OK if outputs.playable else WARN, outputs.detail, outputs.fix)


# REAPER ---------------------------------------------------------------------------------
def reaper_resource_path(platform: str = sys.platform, home: Path | None = None) -> Path:
    """REAPER's default resource folder (Options → Show REAPER resource path)."""
    home = home or Path.home()
    if platform == "darwin":
        return home / "Library" / "Application Support" / "REAPER"
    if platform == "win32":
        appdata = os.environ.get("APPDATA")
        return (Path(appdata) if appdata else home / "AppData" / "Roaming") / "REAPER"
    return home / ".config" / "REAPER"


def find_import_script(scripts: Path) -> Path | None:
    """The import script in Scripts/, by hand (Scripts/<folder>/) or by ReaPack
    (Scripts/<repository>/<category>/)."""
    for pattern in (IMPORT_SCRIPT, f"*/{IMPORT_SCRIPT}", f"*/*/{IMPORT_SCRIPT}"):
        found = sorted(scripts.glob(pattern))
        if found:
            return found[0]
    return None


def check_reaper(settings: ReaperSettings, resource: Path) -> Check:
    scripts = resource / "Scripts"
    found = find_import_script(scripts) if scripts.is_dir() else None
    how = f"install the scripts with `producer-bridge install reaper` (into {scripts}) or ReaPack"
    parts = []
    if found is not None:
        parts.append(Check("reaper", OK, f"ProducerBridge scripts installed in {found.parent}"))
    elif resource.is_dir():
        parts.append(
            Check(
                "reaper", WARN, f"no ProducerBridge scripts in {scripts}", how + " (README: REAPER)"
            )
        )
    else:
        detail = f"no REAPER at {resource}; for REAPER, {how} (README: REAPER)"
        parts.append(Check("reaper", OK, detail))
    if settings.import_action and not settings.osc:
        parts.append(
            Check(
                "reaper",
                WARN,
                "reaper.import_action is set without reaper.osc: nothing triggers the import",
                'set reaper.osc = "127.0.0.1:8000" (REAPER\'s OSC control surface port)',
            )
        )
    elif settings.osc and not settings.import_action:
        parts.append(
            Check(
                "reaper",
                WARN,
                "reaper.osc is set without reaper.import_action: results are not imported "
                "on their own",
                "copy the command id of `ProducerBridge - Import results` into "
                "reaper.import_action",
            )
        )
    return merge("reaper", parts)


# journal --------------------------------------------------------------------------------
def check_journal(path: Path) -> Check:
    from bridge.jobs.state import UNFINISHED, JobStatus
    from bridge.journal import Journal

    fix = "fix the permissions of its folder, or set jobs.journal to a file you can write"
    if not path.exists():
        # Opening would create it: prove that it can be, without leaving it behind.
        _, problem = _probe_folder(path.parent)
        if problem is not None:
            return Check("journal", FAIL, problem, fix)
        return Check("journal", OK, f"{path} does not exist yet: the first job creates it")
    try:
        with Journal(path) as journal:
            statuses = [job.status for job in journal.jobs()]
    except JournalError as exc:
        return Check("journal", FAIL, exc.message, fix)
    unfinished = sum(status in UNFINISHED for status in statuses)
    attention = statuses.count(JobStatus.NEEDS_ATTENTION)
    detail = (
        f"{path}: {len(statuses)} job(s), {unfinished} unfinished, {attention} need(s) attention"
    )
    if attention:
        return Check(
            "journal",
            WARN,
            detail,
            "producer-bridge jobs (then `jobs show ID`, and `jobs retry ID` once checked)",
        )
    return Check("journal", OK, detail)
