"""Socket.IO's Redis client manager, made safe to cancel: how updates reach tabs on other workers.

python-socketio's `AsyncRedisManager` publishes every emit on a Redis channel
that all workers listen to, and each worker delivers it to the sockets it
holds. Left at redis-py's defaults, its client enforces a 5 s socket timeout
with `asyncio.wait_for`, which on Python 3.11 can swallow a cancellation that
arrives just as the publish completes: a cancelled background task would
then carry on running. Here the socket timeout is off and each emit is
bounded by a cancel-safe `asyncio.timeout` instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from .client import COMMAND_TIMEOUT, CONNECT_TIMEOUT

__all__ = ["RedisRelay"]


class RedisRelay(socketio.AsyncRedisManager):  # type: ignore[misc]
    """`socketio.AsyncRedisManager` with cancel-safe time bounds."""

    def __init__(self, url: str) -> None:
        options = {"socket_timeout": None, "socket_connect_timeout": CONNECT_TIMEOUT}
        super().__init__(url, redis_options=options)

    async def emit(self, *args: Any, **kwargs: Any) -> Any:
        async with asyncio.timeout(COMMAND_TIMEOUT):
            return await super().emit(*args, **kwargs)
