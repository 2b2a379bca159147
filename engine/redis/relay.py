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
- An emit is delivered to this worker's own sockets at once and published for
  the other workers from an ordered outbox, in batches, without the emitting
  code waiting for Redis: a block's exit costs its commit's round trip, not
  a second one for the publish. An emit to a tab whose socket is on this
  worker is not published at all (`is_local`), since no other worker has it.
  `drained()` waits until what is in the outbox has gone out; a tab's lock
  is released only after that, so updates of one tab keep their order
  whichever worker sends the next.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
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

    def __init__(self, url: str, pool: Pool, *, is_local: Callable[[str], bool] | None = None) -> None:
        super().__init__(url)
        self._pool = pool
        # Told when the subscription is back after a gap (updates published meanwhile are lost): the
        # namespace then sends every tab of this worker its state. Set by the namespace when it is made.
        self.on_resubscribed: Callable[[], None] | None = None
        self.resubscriptions = 0
        # Whether a room (a tab's token) has its socket on this worker: then nobody else needs the emit.
        self.is_local: Callable[[str], bool] = is_local or (lambda room: False)
        self._outbox: deque[str] = deque()
        self._sent = 0  # messages taken from the outbox and answered (sent, or given up on)
        self._queued = 0  # messages ever put in the outbox
        self._sender: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()
        self.publish_failures = 0

    def _redis_connect(self) -> None:
        self.redis = connect(self.redis_url, self._pool)
        self.pubsub = _Subscription(self.redis.connection_pool, ignore_subscribe_messages=True)
        self.pubsub.relay = self
        self.connected = True

    def subscribed_again(self) -> None:
        """The subscription is back after a gap: what was published meanwhile never reached this worker."""
        self.resubscriptions += 1
        logger.warning("the Socket.IO relay is subscribed again; resending every tab its state")
        if self.on_resubscribed is not None:
            self.on_resubscribed()

    async def emit(self, event: str, data: Any, namespace: str | None = None, room: str | None = None,
                   skip_sid: Any = None, callback: Any = None, to: str | None = None, **kwargs: Any) -> None:
        room = to or room
        if callback is not None or kwargs.get("ignore_queue"):  # (the engine uses neither): python-socketio's way
            async with asyncio.timeout(self._pool.timeout + COMMAND_TIMEOUT):
                await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                                   callback=callback, **kwargs)
            return
        message = self._message(event, data, namespace, room, skip_sid)
        await self._handle_emit(message)  # this worker's own sockets, now
        if room is not None and (self.is_local(room) or self._socket_here(room, namespace or "/")):
            return  # the tab's socket (or the socket itself, `to=sid`) is here: no other worker has it
        self._outbox.append(self.json.dumps(message))
        self._queued += 1
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_outbox(), name="engine:relay-outbox")

    def _socket_here(self, sid: str, namespace: str) -> bool:
        """Whether `sid` is one of this worker's sockets (connected, or still connecting)."""
        sockets = self.rooms.get(namespace, {}).get(None)
        return sockets is not None and sid in sockets

    def _message(self, event: str, data: Any, namespace: str | None, room: str | None,
                 skip_sid: Any = None) -> dict[str, Any]:
        # host_id first: this worker skips its own messages by their first bytes, without decoding them.
        return {"host_id": self.host_id, "method": "emit", "event": event, "data": [data], "binary": False,
                "namespace": namespace or "/", "room": room, "skip_sid": skip_sid, "callback": None}

    def remote(self, event: str, data: Any, namespace: str, room: str) -> str:
        """An emit for the other workers' sockets, as published on `channel` (a commit publishes it itself)."""
        return str(self.json.dumps(self._message(event, data, namespace, room)))

    async def _send_outbox(self) -> None:
        """Publish what the outbox holds, in order, many at a time."""
        while self._outbox:
            batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 200))]
            try:
                if not self.connected:
                    self._redis_connect()
                async with asyncio.timeout(self._pool.timeout + COMMAND_TIMEOUT):
                    pipe = self.redis.pipeline(transaction=False)
                    for payload in batch:
                        pipe.publish(self.channel, payload)
                    await pipe.execute()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # tabs on other workers miss these: they see a gap and resync
                self.publish_failures += len(batch)
                self.connected = False
                logger.warning("could not publish %d updates for other workers (%s)", len(batch), exc)
            self._sent += len(batch)
            self._progress.set()
            self._progress.clear()

    async def drained(self) -> None:
        """Return once every message queued before this call has been published (or given up on)."""
        target = self._queued
        while self._sent < target:
            sender = self._sender
            if sender is None or sender.done():
                return  # (stopped: nothing more will go out)
            await self._progress.wait()

    async def _listen(self) -> AsyncIterator[Any]:  # pragma: no cover - python-socketio's loop
        """The channel's messages, less this worker's own (python-socketio would decode each, then drop it)."""
        channel = self.channel.encode()
        own = self.json.dumps({"host_id": self.host_id})[:-1].encode()  # how this worker's messages begin
        async for message in self._redis_listen_with_retries():
            if message["channel"] == channel and message["type"] == "message" and "data" in message:
                data = message["data"]
                if not (isinstance(data, bytes) and data.startswith(own)):
                    yield data
        await self.pubsub.unsubscribe(self.channel)

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:  # pragma: no cover - python-socketio's loop
        retry = _RETRY_FIRST
        subscribed_before = False
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                if subscribed_before:
                    self.subscribed_again()
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
            self.relay.subscribed_again()
