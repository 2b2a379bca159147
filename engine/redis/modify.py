"""The `modify(token)` block on Redis: take the lock and state, hand out the transaction, let go or keep the lease."""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from ..locks import TabLock
from ..managers import Transaction
from ..settings import Settings
from .cache import TreeCache
from .commits import CommitBook
from .heldwatch import HeldWatch
from .loader import TabLoader
from .locks import RedisTabLocks
from .transaction import RedisTransaction
from .writer import CommitWriter

__all__ = ["Modify", "Store"]


class Store(NamedTuple):
    """What a block on Redis works with: one of each per worker, made by the manager."""

    settings: Settings
    locks: RedisTabLocks
    cache: TreeCache
    writer: CommitWriter
    book: CommitBook
    loader: TabLoader
    held_watch: HeldWatch


class Modify:
    """The `modify(token)` block: the tab's lock and state; commit; release (or keep) the lock."""

    __slots__ = ("_held", "_lock", "_store", "_token", "_tx")

    def __init__(self, store: Store, token: str) -> None:
        self._store = store
        self._token = token
        self._held = False

    async def __aenter__(self) -> Transaction:
        store, token = self._store, self._token
        locks, timeout = store.locks, store.settings.lock_timeout
        store.book.raise_refusal(token)
        deadline = asyncio.get_running_loop().time() + timeout
        self._lock: TabLock = await locks.enter(token, timeout)
        self._held = True
        try:
            cached = store.cache.get(token)
            if cached is not None and locks.reusable(token):
                reply = None  # the lock never left this worker: the cached tree is current
            else:
                version = cached.version if cached is not None else ""
                reply = await locks.acquire(token, deadline, (store.writer.ttl_ms, version))
            store.held_watch.opened(self, token)
            self._tx: RedisTransaction = store.loader.open(token, reply, cached)
        except BaseException:
            store.held_watch.closed(self)
            self._finish(ok=False)
            raise
        return self._tx

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        store, tx, token = self._store, self._tx, self._token
        try:
            if exc_type is not None:
                tx.rollback()
                store.cache.forget(token)
            elif not tx.stored:
                if await tx.store_first():
                    store.cache.remember(token, tx.version, tx.root, tx.seq, tx.log_bytes)
                    if tx.take_pending_cancellation():
                        raise asyncio.CancelledError
                else:
                    store.cache.forget(token)
            else:
                await store.locks.check_lease(token)
                store.cache.remember(token, tx.version, tx.root, tx.seq, tx.log_bytes)
        finally:
            store.held_watch.closed(self)
            release = self._finish(ok=exc_type is None)
            if release is not None:
                await asyncio.shield(release)  # a cancelled holder still lets go

    def _finish(self, *, ok: bool) -> asyncio.Task[None] | None:
        """Release the Redis lock now after a failure or when it must go; else pass it on or linger."""
        locks, token = self._store.locks, self._token
        release = locks.release(token) if not ok or locks.must_release(token) else None
        locks.leave(token, self._lock, held=self._held)
        self._held = False
        return release
