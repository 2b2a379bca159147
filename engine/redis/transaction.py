"""A holder's block on a tab in Redis: take the lock and state, commit through COMMIT, let go or keep the lease.

`Modify` is the `modify(token)` block; `RedisTransaction` the holder's view
of the state. A commit is one EVALSHA on the worker's command stream
(stream.py). In confirm mode the block waits for its reply; in pipelined
mode (`redis_commit_mode`) it goes on at once and the commit's `confirmed`
future tells the runner when the tab may be sent the update. Either way the
update for a tab on another worker is published by the COMMIT script itself,
in the same atomic step as the write (scripts.py).

A pipelined commit that Redis refuses (the lease was lost) discards every
later change built on it: the commits sent after it are refused too (each
names the version it built on), the cached state and the lease are dropped,
the App is told (`on_refused`: it reports the error to the tab and resyncs
it from Redis), and the task that made the change gets `LockExpiredError`
at its next block.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..delta import Delta, every_public_value
from ..errors import StateStoreError
from ..locks import TabLock
from ..managers import Transaction
from ..state import State
from .locks import tab_keys
from .stored import dump_tree
from .stream import uncancelled

if TYPE_CHECKING:
    from .manager import RedisStateManager

__all__ = ["Modify", "RedisTransaction", "Refusal", "refused"]


class Refusal:
    """A pipelined commit was refused: the lease it was made under, who made it, the error its next block raises."""

    __slots__ = ("error", "hold", "raised", "task")

    def __init__(self, error: Exception, task: asyncio.Task[Any] | None, hold: object) -> None:
        self.error = error
        self.task = task
        self.hold = hold
        self.raised = False


class RedisTransaction(Transaction):
    """A Transaction whose commits go through the COMMIT script."""

    __slots__ = ("_manager", "stored", "version")

    def __init__(
        self, manager: RedisStateManager, token: str, root: State, seq: int, version: str, *, stored: bool = True
    ) -> None:
        super().__init__(token, root, seq, replaces=not stored)
        self._manager = manager
        self.version = version  # of the stored state this holder read ('' when none)
        self.stored = stored  # False until a usable state for this tab is in Redis

    async def _persist(self, seq: int, delta: Delta) -> None:
        manager = self._manager
        number = next(manager._versions)
        version = f"{manager._id}.{number}"
        token = self.token
        hold = manager.locks.hold_of(token)
        update, published = "", False
        announce = manager.announce
        if announce is not None and (delta or self._replace):
            # Built and published with the write only when the tab's socket was on another
            # worker when this lease began (see locks._Hold); "" when no worker has it.
            elsewhere = hold is None or hold.remote_socket
            full = every_public_value(self.root) if self._replace and elsewhere else None
            message = announce(token, seq, delta, full, elsewhere)
            if message is not None:  # the tab's socket is not here: this commit is all it gets
                update, published = message, True
        args = (manager._id, self.version, version, seq, dump_tree(self.root), manager._ttl_ms, manager._lease_ms,
                number, manager.updates_channel, update)
        sent_at = asyncio.get_running_loop().time()
        keys = tab_keys(token, "lock", "state", "waiting", "socket")
        write = asyncio.ensure_future(manager._commit_script(keys=keys, args=args))
        built_on, self.version = self.version, version
        self.stored = True
        self.published = published
        if manager.pipelined and manager.stream.pending <= manager.settings.redis_pipeline_depth:
            self.confirmed = manager.confirming(token, write, hold, sent_at, built_on)
            return
        try:
            result = await uncancelled(write)
        except asyncio.CancelledError:
            await _wait_out(write)
            if write.cancelled() or write.exception() is not None:
                raise  # it did not land: nothing is stored, the cancellation stands
            self.cancel_after_commit()  # it landed: the commit completes, then the cancellation
            result = write.result()
        except Exception as exc:
            raise manager.failed(token, exc, hold) from None
        manager.landed(token, result, hold, sent_at, built_on)

    async def settled(self) -> None:
        await self._manager.settled(self.token)


class Modify:
    """The `modify(token)` block: the tab's lock and state; commit; release (or keep) the lock."""

    __slots__ = ("_held", "_lock", "_manager", "_token", "_tx")

    def __init__(self, manager: RedisStateManager, token: str) -> None:
        self._manager = manager
        self._token = token
        self._held = False

    async def __aenter__(self) -> Transaction:
        manager, token = self._manager, self._token
        locks, settings = manager.locks, manager.settings
        if manager._refusals:
            manager.raise_refusal(token)
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
            manager.held_watch.opened(self, token)
            self._tx = manager._open(token, reply, cached)
        except BaseException:
            manager.held_watch.closed(self)
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
            manager.held_watch.closed(self)
            release = self._finish(ok=exc_type is None)
            if release is not None:
                await asyncio.shield(release)  # a cancelled holder still lets go

    def _finish(self, *, ok: bool) -> asyncio.Task[None] | None:
        """Release the Redis lock now after a failure or when it must go; else pass it on or linger."""
        locks, token = self._manager.locks, self._token
        release = locks.release(token) if not ok or locks.must_release(token) else None
        locks.leave(token, self._lock, held=self._held)
        self._held = False
        return release


async def _wait_out(write: asyncio.Future[Any]) -> None:
    """Wait for an in-flight write to end, whatever cancellations arrive meanwhile."""
    while not write.done():
        try:
            await uncancelled(write)
        except asyncio.CancelledError:
            continue
        except Exception:  # its outcome is read by the caller
            return


def refused(result: int, token: str, manager: RedisStateManager, built_on: str) -> Exception:
    """The error for a COMMIT reply that is not a success (`built_on`: the version the change was made on)."""
    if result == -2 and built_on:
        return StateStoreError(
            f"the stored state of tab {token[:8]} vanished (flushed, or Redis restarted) while this "
            "handler ran; the change was discarded and the tab starts again from defaults"
        )
    if result == -1:
        return StateStoreError(
            f"the stored state of tab {token[:8]} was replaced or removed while this handler held its lock; "
            "the change was discarded"
        )
    return manager.locks.expired_error(token, "before this change was saved, so it was discarded")

