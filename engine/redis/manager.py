"""Tab states in Redis, shared by every worker process.

With several workers, any of them may run a tab's event, background task or
`modify_state`, so the state and its lock live in Redis. Per tab:

    engine:{token}:state   hash {version, seq, data}   TTL state_ttl, refreshed on use
    engine:{token}:lock    the holding worker's id      PX lock_lease (redis_lock.py)

`modify(token)` takes the tab's lock and loads the state in one script,
yields a Transaction, and commits through another script that checks the
holder and the version it read before writing (scripts.py): a holder
whose lease ran out gets `LockExpiredError` and can never overwrite a newer
state. Stored data is checked against the vars' annotations (stored.py).

Each worker keeps the last state tree it committed or read per tab, with
its version: taking the lock returns the data only when that version is no
longer current, so a tab served by one worker costs no JSON parsing.

A tab whose state is missing while the tab may be showing older values
(the key expired, Redis was flushed or restarted, the data was rejected)
gets a transaction that `replaces` it: its first commit asks for a full
update instead of a delta. A new tab's defaults are stored when its first block
ends, so "missing" later means "vanished".
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict
from typing import Any

from redis.asyncio import Redis

from ..errors import StateLockError, StateStoreError, StoredStateError
from ..locks import TabLock
from ..managers import StateManager, Transaction
from ..settings import Settings
from ..state import State
from . import scripts
from .client import Pool, StoreCall, connect, describe, new_worker_id
from .locks import RedisTabLocks, tab_keys
from .stored import dump_tree, load_tree

__all__ = ["RedisStateManager"]

logger = logging.getLogger("engine.redis")


class _Cached:
    __slots__ = ("root", "seq", "version")

    def __init__(self, version: str, root: State, seq: int) -> None:
        self.version = version
        self.root = root
        self.seq = seq


class _RedisTransaction(Transaction):
    """A Transaction whose commits go through the COMMIT script."""

    __slots__ = ("_manager", "stored", "version")

    def __init__(
        self, manager: RedisStateManager, token: str, root: State, seq: int, version: str, *, stored: bool = True
    ) -> None:
        super().__init__(token, root, seq, replaces=not stored)
        self._manager = manager
        self.version = version  # of the stored state this holder read ('' when none)
        self.stored = stored  # False until a usable state for this tab is in Redis

    async def _persist(self, seq: int) -> None:
        """Run the COMMIT script; a cancellation meanwhile waits for its answer, then is honoured."""
        version = self._manager._new_version()
        write = asyncio.ensure_future(self._manager._write(self, seq, version))
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            await _wait_out(write)
            if write.cancelled() or write.exception() is not None:
                raise  # it did not land: nothing is stored, the cancellation stands
            self.cancel_after_commit()  # it landed: the commit completes, then the cancellation
        self.version = version
        self.stored = True


class _Modify:
    """The `modify(token)` block: the tab's lock and state; commit; release (or keep) the lock."""

    __slots__ = ("_held", "_lock", "_manager", "_timer", "_token", "_tx")

    def __init__(self, manager: RedisStateManager, token: str) -> None:
        self._manager = manager
        self._token = token
        self._held = False
        self._timer: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> Transaction:
        manager, token = self._manager, self._token
        locks, settings = manager.locks, manager.settings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.lock_timeout
        self._lock: TabLock = await locks.enter(token, settings.lock_timeout)
        self._held = True
        try:
            cached = manager._cache.get(token)
            if cached is not None and locks.reusable(token):
                reply = None  # the lock never left this worker: the cached tree is current
            else:
                version = cached.version if cached is not None else ""
                reply = await locks.acquire(token, deadline, (manager._ttl_ms, version))
            task = asyncio.current_task()
            self._timer = loop.call_later(
                settings.lock_warn_after, manager._warn_held, token, task.get_name() if task else "?"
            )
            self._tx = manager._open(token, reply, cached)
        except BaseException:
            self._stop_timer()
            self._finish(ok=False)
            raise
        return self._tx

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        manager, tx = self._manager, self._tx
        try:
            if exc_type is not None:
                tx.rollback()
                manager._cache.pop(self._token, None)
            elif not tx.stored:
                await manager._store_defaults(tx)
            else:
                await manager.locks.check_lease(self._token)
                manager._remember(tx)
        finally:
            self._stop_timer()
            release = self._finish(ok=exc_type is None)
            if release is not None:
                await asyncio.shield(release)  # a cancelled holder still lets go

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _finish(self, *, ok: bool) -> asyncio.Task[None] | None:
        """Release the Redis lock now after a failure or when it must go; else pass it on or linger."""
        locks, token = self._manager.locks, self._token
        release = locks.release(token) if not ok or locks.must_release(token) else None
        locks.leave(token, self._lock, held=self._held)
        self._held = False
        return release


