"""Socket.IO's Redis client manager, made safe to cancel and to lose: how updates reach tabs on other workers.

python-socketio's `AsyncRedisManager` publishes every emit on a Redis channel
that all workers listen to, and each worker delivers it to the sockets it
holds. Three things are changed here:

- Its client uses the engine's pool policy (`connect`): under load an emit
  waits for a free connection instead of failing with "Too many connections".
- Its socket timeout is off and each emit is bounded by a cancel-safe
  `asyncio.timeout` instead (redis-py's `wait_for` can swallow a
  cancellation on Python 3.11, and a cancelled task would carry on).
- When its subscription comes back after a drop (redis-py re-subscribes
  by itself, or this loop does), every emit published meanwhile is lost for
  this worker's sockets; `on_resubscribed` is called then, and the App sends
  each of its tabs a full copy of its state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import socketio
from redis.asyncio.client import PubSub

from .client import COMMAND_TIMEOUT, Pool, connect

__all__ = ["RedisRelay"]

logger = logging.getLogger("engine.redis")

_RETRY_FIRST = 0.25
_RETRY_MAX = 5.0


class RedisRelay(socketio.AsyncRedisManager):  # type: ignore[misc]
    """`socketio.AsyncRedisManager` with the engine's pool, cancel-safe bounds, and a resync after a gap."""

    def __init__(self, url: str, pool: Pool) -> None:
        super().__init__(url)
        self._pool = pool
        self.on_resubscribed: Callable[[], None] | None = None
        self.resubscriptions = 0

    def _redis_connect(self) -> None:
        self.redis = connect(self.redis_url, self._pool)
        self.pubsub = _Subscription(self.redis.connection_pool, ignore_subscribe_messages=True)
        self.pubsub.relay = self
        self.connected = True

    def _resubscribed(self) -> None:
        self.resubscriptions += 1
        logger.warning("the Socket.IO relay is subscribed again; resending every tab its state")
        if self.on_resubscribed is not None:
            self.on_resubscribed()

    async def emit(self, *args: Any, **kwargs: Any) -> Any:
        async with asyncio.timeout(self._pool.timeout + COMMAND_TIMEOUT):
            return await super().emit(*args, **kwargs)

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:  # pragma: no cover - python-socketio's loop
        retry = _RETRY_FIRST
        subscribed_before = False
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                if subscribed_before:
                    self._resubscribed()
                subscribed_before = True
                retry = _RETRY_FIRST
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("the Socket.IO relay lost Redis (%s); retrying in %.2gs", exc, retry)
                await self._drop_connection()
                await asyncio.sleep(retry)
                retry = min(retry * 2, _RETRY_MAX)

    async def _drop_connection(self) -> None:
        for client in (self.pubsub, self.redis):
            if client is not None:
                try:
                    await client.aclose()
                except Exception:  # already broken: nothing more to release
                    logger.debug("closing a broken relay connection failed", exc_info=True)


class _Subscription(PubSub):  # type: ignore[misc]
    """redis-py re-subscribes a dropped subscription by itself, silently: this one tells its relay."""

    relay: RedisRelay | None = None

    async def on_connect(self, connection: Any) -> None:
        again = bool(self.channels)  # subscribed before: this connection replaces one that dropped
        await super().on_connect(connection)
        if again and self.relay is not None:
            self.relay._resubscribed()
