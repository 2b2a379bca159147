"""Wake this process's lock waiters when Redis says that a tab's lock was released.

A waiter that finds a tab's Redis lock taken does not poll. Its failed
attempt flagged the tab as awaited (redis_scripts.ACQUIRE), so the holder's
release publishes the token on one channel; the waiter registered a future
here before trying, and the message completes it. A lease that runs out
(its holder died) publishes nothing: the waiter's timer is set to the
lock's remaining lease (PTTL), so it tries again at the moment the lock
expires. Keyspace notifications are not needed, and not used: they would
cost a message per release of every tab and a server setting that managed
Redis services often refuse.

The same subscription hears when another worker wants a tab whose lease
this worker keeps between blocks (the ACQUIRE that found it taken published
the token on this worker's "wanted" channel): `on_wanted` lets go of it.

One subscriber connection serves every tab. If it drops, every waiter is
woken to check again, and it reconnects with a short backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis

__all__ = ["UnlockHub", "check_cancelled"]

logger = logging.getLogger("engine.redis")

_BACKOFF_FIRST = 0.1
_BACKOFF_MAX = 2.0
_IDLE = 30.0  # seconds between health-check pings on a quiet subscription


def check_cancelled() -> None:
    """Raise `CancelledError` if someone asked to cancel this task.

    On Python 3.11 a cancellation that arrives as an `asyncio.timeout` (ours,
    or one inside redis-py's reads) expires can surface as a `TimeoutError`,
    which a loop treating timeouts as "nothing happened" would swallow and
    carry on. The background loops here, which nothing but their own `close`
    cancels, call this after every such wait.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class UnlockHub:
    """One pub/sub subscription that turns unlock messages into woken futures."""

    def __init__(
        self, client: Redis, channel: str, wanted: str | None = None,
        on_wanted: Callable[[str], None] | None = None,
    ) -> None:
        self._client = client
        self._channel = channel
        self._wanted = wanted  # this worker's "wanted" channel
        self.on_wanted = on_wanted
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.live = False  # subscribed right now: a release will reach us

    def start(self) -> None:
        """Subscribe in the background (once; again after `close`)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="engine:redis-unlock-hub")

    def register(self, token: str) -> asyncio.Future[None]:
        """A future that completes when the tab's lock may be free; register before trying."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(token, set()).add(future)
        return future

    def unregister(self, token: str, future: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(token)
        if waiters is not None:
            waiters.discard(future)
            if not waiters:
                del self._waiters[token]

    def wake(self, token: str) -> None:
        for future in self._waiters.get(token, ()):
            if not future.done():
                future.set_result(None)

    def wake_all(self) -> None:
        for token in list(self._waiters):
            self.wake(token)

    def _heard(self, channel: object, token: str) -> None:
        if isinstance(channel, bytes):
            channel = channel.decode("utf-8", "replace")
        if channel == self._wanted and self._wanted is not None:
            if self.on_wanted is not None:
                self.on_wanted(token)
        else:
            self.wake(token)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.live = False
        self.wake_all()

    async def _run(self) -> None:
        backoff = _BACKOFF_FIRST
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*(name for name in (self._channel, self._wanted) if name))
                if not self.live:
                    self.live = True
                    if backoff > _BACKOFF_FIRST:
                        logger.info("lock notifications from Redis are back")
                self.wake_all()  # a release may have happened while we were not listening
                backoff = _BACKOFF_FIRST
                while True:
                    message = await pubsub.get_message(timeout=_IDLE)
                    check_cancelled()
                    if message is not None and message.get("type") == "message":
                        data = message.get("data")
                        if isinstance(data, bytes):
                            self._heard(message.get("channel"), data.decode("utf-8", "replace"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.live:
                    logger.warning("lost the lock notifications from Redis (%s); reconnecting", exc)
                self.live = False
                self.wake_all()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())  # type: ignore[no-untyped-call]
