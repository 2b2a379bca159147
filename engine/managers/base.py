"""The contract every state manager follows (memory and Redis alike).

`modify(token)` is an async context manager: it takes the tab's lock, loads
the tab's state (a fresh default one for a new token) and yields a
`Transaction`. Every change the holder makes is reported to the
transaction's change log (`log`, changes.py) by the views it goes through;
the holder commits (possibly several times: each `yield` of a handler is a
checkpoint), and if the body raises, everything since the last commit is
rolled back from the log. The lock is released when the block ends, even
when the holder is cancelled.
"""

from __future__ import annotations

import abc
import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Any, NamedTuple

from ..changes import Changes, Commitment
from ..delta import Delta
from ..errors import LimitExceededError
from ..state import State

__all__ = ["Commit", "StateManager", "Transaction"]


class Commit(NamedTuple):
    """What one commit stored: the tab's seq after it, and what the tab must be sent."""

    seq: int
    delta: Delta
    replace: bool  # the stored state had vanished: send every value, not the delta
    published: bool = False  # the store sent the update to the other workers together with the write
    confirmed: asyncio.Future[None] | None = None  # pending write (pipelined): send the update once it is done


class Transaction(Changes):
    """One holder's view of a tab's state under its lock, and the log of what it changed (changes.py).

    A manager that found no usable stored state for a tab it may have served
    before (expired, flushed, rejected) opens the transaction with
    `replaces=True`: the tab can be showing values this state no longer has,
    so its first commit asks for a full update instead of a delta.
    `max_bytes` is what the tab's state may hold (setting max_state_bytes).
    """

    __slots__ = (
        "_cancel_after_commit", "_replace", "confirmed", "landed_when_cancelled", "max_bytes", "published", "root",
        "seq", "token",
    )
    stores_at_once = False  # `_store_now` stores a commit without waiting (the memory manager)

    def __init__(self, token: str, root: State, seq: int, max_bytes: int, *, replaces: bool = False) -> None:
        self.token = token
        self.root = root
        self.seq = seq
        self.max_bytes = max_bytes
        self._replace = replaces
        self.olds = {}  # (the change log's own fields, set here: a transaction is made for every block)
        self.logs = None
        self.undo = []
        self._cancel_after_commit = False
        self.landed_when_cancelled: Commit | None = None
        self.published = False  # set by `_persist`: the write also published the update
        self.confirmed: asyncio.Future[None] | None = None  # set by `_persist`: the write is still under way

    def _changes(self) -> Commitment:
        """What changed since the last commit; `LimitExceededError` if the state would grow past max_bytes."""
        changes = self.delta()
        if changes.grew > 0 and self.root._rx_total + changes.grew > self.max_bytes:
            raise self._too_big(changes)
        return changes

    def _too_big(self, changes: Commitment) -> LimitExceededError:
        grown = changes.biggest()
        what = f"{type(grown[0]).__name__}.{grown[1]}" if grown is not None else "it"
        total = self.root._rx_total + changes.grew
        return LimitExceededError(
            f"{what} grew tab {self.token[:8]}'s state to {total:,} bytes, more than it may hold "
            f"(setting max_state_bytes={self.max_bytes:,}); the change was rolled back. Keep long lists "
            "and texts bounded: drop the oldest items as new ones come"
        )

    def commit_now(self, *, final: bool = False) -> Commit:
        """`commit()` for a store that needs no waiting (`stores_at_once`): the same steps, no await."""
        changes = self.delta()  # (`_changes()`, inlined: every block in memory commits here)
        delta, stored, sizes, grew = changes  # (unpacked: a NamedTuple's fields are read the slow way)
        if grew > 0 and self.root._rx_total + grew > self.max_bytes:
            raise self._too_big(changes)
        if stored:
            seq = self.seq + 1 if delta else self.seq
            self._store_now(seq, changes)
            self.seq = seq
        if sizes:  # (`_committed()`, inlined likewise)
            changes.settle(self.root)
        self.olds.clear()  # (`clear()`, inlined likewise)
        self.logs = None
        if self.undo:
            self.undo.clear()
        commit = tuple.__new__(Commit, (self.seq, delta, self._replace, False, None))
        self._replace = False
        return commit

    def _committed(self, changes: Commitment, published: bool, confirmed: asyncio.Future[None] | None) -> Commit:
        """After a commit landed: its sizes count, the next changes are logged afresh; what the tab is sent."""
        if changes.sizes:
            changes.settle(self.root)
        self.clear()
        commit = tuple.__new__(Commit, (self.seq, changes.delta, self._replace, published, confirmed))
        self._replace = False
        return commit

    def _store_now(self, seq: int, changes: Commitment) -> None:
        raise NotImplementedError("only a Transaction with stores_at_once stores without waiting")

    def end_now(self, exc_type: Any) -> None:
        """Leave the block without waiting (`stores_at_once`): roll back if `exc_type` is set, release the lock."""
        raise NotImplementedError("only a Transaction with stores_at_once ends without waiting")

    async def commit(self, *, final: bool = False) -> Commit:
        """Persist what changed since the last commit; return what to send the tab.

        `seq` grows by one when the public delta is not empty. A cancellation
        that arrives while the change is being stored does not cut it short:
        the commit lands, `landed_when_cancelled` says so, and then
        `CancelledError` is raised.
        """
        changes = self._changes()
        published, confirmed = False, None
        if changes.stored:
            seq = self.seq + 1 if changes.delta else self.seq
            await self._persist(seq, changes)
            self.seq = seq
            published, confirmed = self.published, self.confirmed
            self.published, self.confirmed = False, None
        commit = self._committed(changes, published, confirmed)
        if self.take_pending_cancellation():
            self.landed_when_cancelled = commit
            raise asyncio.CancelledError
        return commit

    def cancel_after_commit(self) -> None:
        """For `_persist`: a cancellation arrived while storing; honour it once the commit is done."""
        self._cancel_after_commit = True

    def take_pending_cancellation(self) -> bool:
        """Whether `_persist` deferred a cancellation that its caller must now raise."""
        pending, self._cancel_after_commit = self._cancel_after_commit, False
        return pending

    async def _persist(self, seq: int, changes: Commitment) -> None:
        """Write the changes and the new seq to storage (nothing to do in memory).

        A store may also publish the update (`changes.delta`) to the other
        workers in the same write (then it sets `published`), or return before
        the write is confirmed (then it sets `confirmed`, a future that fails
        if the write is refused).
        """

    async def settled(self) -> None:
        """Wait until every write sent for this tab is confirmed (a store that pipelines them)."""


