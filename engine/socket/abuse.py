"""Refused events, counted per socket: a page that keeps sending what the server refuses is cut off.

A buggy or hostile page can send refused events forever, each one cheap to
refuse but not free. After `max_bad_events` of them its socket is told why
and closed; the count is the socket's, so a reconnect starts over, and the
per-address limits (limits.py) bound how often that can happen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .connection import Connection

__all__ = ["BadEvents"]

logger = logging.getLogger("engine.socket")


class BadEvents:
    """`count(sid, connection)` after each refused event; at the limit, `tell` the page why and `close` it."""

    def __init__(
        self,
        limit: int,
        tell: Callable[[str, str], Awaitable[None]],
        close: Callable[[str], Awaitable[None]],
    ) -> None:
        self._limit = limit
        self._tell = tell
        self._close = close
        self._closing: set[asyncio.Future[None]] = set()

    async def count(self, sid: str, connection: Connection) -> None:
        connection.bad += 1
        if connection.bad != self._limit:
            return
        logger.warning("closing socket of tab %s after %d refused events", connection.token[:8], connection.bad)
        await self._tell(
            sid, f"this page sent {self._limit} events the server refused (setting max_bad_events); it was disconnected"
        )
        # Close once the refused event's acknowledgement has gone out, so the tab hears why.
        closing = asyncio.ensure_future(self._close_soon(sid))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _close_soon(self, sid: str) -> None:
        await asyncio.sleep(0)
        await self._close(sid)
