"""A connection redis-py opened, whose socket the command stream then reads itself.

redis-py opens the connection and does the handshake (AUTH, SELECT, TLS);
then the link takes the socket over. Replies are parsed as the data arrives
(resp.py) and handed to their commands right there, without a reader task
in between: a commit's awaiter runs in the next turn of the event loop after
its reply arrived. What to do with a reply, and with a connection that
breaks, is the stream's (stream.py): it gives the link both as callbacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .resp import Replies

__all__ = ["Link"]


class Link(asyncio.Protocol):
    """The stream's end of one connection to Redis.

    Args:
        connection: a redis-py connection, connected; the link takes its socket (redis-py lets go of it).
        answer: called with each reply in order; returns False when the link is done for (no more replies).
        broken: called when the connection is lost or Redis sent something that is not a reply.
    """

    def __init__(
        self, connection: Any, answer: Callable[[Link, Any], bool], broken: Callable[[Link, BaseException], None]
    ) -> None:
        self._answer = answer
        self._broken = broken
        self._replies = Replies()
        # The socket is the link's now: redis-py lets go of it, the link keeps the writer (which would
        # close the socket when collected).
        self._writer = connection._writer
        self.transport: asyncio.Transport = self._writer.transport
        self.transport.set_protocol(self)
        connection._writer = connection._reader = None

    def data_received(self, data: bytes) -> None:
        try:
            replies = self._replies.feed(data)
        except ValueError as exc:  # not Redis speaking: give up this connection
            self._broken(self, exc)
            return
        answer = self._answer
        for reply in replies:
            if not answer(self, reply):
                return

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._broken(self, exc or ConnectionError("Redis closed the connection"))

    def close(self) -> None:
        self.transport.close()