class RedisStateManager(StateManager):
    """Keeps every tab's state in Redis so that several worker processes can serve it.

    Args:
        settings: `redis_url`, `state_ttl`, `lock_lease`, `lock_warn_after`, `lock_timeout` apply.
        client: a `redis.asyncio.Redis` to use instead of one made from `settings.redis_url`.
    """

    def __init__(
        self, settings: Settings | None = None, *, client: Redis | None = None, worker: str | None = None
    ) -> None:
        self.settings = settings or Settings.from_env()
        url = self.settings.redis_url
        if client is None and not url:
            raise StateStoreError("RedisStateManager needs a Redis URL: set REDIS_URL or App(redis_url=...)")
        pool = Pool.of(self.settings)
        self.redis = client if client is not None else connect(str(url), pool)
        self._listener = connect(str(url), pool, listener=True) if url else self.redis
        kwargs = self.redis.connection_pool.connection_kwargs
        self.where = describe(str(url)) if url else f"{kwargs.get('host')}:{kwargs.get('port')}"
        self._call = StoreCall(self.where, pool)
        self._id = worker or new_worker_id()  # this worker's id in lock keys and versions
        self.locks = RedisTabLocks(self.redis, self._listener, self.settings, self._id, self._call)
        self._ttl_ms = max(1, round(self.settings.state_ttl * 1000))
        self._lease_ms = max(1, round(self.settings.lock_lease * 1000))
        self._commit_script = self.redis.register_script(scripts.COMMIT)
        self._versions = itertools.count(1)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._counts = dict.fromkeys(("expired", "rejected", "vanished", "cache_hits"), 0)

    @staticmethod
    def state_key(token: str) -> str:
        return tab_keys(token, "state")[0]

    @staticmethod
    def lock_key(token: str) -> str:
        return tab_keys(token, "lock")[0]

    # -- the StateManager interface ---------------------------------------------------
    def modify(self, token: str) -> _Modify:
        return _Modify(self, token)

    async def peek(self, token: str) -> State | None:
        """The last committed state, read without the lock; None when missing or rejected."""
        data = await self._call(
            lambda: self.redis.hget(self.state_key(token), "data"),  # type: ignore[arg-type]
            f"reading the state of tab {token[:8]}",
        )
        if data is None:
            return None
        try:
            return load_tree(token, data)
        except StoredStateError as exc:
            self._reject(token, exc)
            return None

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
            "cached_tabs": len(self._cache),
            "notifications_live": self.locks.hub.live,
            "store_errors": self._call.failures,
            "store_busy": self._call.busy,
            **self.locks.counts,
            **self._counts,
        }

    async def close(self) -> None:
        await self.locks.close()
        await self.redis.aclose()
        if self._listener is not self.redis:
            await self._listener.aclose()

    # -- loading ----------------------------------------------------------------------------
    def _open(self, token: str, reply: list[Any] | None, cached: _Cached | None) -> _RedisTransaction:
        """The holder's transaction, from the cache or the ACQUIRE reply."""
        if reply is None or (len(reply) == 3 and cached is not None and reply[1].decode() == cached.version):
            assert cached is not None
            self._counts["cache_hits"] += 1
            self._cache.move_to_end(token)
            return _RedisTransaction(self, token, cached.root, cached.seq, cached.version)
        if len(reply) == 1:  # nothing stored: a new tab, or one whose state expired or was flushed
            if self._cache.pop(token, None) is not None:
                self._counts["vanished"] += 1
                logger.warning(
                    "the stored state of tab %s vanished (TTL or flush); it starts again from defaults",
                    token[:8],
                )
            return self._fresh(token, "", 0)
        version = reply[1].decode()
        try:
            seq = int(reply[2])
            if seq < 0 or len(reply) < 4:
                raise ValueError
        except ValueError:
            self._reject(token, StoredStateError(f"seq {reply[2][:20]!r} is not a count"))
            return self._fresh(token, version, 0)
        try:
            root = load_tree(token, reply[3])
        except StoredStateError as exc:
            self._reject(token, exc)
            return self._fresh(token, version, seq)
        return _RedisTransaction(self, token, root, seq, version)

    def _fresh(self, token: str, version: str, seq: int) -> _RedisTransaction:
        """Defaults for a tab with no usable stored state; stored when the block ends."""
        return _RedisTransaction(self, token, State._rx_new(token), seq, version, stored=False)

    def _reject(self, token: str, exc: Exception) -> None:
        self._counts["rejected"] += 1
        self._cache.pop(token, None)
        logger.error(
            "rejected the stored state of tab %s: %s; the tab starts again from defaults", token[:8], exc
        )

    def _remember(self, tx: _RedisTransaction) -> None:
        cache = self._cache
        cache[tx.token] = _Cached(tx.version, tx.root, tx.seq)
        cache.move_to_end(tx.token)
        while len(cache) > self.settings.max_tabs:
            cache.popitem(last=False)

    # -- saving -------------------------------------------------------------------------------
    def _new_version(self) -> str:
        return f"{self._id}.{next(self._versions)}"

    async def _store_defaults(self, tx: _RedisTransaction) -> None:
        """Store a tab seen for the first time, so that a missing state later means it vanished."""
        try:
            await tx._persist(tx.seq)
        except (StateStoreError, StateLockError) as exc:
            self._cache.pop(tx.token, None)
            logger.warning("could not store the new state of tab %s: %s", tx.token[:8], exc)
            return
        self._remember(tx)
        if tx.take_pending_cancellation():
            raise asyncio.CancelledError

    async def _write(self, tx: _RedisTransaction, seq: int, version: str) -> None:
        token = tx.token
        data = dump_tree(tx.root)
        keys = tab_keys(token, "lock", "state", "waiting")
        args = (self._id, tx.version, version, seq, data, self._ttl_ms, self._lease_ms)
        sent_at = asyncio.get_running_loop().time()
        result = await self._call(
            lambda: self._commit_script(keys=keys, args=args), f"saving tab {token[:8]}"
        )
        if result > 0:
            self.locks.committed(token, sent_at, awaited=result == 2)
            return
        self._cache.pop(token, None)
        if result == -2 and tx.version:
            self.locks.lost(token)
            raise StateStoreError(
                f"the stored state of tab {token[:8]} vanished (flushed, or Redis restarted) while this "
                "handler ran; the change was discarded and the tab starts again from defaults"
            )
        if result <= 0 and result != -1:
            self.locks.lost(token)
            self._counts["expired"] += 1
            raise self.locks.expired_error(token, "before this change was saved, so it was discarded")
        raise StateStoreError(
            f"the stored state of tab {token[:8]} was replaced or removed while this handler held its lock; "
            "the change was discarded"
        )

    def _warn_held(self, token: str, holder: str) -> None:
        logger.warning(
            "%s has held the lock of tab %s for %gs (setting lock_warn_after); other events of the tab "
            "wait meanwhile, and after lock_lease=%gs its changes will be refused. "
            "Await slow work outside `async with self`",
            holder, token[:8], self.settings.lock_warn_after, self.settings.lock_lease,
        )


async def _wait_out(write: asyncio.Future[None]) -> None:
    """Wait for an in-flight write to end, whatever cancellations arrive meanwhile."""
    while not write.done():
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            continue
        except Exception:  # its outcome is read by the caller
            return
