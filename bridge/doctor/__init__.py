"""The checks of `producer-bridge doctor`: one `Check` per part of the set-up, each with the fix.

Each check is a function that takes what it checks (settings, and the peers it talks to as
callables), so the command wires the real ones and tests can wire others. A check returns
its verdict; `guarded` turns anything it raises by surprise into a failed line, so that one
broken check never hides the others.
"""

from bridge.doctor.live import AskLive, check_ableton
from bridge.doctor.machine import (
    IMPORT_SCRIPT,
    check_audio,
    check_drop,
    check_journal,
    check_midi,
    check_osc,
    check_reaper,
    find_import_script,
    reaper_resource_path,
)
from bridge.doctor.report import (
    FAIL,
    LABELS,
    OK,
    WARN,
    Check,
    Status,
    exit_code,
    guarded,
    merge,
    render,
)
from bridge.doctor.service import (
    Lookup,
    check_config,
    check_emulator,
    check_service,
    check_stager,
)

__all__ = [
    "FAIL",
    "IMPORT_SCRIPT",
    "LABELS",
    "OK",
    "WARN",
    "AskLive",
    "Check",
    "Lookup",
    "Status",
    "check_ableton",
    "check_audio",
    "check_config",
    "check_drop",
    "check_emulator",
    "check_journal",
    "check_midi",
    "check_osc",
    "check_reaper",
    "check_service",
    "check_stager",
    "exit_code",
    "find_import_script",
    "guarded",
    "merge",
    "reaper_resource_path",
    "render",
]
