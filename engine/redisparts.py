"""What an App on Redis is made of, built only when it has a Redis URL: an App in memory never imports Redis.

One worker id is shared by the state manager, the tab directory and the
Socket.IO relay, so every worker's locks, tabs and emits say which worker
they are. The App (app.py) asks for each part as it wires itself together,
in dependency order: the directory and the cluster view first, the relay
once the sockets' bindings exist, the manager once the publisher does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .managers import StateManager
from .runner import InOrder
from .settings import Settings

if TYPE_CHECKING:
    from .socket import SocketPublisher

__all__ = ["RedisParts", "stop_pubsub"]

logger = logging.getLogger("engine")


class RedisParts:
    """What an App on Redis uses: one worker id for its manager, directory and relay."""

    def __init__(self, settings: Settings) -> None:
        from . import redis  # only an App on Redis imports it

        self._redis = redis
        self._settings = settings
        url = str(settings.redis_url)
        self.worker = redis.new_worker_id()
        pool = redis.Pool.of(settings)
        self._url, self._pool = url, pool
        self.directory = redis.RedisTabDirectory(
            url, worker=self.worker, pool=pool, beat=settings.worker_heartbeat, lease=settings.lock_lease
        )
        self.cluster = redis.RedisCluster(self.directory)

    def relay(self, is_local: Callable[[str], bool]) -> Any:
        """The Socket.IO relay between workers; `is_local(token)`: the tab's socket is on this worker."""
        return self._redis.RedisRelay(self._url, self._pool, is_local=is_local)

    def manager(
        self, publisher: SocketPublisher, relay: Any, confirmed: InOrder, *, busy: Callable[[str], bool],
        on_refused: Callable[[str, Exception], None],
    ) -> StateManager:
        """The worker's state manager, connected to the sockets: what its commits publish, when it lets go."""

        async def before_release() -> None:  # this worker's updates of the tab go out before another's can
            await confirmed.drained()
            await relay.drained()

        return self._redis.RedisStateManager(  # type: ignore[no-any-return]
            self._settings, worker=self.worker, announce=publisher.remote_update, channel=relay.channel,
            on_refused=on_refused, busy=busy, before_release=before_release,
        )


async def stop_pubsub(manager: Any) -> None:
    """Stop python-socketio's Redis listener task and close its connections (it has no close())."""
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Task) and not listener.done():
        listener.cancel()
        await asyncio.wait([listener], timeout=1.0)
    for name in ("pubsub", "redis"):
        client = getattr(manager, name, None)
        closing = getattr(client, "aclose", None)
        if closing is not None:
            try:
                await closing()
            except Exception:  # already closed, or the connection is gone: nothing to release
                logger.debug("closing the Socket.IO Redis %s failed", name, exc_info=True)
