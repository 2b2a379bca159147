"""Which tab is connected where, for every worker sharing one Redis.

A tab's socket lives on one worker, but its background tasks may run on any
of them and check `token in app.event_namespace.token_to_sid` to notice that
the tab has gone, and a reconnecting tab must be recognised by whichever
worker it reaches. That check must stay a plain, synchronous lookup, so each
worker keeps a mirror of every other worker's connections, kept current by
their announcements on a pub/sub channel and read from their hashes when it
starts or reconnects. What this worker tells the others (its hash, its
announcements, its heartbeat) is in announcer.py; a worker not heard from
for three beats (killed, or cut off) is dropped with its tabs, as judged in
liveness.py, which also keeps a paused worker from declaring the healthy
ones dead.

A worker that hears nothing from Redis (not even its own heartbeat) for
longer than `cut_off_after` is cut off, as far as the others can tell: they
have taken it for dead and give its tasks' places away, and any lock it held
has outlived its lease. It can serve no tab, so it tells the socket layer
(`when_cut_off`) to close its tabs' sockets and refuse new ones until it
hears Redis again: the pages reconnect, through the load balancer, to a
worker that can serve them, instead of staying on one where nothing moves.

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
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..directory import Binding, TabDirectory
from .announcer import CHANNEL, WORKERS_KEY, Announcer, hash_of
from .client import COMMAND_TIMEOUT, Pool, connect, new_worker_id
from .liveness import WorkerLiveness
from .wakeup import check_cancelled

__all__ = ["RedisTabDirectory"]

logger = logging.getLogger("engine.directory")

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
        lease: float = 0.0,
    ) -> None:
        super().__init__()
        self.worker = worker or new_worker_id()
        self.beat = beat
        self._redis = client if client is not None else connect(url, pool)
        self._listener = connect(url, pool, listener=True) if client is None else client
        self.peers = WorkerLiveness(beat)  # which other workers are alive
        # Out of reach of Redis this long: cut off (see the module docstring). Not before the others take
        # this worker for dead (three beats, and one more for their sweep), nor within the lease of its
        # locks: an outage shorter than both (a restart of Redis) is waited out, with every tab kept.
        self.cut_off_after = max(lease, self.peers.dead_after + beat)
        self.lease = lease
        self._on_cut_off: Callable[[], None] | None = None
        self.announcer = Announcer(self._redis, self.worker, beat, self.peers.dead_after)  # this worker's side
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.live = False  # subscribed: other workers' announcements reach us
        # Called with (token, handler full name or None) when another worker asks to cancel a tab's tasks.
        self.on_cancel: Callable[[str, str | None], None] | None = None
        # Called with a token when another worker's shutdown stopped a resumable run of that tab.
        self.on_resume: Callable[[str], None] | None = None

    @property
    def pauses(self) -> int:
        """Times this worker found it had not been listening (paused, or Redis out of reach)."""
        return self.peers.pauses

    @property
    def cut_off(self) -> bool:
        """Whether this worker has heard nothing from Redis for longer than `cut_off_after`."""
        return self.peers.cut_off

    def when_cut_off(self, callback: Callable[[], None]) -> None:
        """Call `callback()` each time this worker becomes cut off from Redis."""
        self._on_cut_off = callback

    def cut_off_lately(self) -> bool:
        """Cut off now, or less than a lease ago: a lease of this worker's may have run out meanwhile."""
        return self.peers.cut_off_within(asyncio.get_running_loop().time(), self.lease)

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
        self.announcer.bind(token, binding)
        self.start()

    def unbind(self, token: str, sid: str) -> bool:
        removed = super().unbind(token, sid)
        if self.announcer.unbind(token, sid):
            self.start()
        return removed

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._tasks or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._tasks = [
            loop.create_task(self._read_loop(), name="engine:directory-reader"),
            loop.create_task(self.announcer.run(), name="engine:directory-writer"),
            loop.create_task(self._watch_reach(), name="engine:directory-reach"),
        ]

    async def close(self) -> None:
        if self._tasks and self.announcer.pending:  # what this worker said last (its runs a shutdown stopped) goes out
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.announcer.write_changes()
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
                    await self.announcer.bye()
        await self._redis.aclose()
        if self._listener is not self._redis:
            await self._listener.aclose()

    # -- reading: other workers' announcements ----------------------------------------------
    async def _read_loop(self) -> None:
        backoff = 0.1
        loop = asyncio.get_running_loop()
        while True:
            pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    await pubsub.subscribe(CHANNEL)
                    await self._load_others()  # messages from now on are queued behind this snapshot
                self.live = True
                self.announcer.resync()  # others may have missed ours while we were away
                backoff = 0.1
                next_sweep = loop.time() + self.beat
                self.peers.listening(loop.time())
                while True:
                    message = await pubsub.get_message(timeout=self.beat)
                    check_cancelled()
                    if message is not None:  # (none within a beat: nothing heard, not even our own beat)
                        self.peers.listening_again(loop.time())
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
                self.peers.deaf()  # not listening: judge nobody
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())  # type: ignore[no-untyped-call]

    async def _watch_reach(self) -> None:
        """Every beat: whether this worker became cut off from Redis (liveness.py), to tell the socket layer."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.beat)
            if self.peers.judge_reach(loop.time(), self.cut_off_after) and self._on_cut_off is not None:
                self._on_cut_off()

    async def _load_others(self) -> None:
        """Every live worker's tabs, from their hashes (for a worker that starts or reconnects)."""
        now = time.time()
        workers: list[tuple[bytes, float]] = await self._redis.zrangebyscore(  # type: ignore[assignment]
            WORKERS_KEY, now - self.peers.dead_after, "+inf", withscores=True
        )
        for raw, score in workers:
            worker = raw.decode()
            if worker != self.worker:
                self.peers.heard(worker, asyncio.get_running_loop().time() - max(0.0, now - float(score)))
                await self._load(worker)

    async def _load(self, worker: str) -> None:
        entries: dict[bytes, bytes] = await self._redis.hgetall(hash_of(worker))  # type: ignore[assignment]
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
        self.peers.heard(worker, asyncio.get_running_loop().time())
        if op == "bind":
            token, sid, client = message.get("t"), message.get("s"), message.get("c")
            if not isinstance(token, str) or not isinstance(sid, str):
                return
            self.entries[token] = Binding(sid, client if isinstance(client, str) else None, worker)
            self.announcer.moved(token)  # (if the page was on this worker: its old socket no longer serves it)
        elif op == "unbind":
            entry = self.entries.get(message.get("t", ""))
            if entry is not None and entry.worker == worker and entry.sid == message.get("s"):
                del self.entries[message["t"]]
        elif op == "sync":
            await self._load(worker)
        elif op == "bye":
            self._drop(worker)
            self.peers.forget(worker)
        elif op == "resume":
            token = message.get("t")
            if isinstance(token, str) and self.on_resume is not None:
                self.on_resume(token)
        elif op == "cancel":
            token, handler = message.get("t"), message.get("h")
            if isinstance(token, str) and isinstance(handler, str) and self.on_cancel is not None:
                self.on_cancel(token, handler or None)

    # -- other workers --------------------------------------------------------------------------
    def alive(self, worker: str) -> bool:
        """Whether a worker is alive: heard from recently, or not long enough listening to tell."""
        return worker == self.worker or self.peers.alive(worker, asyncio.get_running_loop().time())

    def announce_resume(self, token: str) -> None:
        """Tell every other worker that a resumable run of the tab was stopped by this one's shutdown."""
        self.announcer.resume(token)
        self.start()

    def serves(self, token: str) -> bool:
        """Whether the tab's socket is on this worker."""
        return token in self.announcer.local

    def announce_cancel(self, token: str, handler: str | None) -> None:
        """Ask every other worker to cancel its copies of a handler for a tab (None: its tab-lifetime tasks)."""
        self.announcer.cancel(token, handler)
        self.start()

    def _sweep(self) -> None:
        """Drop the tabs of workers not heard from for three beats (a killed worker says no bye)."""
        for worker in self.peers.silent(asyncio.get_running_loop().time()):
            dropped = self._drop(worker)
            logger.warning("worker %s went silent; forgot its %d tabs", worker, dropped)

    def _drop(self, worker: str) -> int:
        gone = [token for token, entry in self.entries.items() if entry.worker == worker]
        for token in gone:
            del self.entries[token]
        return len(gone)
