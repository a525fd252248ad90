"""Ableton Live as a daemon input: a trigger reads Live's selection and clip first, and with
our remote script a finished job's results go back onto Live's timeline.

Live is optional. When it is enabled but cannot be reached, the other inputs still work,
the banner says why, and triggers are refused with the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bridge.ableton.live import AbletonLink
from bridge.ableton.script_link import RemoteScriptLink
from bridge.config import AbletonSettings
from bridge.daemon.banner import Banner
from bridge.daemon.context import Context
from bridge.daemon.intake import LiveReader
from bridge.daemon.live_script import Placement, ScriptInput
from bridge.errors import AbletonError
from bridge.jobs.state import Job

Placer = Callable[[Job], Awaitable[Placement | None]]


@dataclass(frozen=True)
class LiveInput:
    read: LiveReader
    place: Placer | None = None
    script: ScriptInput | None = None  # our remote script: MIDI from Live goes through it


async def open_live(
    settings: AbletonSettings, stack: contextlib.AsyncExitStack, banner: Banner
) -> LiveInput | None:
    """What fills a trigger's context from Live (None when Live is not enabled); the link
    closes with `stack`."""
    if not settings.enabled:
        banner.ableton(None)
        return None
    if settings.link == "remote-script":
        return await _open_script(settings, stack, banner)
    link = AbletonLink(
        settings.host, settings.port, listen_port=settings.listen_port, timeout=settings.timeout
    )
    try:
        await stack.enter_async_context(link)
    except AbletonError as exc:
        banner.warn(exc.message)
        banner.ableton(settings)
        return LiveInput(_unavailable(exc.message))
    banner.ableton(settings)

    async def read(context: Context) -> Context:
        selection = await link.selection()
        clip = context.clip
        if selection.clip_path:
            # Live gives no timeline position for a clip: it is taken to start at 0 s.
            clip = {"path": selection.clip_path, "itemPosition": 0.0}
        return replace(
            context,
            selection={"start": selection.start_seconds, "end": selection.end_seconds},
            clip=clip,
        )

    return LiveInput(read)


async def _open_script(
    settings: AbletonSettings, stack: contextlib.AsyncExitStack, banner: Banner
) -> LiveInput:
    link = await stack.enter_async_context(RemoteScriptLink(settings.script_port, settings.timeout))
    try:
        hello = await link.hello()
    except AbletonError as exc:
        banner.warn(f"{exc.message}; triggers ask Live again")
        banner.ableton(settings, None)
    else:
        banner.ableton(settings, hello.live)
    script = ScriptInput(link)
    touch = asyncio.create_task(script.keep_in_touch())
    stack.push_async_callback(_cancel, touch)
    return LiveInput(script.read, script.place, script)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _unavailable(reason: str) -> LiveReader:
    async def read(context: Context) -> Context:
        raise AbletonError(f"Ableton Live cannot be reached: {reason}")

    return read
