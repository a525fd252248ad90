"""Ableton Live as a daemon input: a trigger reads Live's loop region and clip first.

Live is optional. When it is enabled but cannot be reached, the other inputs still work,
the banner says why, and triggers are refused with the same reason.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

from bridge.ableton.live import AbletonLink
from bridge.config import AbletonSettings
from bridge.daemon.banner import Banner
from bridge.daemon.context import Context
from bridge.daemon.intake import LiveReader
from bridge.errors import AbletonError


async def open_live(
    settings: AbletonSettings, stack: contextlib.AsyncExitStack, banner: Banner
) -> LiveReader | None:
    """What fills a trigger's context from Live (None when Live is not enabled); the link
    closes with `stack`."""
    if not settings.enabled:
        banner.ableton(None)
        return None
    link = AbletonLink(
        settings.host, settings.port, listen_port=settings.listen_port, timeout=settings.timeout
    )
    try:
        await stack.enter_async_context(link)
    except AbletonError as exc:
        banner.warn(exc.message)
        banner.ableton(settings)
        return _unavailable(exc.message)
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

    return read


def _unavailable(reason: str) -> LiveReader:
    async def read(context: Context) -> Context:
        raise AbletonError(f"Ableton Live cannot be reached: {reason}")

    return read
