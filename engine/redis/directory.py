"""Which tab is connected where, for every worker sharing one Redis.

A tab's socket lives on one worker, but its background tasks may run on any
of them and check `token in app.event_namespace.token_to_sid` to notice that
the tab has gone, and a reconnecting tab must be recognised by whichever
worker it reaches. That check must stay a plain, synchronous lookup, so each
worker keeps a mirror of every other worker's connections, kept current by
announcements on a pub/sub channel. Each worker also keeps its connections in
a hash of its own with a TTL, read by workers that start later, and sends a
heartbeat every `beat` seconds; a worker not heard from for three beats
(killed, or cut off) is dropped with its tabs. A worker judges others only
while it is listening itself: one that finds it has not listened for more
than a beat and a half (this process was paused, or Redis was out of reach)
says so and gives every other worker three beats more to be heard, instead
of declaring the healthy ones dead.

Entries carry the page's client id, so the duplicate-tab rule (a live tab's
ticket from another page gets a fresh tab; the same page reconnecting keeps
it) holds across workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..directory import Binding, TabDirectory
from .client import COMMAND_TIMEOUT, PREFIX, Pool, connect, new_worker_id
from .wakeup import check_cancelled

__all__ = ["RedisTabDirectory"]

logger = logging.getLogger("engine.directory")

_DEAD_AFTER_BEATS = 3
_DIRECTORY_POOL = Pool(8, 10.0)  # announcements are few and small: a few connections do
_BACKOFF_MAX = 2.0


class RedisTabDirectory(TabDirectory):
    """A TabDirectory that also knows every other worker's tabs (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        worker: str | None = None,
        beat: float = 5.0,
        client: Redis | None = None,
        pool: Pool = _DIRECTORY_POOL,
    ) -> None:
        super().__init__()
        self.worker = worker or new_worker_id()
        self.beat = beat
        self._redis = client if client is not None else connect(url, pool)
        self._listener = connect(url, pool, listener=True) if client is None else client
        self._channel = f"{PREFIX}:conns"
        self._workers_key = f"{PREFIX}:workers"
        self._local: dict[str, Binding] = {}  # this worker's own bindings: the truth we announce
        self._heard: dict[str, float] = {}  # other worker -> loop time it was last heard from
        self._outbox: deque[tuple[str, str, Binding]] = deque()
        self._kick: asyncio.Event | None = None
        self._announce_all = True
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.live = False  # subscribed: other workers' announcements reach us
        self._settled_at: float | None = None  # loop time after which a worker not heard is surely dead
        self._listened_at: float | None = None  # loop time the reader last heard from Redis (a message or none)
        self.pauses = 0  # times this worker found it had not been listening (paused, or Redis out of reach)
        # Called with (token, handler full name or None) when another worker asks to cancel a tab's tasks.
        self.on_cancel: Callable[[str, str | None], None] | None = None
        # Called with a token when another worker's shutdown stopped a resumable run of that tab.
        self.on_resume: Callable[[str], None] | None = None

    def _hash(self, worker: str) -> str:
        return f"{PREFIX}:conns:{worker}"

    @property
    def _dead_after(self) -> float:
        return self.beat * _DEAD_AFTER_BEATS

    # -- reads start the sharing as a side effect, so a worker needs no explicit start --
    def __contains__(self, token: object) -> bool:
        self.start()
        return token in self.entries

    def get(self, token: str, default: str | None = None) -> str | None:
        self.start()
        return super().get(token, default)

    # -- writes -------------------------------------------------------------------------
    def bind(self, token: str, sid: str, client: str | None) -> None:
        binding = Binding(sid, client, self.worker)
        self.entries[token] = binding
        self._local[token] = binding
        self._send("bind", token, binding)

    def unbind(self, token: str, sid: str) -> bool:
        removed = super().unbind(token, sid)
        mine = self._local.get(token)
        if mine is not None and mine.sid == sid:
            del self._local[token]
            self._send("unbind", token, mine)
        return removed

    def _send(self, op: str, token: str, binding: Binding) -> None:
        self._outbox.append((op, token, binding))
        self.start()
        if self._kick is not None:
            self._kick.set()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._tasks or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._kick = asyncio.Event()
        self._kick.set()
        self._tasks = [
            loop.create_task(self._read_loop(), name="engine:directory-reader"),
            loop.create_task(self._write_loop(), name="engine:directory-writer"),
        ]

    async def close(self) -> None:
        if self._tasks and self._outbox:  # what this worker said last (its runs a shutdown stopped) goes out
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._write_changes()
        self._closed = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if tasks:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    pipe = self._redis.pipeline(transaction=False)
                    pipe.delete(self._hash(self.worker))
                    pipe.zrem(self._workers_key, self.worker)
                    pipe.publish(self._channel, json.dumps({"op": "bye", "w": self.worker}))
                    await pipe.execute()
        await self._redis.aclose()
        if self._listener is not self._redis:
            await self._listener.aclose()

    # -- writing: announcements, our hash, heartbeats ---------------------------------------
    async def _write_loop(self) -> None:
        assert self._kick is not None
        loop = asyncio.get_running_loop()
        next_beat = loop.time()
        backoff = 0.1
        while True:
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):  # a stalled Redis: retry, do not hang
                    if self._announce_all:
                        self._announce_all = False
                        self._outbox.clear()  # the full announcement covers them
                        await self._write_all()
                    if loop.time() >= next_beat:
                        await self._heartbeat()
                        next_beat = loop.time() + self.beat
                    if self._outbox:
                        await self._write_changes()
                if not self._outbox:
                    self._kick.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(max(0.0, next_beat - loop.time())):
                            await self._kick.wait()
                    check_cancelled()
                if backoff > 0.1:
                    logger.info("sharing this worker's tabs through Redis again")
                backoff = 0.1
            except (RedisError, OSError) as exc:
                if backoff == 0.1:
                    logger.warning("could not share this worker's tabs through Redis (%s); retrying", exc)
                self._announce_all = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _write_changes(self) -> None:
        ops = [self._outbox.popleft() for _ in range(min(len(self._outbox), 500))]
        own = self._hash(self.worker)
        pipe = self._redis.pipeline(transaction=False)
        for op, token, binding in ops:
            if op in ("cancel", "resume"):  # (binding.sid: the handler's name, "" for every tab-lifetime task)
                pipe.publish(self._channel, json.dumps({"op": op, "w": self.worker, "t": token, "h": binding.sid}))
                continue
            if op == "bind":
                pipe.hset(own, token, json.dumps({"s": binding.sid, "c": binding.client}))
            else:
                pipe.hdel(own, token)
            pipe.publish(self._channel, json.dumps(
                {"op": op, "w": self.worker, "t": token, "s": binding.sid, "c": binding.client}
            ))
        pipe.pexpire(own, round(self._dead_after * 1000))
        await pipe.execute()

    async def _write_all(self) -> None:
        own = self._hash(self.worker)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(own)
        if self._local:
            entries = {t: json.dumps({"s": b.sid, "c": b.client}) for t, b in self._local.items()}
            pipe.hset(own, mapping=entries)  # type: ignore[arg-type]
            pipe.pexpire(own, round(self._dead_after * 1000))
        pipe.publish(self._channel, json.dumps({"op": "sync", "w": self.worker}))
        await pipe.execute()

    async def _heartbeat(self) -> None:
        now = time.time()
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(self._workers_key, {self.worker: now})
        pipe.zremrangebyscore(self._workers_key, "-inf", now - self._dead_after)
        pipe.pexpire(self._workers_key, round(self._dead_after * 2000))
        pipe.pexpire(self._hash(self.worker), round(self._dead_after * 1000))
        pipe.publish(self._channel, json.dumps({"op": "beat", "w": self.worker}))
        await pipe.execute()

    # -- reading: other workers' announcements ----------------------------------------------
    async def _read_loop(self) -> None:
        backoff = 0.1
        loop = asyncio.get_running_loop()
        while True:
            pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    await pubsub.subscribe(self._channel)
                    await self._load_others()  # messages from now on are queued behind this snapshot
                self.live = True
                if self._settled_at is None:
                    self._settled_at = loop.time() + self._dead_after
                self._announce_all = True  # others may have missed ours while we were away
                if self._kick is not None:
                    self._kick.set()
                backoff = 0.1
                next_sweep = loop.time() + self.beat
                self._listened_at = loop.time()
                while True:
                    message = await pubsub.get_message(timeout=self.beat)
                    check_cancelled()
                    self._listening_again(loop.time())
                    if message is not None and message.get("type") == "message":
                        async with asyncio.timeout(COMMAND_TIMEOUT):
                            await self._apply(message.get("data"))
                    if loop.time() >= next_sweep:
                        self._sweep()
                        next_sweep = loop.time() + self.beat
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.live:
                    logger.warning("lost other workers' tab announcements (%s); reconnecting", exc)
                self.live = False
                self._listened_at = None  # not listening: judge nobody
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())  # type: ignore[no-untyped-call]

    async def _load_others(self) -> None:
        """Every live worker's tabs, from their hashes (for a worker that starts or reconnects)."""
        now = time.time()
        workers: list[tuple[bytes, float]] = await self._redis.zrangebyscore(  # type: ignore[assignment]
            self._workers_key, now - self._dead_after, "+inf", withscores=True
        )
        for raw, score in workers:
            worker = raw.decode()
            if worker != self.worker:
                self._heard[worker] = asyncio.get_running_loop().time() - max(0.0, now - float(score))
                await self._load(worker)

    async def _load(self, worker: str) -> None:
        entries: dict[bytes, bytes] = await self._redis.hgetall(self._hash(worker))  # type: ignore[assignment]
        self._drop(worker)
        for raw_token, raw in entries.items():
            try:
                value = json.loads(raw)
                sid, client = value["s"], value.get("c")
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(sid, str) and (client is None or isinstance(client, str)):
                self.entries[raw_token.decode()] = Binding(sid, client, worker)

    async def _apply(self, data: Any) -> None:
        try:
            message = json.loads(data)
            op, worker = message["op"], message["w"]
        except (ValueError, KeyError, TypeError):
            return
        if worker == self.worker:
            return
        self._heard[worker] = asyncio.get_running_loop().time()
        if op == "bind":
            token, sid, client = message.get("t"), message.get("s"), message.get("c")
            if not isinstance(token, str) or not isinstance(sid, str):
                return
            self.entries[token] = Binding(sid, client if isinstance(client, str) else None, worker)
            mine = self._local.pop(token, None)
            if mine is not None:  # the page reconnected to that worker; our old socket no longer serves it
                self._send("unbind", token, mine)
        elif op == "unbind":
            entry = self.entries.get(message.get("t", ""))
            if entry is not None and entry.worker == worker and entry.sid == message.get("s"):
                del self.entries[message["t"]]
        elif op == "sync":
            await self._load(worker)
        elif op == "bye":
            self._drop(worker)
            self._heard.pop(worker, None)
        elif op == "resume":
            token = message.get("t")
            if isinstance(token, str) and self.on_resume is not None:
                self.on_resume(token)
        elif op == "cancel":
            token, handler = message.get("t"), message.get("h")
            if isinstance(token, str) and isinstance(handler, str) and self.on_cancel is not None:
                self.on_cancel(token, handler or None)

    # -- other workers --------------------------------------------------------------------------
    def _deaf_for(self, now: float) -> float:
        """Seconds since the reader last heard from Redis, beyond the beat it may wait (0 while listening)."""
        if self._listened_at is None:
            return float("inf")
        return max(0.0, now - self._listened_at - self.beat * 1.5)

    def _listening_again(self, now: float) -> None:
        """The reader is back: if it was away (paused, starved), every other worker gets three beats anew."""
        away = self._deaf_for(now)
        self._listened_at = now
        if away > 0:
            self.pauses += 1
            self._heard = dict.fromkeys(self._heard, now)
            if self._settled_at is not None:
                self._settled_at = max(self._settled_at, now + self._dead_after)
            logger.warning(
                "this worker did not listen to the others for %.1fs (this process was paused, or its event loop "
                "or Redis stalled); it judges no other worker dead until it has listened for %gs again",
                away + self.beat * 1.5, self._dead_after,
            )

    def alive(self, worker: str) -> bool:
        """Whether a worker is alive: heard from recently, or not long enough listening to tell."""
        if worker == self.worker:
            return True
        settled = self._settled_at
        now = asyncio.get_running_loop().time()
        if settled is None or now < settled:
            return True  # a worker not heard yet may just not have spoken since we started listening
        if self._deaf_for(now) > 0:
            return True  # this worker has not been listening (paused, or Redis out of reach): it cannot tell
        return worker in self._heard

    def announce_resume(self, token: str) -> None:
        """Tell every other worker that a resumable run of the tab was stopped by this one's shutdown."""
        self._send("resume", token, Binding("", None, self.worker))

    def serves(self, token: str) -> bool:
        """Whether the tab's socket is on this worker."""
        return token in self._local

    def announce_cancel(self, token: str, handler: str | None) -> None:
        """Ask every other worker to cancel its copies of a handler for a tab (None: its tab-lifetime tasks)."""
        self._send("cancel", token, Binding(handler or "", None, self.worker))

    def _sweep(self) -> None:
        """Drop the tabs of workers not heard from for three beats (a killed worker says no bye)."""
        cutoff = asyncio.get_running_loop().time() - self._dead_after
        for worker in [w for w, heard in self._heard.items() if heard < cutoff]:
            del self._heard[worker]
            dropped = self._drop(worker)
            logger.warning("worker %s went silent; forgot its %d tabs", worker, dropped)

    def _drop(self, worker: str) -> int:
        gone = [token for token, entry in self.entries.items() if entry.worker == worker]
        for token in gone:
            del self.entries[token]
        return len(gone)
