"""Tab states in Redis, shared by every worker process.

With several workers, any of them may run a tab's event, background task or
`modify_state`, so the state and its lock live in Redis. Per tab:

    engine:{token}:state   hash {version, seq, data}   TTL state_ttl, refreshed on use
    engine:{token}:lock    the holding worker's id      PX lock_lease (locks.py)

`modify(token)` takes the tab's lock and loads the state in one script,
yields a Transaction, and commits through another script that checks the
holder and the version it read before writing (scripts.py): a holder
whose lease ran out gets `LockExpiredError` and can never overwrite a newer
state. Stored data is checked against the vars' annotations (stored.py).

The manager only assembles one worker's parts, each in its own module:
the lock (locks.py), the cache of trees (cache.py), how a commit is written
(writer.py) and what became of it (commits.py), how a block's transaction is
loaded (loader.py) and the block itself (modify.py). Commits, locks and reads
of a tab go through the worker's command stream (stream.py): one pipelined
connection, so a tab's commands run in Redis in the order they were made.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from ..errors import StateStoreError
from ..managers import StateManager
from ..settings import Settings
from ..state import State
from . import scripts
from .cache import TreeCache
from .client import Pool, StoreCall, connect, describe, new_worker_id
from .commits import CommitBook, OnRefused
from .heldwatch import HeldWatch
from .loader import TabLoader
from .locks import RedisTabLocks, tab_keys
from .modify import Modify, Store
from .stream import CommandStream
from .writer import Announce, CommitWriter

__all__ = ["RedisStateManager"]

logger = logging.getLogger("engine.redis")


class RedisStateManager(StateManager):
    """Keeps every tab's state in Redis so that several worker processes can serve it.

    Args:
        settings: `redis_url`, `state_ttl`, `lock_lease`, `lock_warn_after`, `lock_timeout` apply.
        client: a `redis.asyncio.Redis` to use instead of one made from `settings.redis_url`.
        worker: this worker's id (the App shares one between its manager, directory and relay).
        announce: how a commit publishes the update for a tab whose socket is on another worker,
            in the same step as its write; `channel` is where (the Socket.IO relay's channel).
        on_refused: told when Redis refused a pipelined commit (the App reports it and resyncs the tab).
        busy: whether a background task of the tab runs on this worker (its lease is then kept longer).
        before_release: awaited before a lock is released (this worker's updates go out first).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        client: Redis | None = None,
        worker: str | None = None,
        announce: Announce | None = None,
        channel: str = "",
        on_refused: OnRefused | None = None,
        busy: Callable[[str], bool] | None = None,
        before_release: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings = settings or Settings.from_env()
        url = settings.redis_url
        if client is None and not url:
            raise StateStoreError("RedisStateManager needs a Redis URL: set REDIS_URL or App(redis_url=...)")
        pool = Pool.of(settings)
        self.redis = client if client is not None else connect(str(url), pool)
        self._listener = connect(str(url), pool, listener=True) if url else self.redis
        kwargs = self.redis.connection_pool.connection_kwargs
        self.where = describe(str(url)) if url else f"{kwargs.get('host')}:{kwargs.get('port')}"
        self._call = StoreCall(self.where, pool)
        self.worker = worker or new_worker_id()  # this worker's id in lock keys and versions
        self.stream = CommandStream(self.redis, self._call)
        self.locks = RedisTabLocks(
            self.stream, self._listener, settings, self.worker, self._call, busy=busy, before_release=before_release
        )
        self.cache = TreeCache(settings.max_tabs)
        self.writer = CommitWriter(self.stream, self.locks, settings, self.worker, announce=announce, channel=channel)
        self.book = CommitBook(self.locks, self.cache, self._call, on_refused)
        self.loader = TabLoader(self.cache, self.writer, self.book, settings.max_state_bytes)
        self._read = self.stream.script(scripts.READ, "reading a state")
        self._store = Store(
            settings, self.locks, self.cache, self.writer, self.book, self.loader,
            HeldWatch(settings.lock_warn_after, self._warn_held),
        )

    @staticmethod
    def state_key(token: str) -> str:
        return tab_keys(token, "state")[0]

    @staticmethod
    def lock_key(token: str) -> str:
        return tab_keys(token, "lock")[0]

    # -- the StateManager interface ---------------------------------------------------
    def modify(self, token: str) -> Modify:
        return Modify(self._store, token)

    async def socket_here(self, token: str) -> None:
        """Record in Redis that the tab's socket is on this worker (before the tab's state is read for it).

        Sent on the command stream ahead of the read's ACQUIRE. A worker that
        changes the tab takes the lock after that read, so its ACQUIRE sees
        the record, and its commits publish their updates for this worker
        (scripts.ACQUIRE, locks._Hold). No record, or this worker's own: a
        commit publishes nothing. The record is refreshed with the state.
        """
        key = tab_keys(token, "socket")[0]
        sent = self.stream.send(("SET", key, self.worker, "PX", self.writer.ttl_ms), "registering a socket")
        await self.locks.reply(sent, "registering the socket of tab", token)

    async def peek(self, token: str) -> State | None:
        """The last committed state, read without the lock; None when missing or rejected.

        Read on the command stream, so it sees every commit this worker sent before.
        """
        read = self._read(keys=tab_keys(token, "state", "log"), args=())
        reply = await self.locks.reply(read, "reading the state of tab", token)
        if not reply:
            return None
        loaded = self.loader.load(token, reply[0], reply[1])
        return loaded.root if loaded is not None else None

    def locked(self, token: str) -> bool:
        """Whether a task of this process holds the tab's lock (for any worker: `is_locked`)."""
        return self.locks.locked(token)

    async def is_locked(self, token: str) -> bool:
        """Whether any worker holds the tab's lock, according to Redis."""
        found = await self._call(lambda: self.redis.exists(self.lock_key(token)), "checking a lock")
        return bool(found)

    def stats(self) -> dict[str, Any]:
        return {
            "locks_held": self.locks.held(),
            "cached_tabs": len(self.cache),
            "notifications_live": self.locks.hub.live,
            "store_errors": self._call.failures,
            "store_busy": self._call.busy,
            "commits_on_their_way": self.book.on_their_way,
            "stream_reconnects": self.stream.reconnects,
            "cache_hits": self.cache.hits,
            "bytes_written": self.writer.bytes_written,
            **self.locks.counts,
            **self.book.counts,
            **self.loader.counts,
        }

    async def close(self) -> None:
        self._store.held_watch.close()
        await self.locks.close()
        await self.stream.close()
        await self.redis.aclose()
        if self._listener is not self.redis:
            await self._listener.aclose()

    def _warn_held(self, token: str, holder: str) -> None:
        logger.warning(
            "%s has held the lock of tab %s for %gs (setting lock_warn_after); other events of the tab "
            "wait meanwhile, and after lock_lease=%gs its changes will be refused. "
            "Await slow work outside `async with self`",
            holder, token[:8], self.settings.lock_warn_after, self.settings.lock_lease,
        )
