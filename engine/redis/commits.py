"""What this worker knows of its commits once they are sent: landed, refused, or still on their way.

In confirm mode a block waits for its COMMIT's reply and hands it to
`landed` (or its failure to `failed`). In pipelined mode the block goes on
at once: `confirming` gives the runner a future that is done once Redis
holds the change, failed if Redis refused it.

A pipelined commit that Redis refuses (the lease was lost) discards every
later change built on it: the commits sent after it are refused too (each
names the version it built on), the cached tree and the lease are dropped,
`on_refused` is told (the App reports the error to the tab and resyncs it
from Redis), and the task that made the change gets the error at its next
block (`raise_refusal`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ..errors import LockExpiredError, StateLockError, StateStoreError
from .cache import TreeCache
from .client import StoreCall
from .locks import RedisTabLocks

__all__ = ["CommitBook", "Refusal"]

logger = logging.getLogger("engine.redis")

OnRefused = Callable[[str, Exception], None]


class Refusal:
    """A pipelined commit was refused: the lease it was made under, who made it, the error its next block raises."""

    __slots__ = ("error", "hold", "raised", "task")

    def __init__(self, error: Exception, task: asyncio.Task[Any] | None, hold: object) -> None:
        self.error = error
        self.task = task
        self.hold = hold
        self.raised = False


class CommitBook:
    """Commits on their way and commits refused, per tab (see the module docstring)."""

    def __init__(self, locks: RedisTabLocks, cache: TreeCache, call: StoreCall, on_refused: OnRefused | None) -> None:
        self._locks = locks
        self._cache = cache
        self._call = call
        self._on_refused = on_refused
        self._pending: dict[str, asyncio.Future[None]] = {}  # per tab, its last commit on its way
        self._refusals: dict[str, Refusal] = {}  # per tab, a refused commit its task must hear of
        self.counts = {"expired": 0, "refused": 0}

    @property
    def on_their_way(self) -> int:
        return len(self._pending)

    def landed(self, token: str, result: int, hold: object, sent_at: float, built_on: str) -> None:
        """A COMMIT's reply: renew the hold; or drop what the refused change was built on and raise."""
        if result > 0:
            self._locks.committed(token, sent_at, awaited=result == 2)
            if self._refusals:
                self._forget_refusal(token, hold)
            return
        raise self.failed(token, self._refused_error(result, token, built_on), hold, lost=result not in (-1, -3))

    def failed(self, token: str, exc: BaseException, hold: object, *, lost: bool = False) -> Exception:
        """A commit did not land (or may not have): forget the cached tree it was built on; the error to raise.

        `lost`: Redis said the lock is not ours any more, so the hold goes too.
        """
        if not isinstance(exc, (StateStoreError, StateLockError)):
            exc = self._call.error(exc, f"saving tab {token[:8]}")
        if self._locks.hold_of(token) is hold:  # (not when a newer lease already read the tab again)
            self._cache.forget(token)
            if lost:
                self._locks.lost(token)
        if isinstance(exc, LockExpiredError):
            self.counts["expired"] += 1
        return exc

    def _refused_error(self, result: int, token: str, built_on: str) -> Exception:
        """The error for a COMMIT reply that is not a success (`built_on`: the version the change was made on)."""
        if result == -2 and built_on:
            return StateStoreError(
                f"the stored state of tab {token[:8]} vanished (flushed, or Redis restarted) while this "
                "handler ran; the change was discarded and the tab starts again from defaults"
            )
        if result == -3:
            return StateStoreError(
                f"Redis no longer holds the last change this worker stored for tab {token[:8]} (a failover "
                "promoted a replica that had not received it yet, or Redis restarted without it); this change, "
                "built on it, was discarded and the tab is sent what Redis holds. redis_commit_mode='replicated' "
                "keeps what a tab was shown through a failover"
            )
        if result == -1:
            return StateStoreError(
                f"the stored state of tab {token[:8]} was replaced or removed while this handler held its lock; "
                "the change was discarded"
            )
        return self._locks.expired_error(token, "before this change was saved, so it was discarded")

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
        self.counts["refused"] += 1
        self._refusals[token] = Refusal(error, task, hold)
        logger.warning("a pipelined commit of tab %s was refused: %s", token[:8], error)
        if self._on_refused is not None:
            self._on_refused(token, error)

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
        if not self._refusals:
            return
        refusal = self._refusals.get(token)
        if refusal is not None and not refusal.raised and refusal.task is asyncio.current_task():
            refusal.raised = True
            raise refusal.error


def _retrieved(future: asyncio.Future[None]) -> None:
    """A refusal is reported to the tab; nobody need await the future for it to count as seen."""
    if not future.cancelled():
        future.exception()