class StateManager(abc.ABC):
    """Where tab states live, and the per-tab lock that guards them."""

    @abc.abstractmethod
    def modify(self, token: str) -> AbstractAsyncContextManager[Transaction]:
        """Lock the tab, load its state, yield a Transaction; roll back on error."""

    def modify_now(self, token: str) -> Transaction | None:
        """Enter `modify(token)` without waiting if that can be done (a free lock in memory), else None.

        The caller ends the transaction with `end_now()` (such a transaction
        `stores_at_once`). The path of every block in memory: no coroutine is
        made for the lock when nobody else holds it.
        """
        return None

    async def socket_here(self, token: str) -> None:  # noqa: B027 - one process needs no record
        """The tab's socket is on this worker from now on (before it is sent its state).

        A store shared by several workers records it, so that a worker
        changing the tab knows whether another one must be sent the update.
        """

    @abc.abstractmethod
    async def peek(self, token: str) -> State | None:
        """The tab's last committed state without taking the lock (read-only use), or None."""

    @abc.abstractmethod
    def locked(self, token: str) -> bool:
        """Whether some holder has the tab's lock right now (as far as this process knows)."""

    async def close(self) -> None:  # noqa: B027 - a manager with nothing to release need not override it
        """Release connections; the manager is not used afterwards."""

    def stats(self) -> dict[str, Any]:
        """Numbers for logs and tests (tabs held, locks held...)."""
        return {}
