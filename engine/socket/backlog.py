"""The bound on what a socket may leave unsent: a tab that stops reading is closed, not queued for.

A stalled browser (a frozen tab, a dead network) would make the server
queue every update for it without end. Every packet queued for a socket
goes through python-engineio's `send_packet`, so that is the one place the
bound is checked, once per packet: past `max_queued_updates` packets
waiting in the socket's queue, the socket is closed. Its page reconnects
and gets one full update instead of the backlog.
"""

from __future__ import annotations

import logging
from typing import Any

import engineio

__all__ = ["BoundedEngineServer"]

logger = logging.getLogger("engine.socket")


class BoundedEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server, closing a socket with more than `max_queued_packets` packets unsent."""

    def __init__(self, *args: Any, max_queued_packets: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_queued_packets = max_queued_packets

    async def send_packet(self, sid: str, pkt: Any) -> None:
        await super().send_packet(sid, pkt)
        limit = self.max_queued_packets
        if limit is None:
            return
        socket = self.sockets.get(sid)
        if socket is None or socket.closing or socket.closed:
            return
        if socket.queue.qsize() > limit:
            logger.warning(
                "a socket has more than %d unsent updates (setting max_queued_updates); "
                "closing it so its tab resyncs", limit,
            )
            await socket.close(wait=False, abort=True)
