"""The contract every state manager follows (memory and Redis alike).

`modify(token)` is an async context manager: it takes the tab's lock, loads
the tab's state (a fresh default one for a new token) and yields a
`Transaction`. The caller commits (possibly several times: each `yield` of a
handler is a checkpoint); if the body raises, everything since the last
commit is rolled back. The lock is released when the block ends, even when
the task is cancelled.
"""

from __future__ import annotations

import abc
from contextlib import AbstractAsyncContextManager
from typing import Any

from ..delta import Delta, Snapshot, backend_changed, capture, diff, restore
from ..state import State

__all__ = ["StateManager", "Transaction"]


class Transaction:
    """One holder's view of a tab's state under its lock.

    `fresh` is set by a manager that found no usable stored state for a tab
    it may have served before (expired, flushed, rejected): the tab can be
    showing values this state no longer has, so the App sends it a full
    update instead of a delta (and clears the flag).
    """

    __slots__ = ("_snapshot", "fresh", "root", "seq", "token")

    def __init__(self, token: str, root: State, seq: int) -> None:
        self.token = token
        self.root = root
        self.seq = seq
        self.fresh = False
        self._snapshot: Snapshot | None = capture(root)

    async def commit(self, *, final: bool = False) -> Delta:
        """Persist what changed since the last commit; return the public delta.

        `seq` grows by one when the delta is not empty. With `final=True` no
        new baseline is taken (the block is ending).
        """
        snapshot = self._snapshot if self._snapshot is not None else capture(self.root)
        delta = diff(self.root, snapshot)
        if delta or backend_changed(self.root, snapshot):
            seq = self.seq + 1 if delta else self.seq
            await self._persist(seq)
            self.seq = seq
        self._snapshot = None if final else capture(self.root)
        return delta

    def rollback(self) -> None:
        """Undo every change since the last commit."""
        if self._snapshot is not None:
            restore(self.root, self._snapshot)

    async def _persist(self, seq: int) -> None:
        """Write the state and its new seq to storage (nothing to do in memory)."""


class StateManager(abc.ABC):
    """Where tab states live, and the per-tab lock that guards them."""

    @abc.abstractmethod
    def modify(self, token: str) -> AbstractAsyncContextManager[Transaction]:
        """Lock the tab, load its state, yield a Transaction; roll back on error."""

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
