"""Sending tabs a full copy of their state again, when updates to them may have been lost.

With Redis, the updates published while this worker's relay was away never
reached it, and a pipelined commit that Redis refused was never stored: the
tabs concerned are sent what the server holds now, in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .connection import Connection

__all__ = ["Resender"]

logger = logging.getLogger("engine.socket")

SendFull = Callable[[str, str, list[str]], Awaitable[None]]  # (sid, token, states)


class Resender:
    """`soon(token)` sends that tab (None: every tab of this worker) its full state, in the background."""

    def __init__(self, connections: dict[str, Connection], send_full: SendFull) -> None:
        self._connections = connections
        self._send_full = send_full
        self._running: set[asyncio.Future[None]] = set()

    def soon(self, token: str | None) -> None:
        task = asyncio.ensure_future(self._resend(token))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _resend(self, token: str | None) -> None:
        for sid, connection in list(self._connections.items()):
            if token is not None and connection.token != token:
                continue
            try:
                await self._send_full(sid, connection.token, connection.states)
            except Exception:  # that tab asks again on its next gap; the others still get theirs
                logger.warning("could not resend tab %s its state", connection.token[:8], exc_info=True)
