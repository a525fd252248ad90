"""Every OSC address the daemon takes or sends, by name; the strings are the interface."""

from __future__ import annotations

from enum import StrEnum


class Osc(StrEnum):
    # Taken: requests.
    JOB = "/bridge/job"
    CREATE = "/bridge/create"
    REPLACE = "/bridge/replace"
    EXTEND = "/bridge/extend"
    COVER = "/bridge/cover"
    SWAP_SOUND = "/bridge/swap_sound"
    SWAP_VOCALS = "/bridge/swap_vocals"
    VARIATION = "/bridge/variation"
    # Taken: the controller's context, triggers and the rest.
    CONTEXT_PROJECT = "/bridge/context/project"
    CONTEXT_CLIP = "/bridge/context/clip"
    CONTEXT_SELECTION = "/bridge/context/selection"
    CONTEXT_PRESET = "/bridge/context/preset"
    CONTEXT_PROMPT = "/bridge/context/prompt"
    CONTEXT_PARAM = "/bridge/context/param"
    CONTEXT_CLEAR = "/bridge/context/clear"
    CONTEXT_GET = "/bridge/context/get"
    TRIGGER = "/bridge/trigger"
    CANCEL = "/bridge/cancel"
    STATUS = "/bridge/status"
    PREVIEW = "/bridge/preview"
    PREVIEW_STOP = "/bridge/preview/stop"
    PING = "/bridge/ping"
    CAPABILITIES = "/bridge/capabilities"
    # Sent.
    ACCEPTED = "/bridge/job/accepted"
    REJECTED = "/bridge/rejected"
    OK = "/bridge/ok"
    PROGRESS = "/bridge/job/progress"
    WAITING = "/bridge/job/waiting"
    DONE = "/bridge/job/done"
    FAILED = "/bridge/job/failed"
    JOB_STATUS = "/bridge/job/status"
    SUMMARY = "/bridge/status/summary"
    CONTEXT_STATE = "/bridge/context/state"
    PONG = "/bridge/pong"
    CAPABILITIES_STATE = "/bridge/capabilities/state"
