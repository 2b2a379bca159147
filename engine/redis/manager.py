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

Commits, locks and reads of a tab go through the worker's command stream
(stream.py): one pipelined connection, so a tab's commands run in Redis in
the order they were made. How a block commits, in confirm or pipelined mode,
is in transaction.py.

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
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from ..delta import Delta
from ..errors import LockExpiredError, StateLockError, StateStoreError, StoredStateError
from ..managers import StateManager
from ..settings import Settings
from ..state import State
from . import scripts
from .client import Pool, StoreCall, connect, describe, new_worker_id
from .heldwatch import HeldWatch
from .locks import RedisTabLocks, tab_keys
from .stored import load_tree
from .stream import CommandStream
from .transaction import Modify, RedisTransaction, Refusal, refused

# What a commit publishes for a tab on another worker: (token, seq, delta, every value when the tab
# must be sent its whole state, whether another worker may have the tab's socket) -> the relay's
# message; "" when no worker has the socket; None when the socket is here (sent after the commit).
Announce = Callable[[str, int, Delta, "Delta | None", bool], "str | None"]

__all__ = ["RedisStateManager"]

logger = logging.getLogger("engine.redis")


class _Cached:
    __slots__ = ("root", "seq", "version")

    def __init__(self, version: str, root: State, seq: int) -> None:
        self.version = version
        self.root = root
        self.seq = seq


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
        self.stream = CommandStream(self.redis, self._call)
        self.locks = RedisTabLocks(self.stream, self._listener, self.settings, self._id, self._call)
        self._ttl_ms = max(1, round(self.settings.state_ttl * 1000))
        self._lease_ms = max(1, round(self.settings.lock_lease * 1000))
        self._commit_script = self.stream.script(scripts.COMMIT, "saving a tab")
        self.held_watch = HeldWatch(self.settings.lock_warn_after, self._warn_held)
        self._versions = itertools.count(1)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._counts = dict.fromkeys(("expired", "rejected", "vanished", "cache_hits", "refused"), 0)
        self.pipelined = self.settings.redis_commit_mode == "pipelined"
        self._pending: dict[str, asyncio.Future[None]] = {}  # per tab, its last commit on its way (pipelined)
        self._refusals: dict[str, Refusal] = {}  # per tab, a refused pipelined commit its task must hear of
        # Set by the App: how an update for a tab on another worker is published with its commit, and
        # what to do when a pipelined commit is refused (tell the tab, resync it).
        self.announce: Announce | None = None
        self.updates_channel = ""
        self.on_refused: Callable[[str, Exception], None] | None = None

    @staticmethod
    def state_key(token: str) -> str:
        return tab_keys(token, "state")[0]

    @staticmethod
    def lock_key(token: str) -> str:
        return tab_keys(token, "lock")[0]

    # -- the StateManager interface ---------------------------------------------------
    def modify(self, token: str) -> Modify:
        return Modify(self, token)

    async def socket_here(self, token: str) -> None:
        """Record in Redis that the tab's socket is on this worker (before the tab's state is read for it).

        Sent on the command stream ahead of the read's ACQUIRE. A worker that
        changes the tab takes the lock after that read, so its ACQUIRE sees
        the record, and its commits publish their updates for this worker
        (scripts.ACQUIRE, locks._Hold). No record, or this worker's own: a
        commit publishes nothing. The record is refreshed with the state.
        """
        key = tab_keys(token, "socket")[0]
        sent = self.stream.send(("SET", key, self._id, "PX", self._ttl_ms), "registering a socket")
        await self.locks.reply(sent, "registering the socket of tab", token)

    async def peek(self, token: str) -> State | None:
        """The last committed state, read without the lock; None when missing or rejected.

        Read on the command stream, so it sees every commit this worker sent before.
        """
        read = self.stream.send(("HGET", self.state_key(token), "data"), "reading a state")
        data = await self.locks.reply(read, "reading the state of tab", token)
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
            "commits_on_their_way": len(self._pending),
            "stream_reconnects": self.stream.reconnects,
            **self.locks.counts,
            **self._counts,
        }

    async def close(self) -> None:
        self.held_watch.close()
        await self.locks.close()
        await self.stream.close()
        await self.redis.aclose()
        if self._listener is not self.redis:
            await self._listener.aclose()

    # -- loading ----------------------------------------------------------------------------
    def _open(self, token: str, reply: list[Any] | None, cached: _Cached | None) -> RedisTransaction:
        """The holder's transaction, from the cache or the ACQUIRE reply."""
        if reply is None or (len(reply) == 3 and cached is not None and reply[1].decode() == cached.version):
            assert cached is not None
            self._counts["cache_hits"] += 1
            self._cache.move_to_end(token)
            return RedisTransaction(self, token, cached.root, cached.seq, cached.version)
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
        return RedisTransaction(self, token, root, seq, version)

    def _fresh(self, token: str, version: str, seq: int) -> RedisTransaction:
        """Defaults for a tab with no usable stored state; stored when the block ends."""
        return RedisTransaction(self, token, State._rx_new(token), seq, version, stored=False)

    def _reject(self, token: str, exc: Exception) -> None:
        self._counts["rejected"] += 1
        self._cache.pop(token, None)
        logger.error(
            "rejected the stored state of tab %s: %s; the tab starts again from defaults", token[:8], exc
        )

    def _remember(self, tx: RedisTransaction) -> None:
        cache = self._cache
        cache[tx.token] = _Cached(tx.version, tx.root, tx.seq)
        cache.move_to_end(tx.token)
        while len(cache) > self.settings.max_tabs:
            cache.popitem(last=False)

    # -- saving -------------------------------------------------------------------------------
    async def _store_defaults(self, tx: RedisTransaction) -> None:
        """Store a tab seen for the first time, so that a missing state later means it vanished."""
        try:
            await tx._persist(tx.seq, {})
        except (StateStoreError, StateLockError) as exc:
            self._cache.pop(tx.token, None)
            logger.warning("could not store the new state of tab %s: %s", tx.token[:8], exc)
            return
        self._remember(tx)
        if tx.take_pending_cancellation():
            raise asyncio.CancelledError

    def landed(self, token: str, result: int, hold: object, sent_at: float, built_on: str) -> None:
        """A COMMIT's reply: renew the hold; or drop what the refused change was built on and raise."""
        if result > 0:
            self.locks.committed(token, sent_at, awaited=result == 2)
            if self._refusals:
                self._forget_refusal(token, hold)
            return
        raise self.failed(token, refused(result, token, self, built_on), hold, lost=result != -1)

    def failed(self, token: str, exc: BaseException, hold: object, *, lost: bool = False) -> Exception:
        """A commit did not land (or may not have): forget the cached tree it was built on; the error to raise.

        `lost`: Redis said the lock is not ours any more, so the hold goes too.
        """
        if not isinstance(exc, (StateStoreError, StateLockError)):
            exc = self._call.error(exc, f"saving tab {token[:8]}")
        if self.locks.hold_of(token) is hold:  # (not when a newer lease already read the tab again)
            self._cache.pop(token, None)
            if lost:
                self.locks.lost(token)
        if isinstance(exc, LockExpiredError):
            self._counts["expired"] += 1
        return exc

    def confirming(
        self, token: str, write: asyncio.Future[Any], hold: object, sent_at: float, built_on: str
    ) -> asyncio.Future[None]:
        """Pipelined mode: a future done once Redis has stored this commit, failed if it did not."""
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        confirmed.add_done_callback(_retrieved)
        self._pending[token] = confirmed
        task = asyncio.current_task()

        def reply(_: asyncio.Future[Any]) -> None:
            if self._pending.get(token) is confirmed:
                del self._pending[token]
            try:
                if write.cancelled():
                    raise self.failed(token, StateStoreError(f"saving tab {token[:8]} was cancelled"), hold)
                exc = write.exception()
                if exc is not None:
                    raise self.failed(token, exc, hold)
                self.landed(token, write.result(), hold, sent_at, built_on)
            except Exception as error:
                self._refused(token, error, hold, task)
                confirmed.set_exception(error)
                return
            confirmed.set_result(None)

        write.add_done_callback(reply)
        return confirmed

    def _refused(self, token: str, error: Exception, hold: object, task: asyncio.Task[Any] | None) -> None:
        """The first refused commit of a lease is reported (the later ones were built on it)."""
        known = self._refusals.get(token)
        if known is not None and known.hold is hold:
            return
        self._counts["refused"] += 1
        self._refusals[token] = Refusal(error, task, hold)
        logger.warning("a pipelined commit of tab %s was refused: %s", token[:8], error)
        if self.on_refused is not None:
            self.on_refused(token, error)

    def _forget_refusal(self, token: str, hold: object) -> None:
        known = self._refusals.get(token)
        if known is not None and known.hold is not hold and (known.raised or known.task is None or known.task.done()):
            del self._refusals[token]

    async def settled(self, token: str) -> None:
        """Wait until this worker's commits of the tab are confirmed (pipelined mode); raise if one was refused."""
        pending = self._pending.get(token)
        if pending is not None:
            await asyncio.shield(pending)

    def raise_refusal(self, token: str) -> None:
        """At a block's start: the task whose pipelined commit of this tab was refused gets its error, once."""
        refusal = self._refusals.get(token)
        if refusal is not None and not refusal.raised and refusal.task is asyncio.current_task():
            refusal.raised = True
            raise refusal.error

    def _warn_held(self, token: str, holder: str) -> None:
        logger.warning(
            "%s has held the lock of tab %s for %gs (setting lock_warn_after); other events of the tab "
            "wait meanwhile, and after lock_lease=%gs its changes will be refused. "
            "Await slow work outside `async with self`",
            holder, token[:8], self.settings.lock_warn_after, self.settings.lock_lease,
        )


def _retrieved(future: asyncio.Future[None]) -> None:
    """A refusal is reported to the tab; nobody need await the future for it to count as seen."""
    if not future.cancelled():
        future.exception()
