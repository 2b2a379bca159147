"""The default state manager: every tab's state as live objects in this process."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..changes import Commitment
from ..codec import SCALAR_TYPES
from ..delta import Delta
from ..errors import LimitExceededError, StateLockError
from ..locks import TabLock, held_lock
from ..settings import Settings
from ..state import State
from .base import Commit, StateManager, Transaction

__all__ = ["MemoryStateManager"]


class _Entry:
    __slots__ = ("root", "seq", "used")

    def __init__(self, root: State) -> None:
        self.root = root
        self.seq = 0
        self.used = time.monotonic()


class _MemoryTransaction(Transaction):
    """The `modify(token)` block and its transaction in one object: it is on every event's hot path.

    Entering takes the tab's lock at once when it is free (as `modify_now`
    does), else waits for it; both end by loading the state (`_load`).
    Leaving rolls back if asked and releases (`end_now`).
    """

    __slots__ = ("_entry", "_held", "_lock", "_manager")
    stores_at_once = True

    def __init__(self, manager: MemoryStateManager, token: str) -> None:  # (the Transaction part: on loading)
        self._manager = manager
        self.token = token
        self._held = False

    def _store_now(self, seq: int, changes: Commitment) -> None:
        self._entry.seq = seq

    def commit_now(self, *, final: bool = False) -> Commit:
        """`Transaction.commit_now()`, with the usual block's case in this one frame: plain values set.

        When no operation was logged (`logs` is None) and every var that changed now holds a number,
        a bool or None that replaced no counted text or container, the commit stores and sends just
        the public ones that differ, and no size changes (`delta()` would find the same, and grew=0).
        Anything else (a text, a container, a size to settle) is left to `delta()`.
        """
        if self.logs is not None:
            return Transaction.commit_now(self, final=final)
        delta: Delta = {}
        changed = False
        for state, olds in self.olds.items():
            values = state._rx_values
            known = state._rx_sizes
            cls = type(state)
            shown = None
            for name, old in olds.items():
                now = values[name]
                kind = type(now)
                if kind is str or kind not in SCALAR_TYPES or (known is not None and name in known):
                    return Transaction.commit_now(self, final=final)  # (nothing has changed yet: delta() starts over)
                if now is old or (kind is type(old) and now == old):
                    continue
                changed = True
                if name in cls._rx_backend:
                    continue
                if shown is None:
                    shown = delta[cls._rx_full_name] = {}
                shown[name] = now
        if changed:
            if delta:
                self.seq += 1
            self._entry.seq = self.seq
        self.olds.clear()
        if self.undo:
            self.undo.clear()
        commit = tuple.__new__(Commit, (self.seq, delta, self._replace, False, None))
        self._replace = False
        return commit

    async def _persist(self, seq: int, changes: Commitment) -> None:
        self._store_now(seq, changes)

    async def __aenter__(self) -> Transaction:
        manager, token = self._manager, self.token
        locks = manager._locks
        lock = locks.get(token)
        if lock is None:  # (a lock is in the dict only while it is held or waited for)
            self._lock = locks[token] = held_lock(token)
            self._held = True
            self._load()
            return self
        self._lock = lock
        try:
            await lock.acquire(manager.settings.lock_timeout)
        except TimeoutError:
            self._release()
            raise StateLockError(
                f"waited {manager.settings.lock_timeout}s for the lock of tab {token[:8]} "
                "(setting lock_timeout); another handler is holding it too long"
            ) from None
        except BaseException:
            self._release()
            raise
        self._held = True
        self._load()
        return self

    def _load(self) -> None:
        manager, token = self._manager, self.token
        entries = manager._entries
        entry = entries.get(token)
        if entry is None:
            try:
                entry = manager._create(token)
            except BaseException:
                self._release()
                raise
        else:
            entries.move_to_end(token)  # most recently used last: eviction takes from the front
        entry.used = time.monotonic()
        self._entry = entry
        Transaction.__init__(self, token, entry.root, entry.seq, manager._max_bytes)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.end_now(exc_type)

    def end_now(self, exc_type: Any) -> None:
        try:
            if exc_type is not None:
                self.rollback()
        finally:
            if self._held:  # (_release(), inline)
                self._held = False
                if self._lock.release():
                    self._manager._locks.pop(self.token, None)
            else:
                self._release()

    def _release(self) -> None:
        lock = self._lock
        if self._held:
            self._held = False
            if lock.release():  # nobody waits for it: the lock goes (it is in the dict only while in use)
                self._manager._locks.pop(self.token, None)
        elif lock.unused():
            self._manager._locks.pop(self.token, None)


class MemoryStateManager(StateManager):
    """Keeps each tab's state tree in a dict; idle tabs are evicted after `idle_state_ttl`."""

    def __init__(self, settings: Settings | None = None, *, protect: Callable[[str], bool] | None = None) -> None:
        self.settings = settings or Settings()
        self._max_bytes = self.settings.max_state_bytes  # (read once: every block's transaction is given it)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._locks: dict[str, TabLock] = {}
        # Tabs whose state must not be evicted however idle (the App protects connected
        # tabs and tabs with running tasks: their pages and tasks still use the state).
        self.protect = protect
        self.evicted = 0  # states evicted to make room for new tabs (max_tabs)

    def modify(self, token: str) -> _MemoryTransaction:
        return _MemoryTransaction(self, token)

    def modify_now(self, token: str) -> Transaction | None:
        locks = self._locks
        if token in locks:  # (a lock is in the dict only while it is held or waited for)
            return None
        # `_MemoryTransaction(self, token)` and the start of its `__aenter__()` in this one frame, `_load()`
        # too for a tab that exists: every block of a live tab in memory starts here.
        tx = object.__new__(_MemoryTransaction)
        tx._manager = self
        tx.token = token
        tx._lock = locks[token] = held_lock(token)
        tx._held = True
        entries = self._entries
        entry = entries.get(token)
        if entry is None:
            tx._load()  # a new tab: its state is made (or refused, and the lock let go) there
            return tx
        entries.move_to_end(token)  # most recently used last: eviction takes from the front
        entry.used = time.monotonic()
        tx._entry = entry
        Transaction.__init__(tx, token, entry.root, entry.seq, self._max_bytes)
        return tx

    def _create(self, token: str) -> _Entry:
        if self.full() and not self._make_room():
            raise LimitExceededError(
                f"this server already holds {len(self._entries)} tab states, all of them in use "
                f"(setting max_tabs={self.settings.max_tabs}); try again later"
            )
        entry = self._entries[token] = _Entry(State._rx_new(token))
        return entry

    def _make_room(self) -> bool:
        """Evict the least recently used state that no tab shows and no task uses; False if there is none.

        So the limit can only be reached by tabs that are really in use: one
        client opening and dropping tabs in a loop evicts its own old states,
        never a connected or busy one.
        """
        for token in self._entries:
            if self.evict(token):
                return True
        return False

    def holds(self, token: str) -> bool:
        """Whether this process holds the tab's state."""
        return token in self._entries

    def full(self) -> bool:
        """Whether a new tab's state would need room (`max_tabs` are held)."""
        return len(self._entries) >= self.settings.max_tabs

    def evict(self, token: str) -> bool:
        """Drop the tab's state to make room for another, unless it is locked or `protect`ed; whether it went."""
        keep = self.protect
        if token not in self._entries or self.locked(token) or (keep is not None and keep(token)):
            return False
        del self._entries[token]
        self.evicted += 1
        return True

    async def peek(self, token: str) -> State | None:
        entry = self._entries.get(token)
        return entry.root if entry is not None else None

    def locked(self, token: str) -> bool:
        lock = self._locks.get(token)
        return lock is not None and lock.locked()

    def evict_idle(self, now: float | None = None, keep: Callable[[str], bool] | None = None) -> int:
        """Drop states unused for `idle_state_ttl` seconds.

        A locked state is never evicted, nor one `keep(token)` protects (by
        default `protect`: a connected tab, whose page shows its values, or
        one whose background tasks are running).
        """
        keep = keep if keep is not None else self.protect
        cutoff = (time.monotonic() if now is None else now) - self.settings.idle_state_ttl
        stale = [
            t for t, e in self._entries.items()
            if e.used < cutoff and not self.locked(t) and not (keep is not None and keep(t))
        ]
        for token in stale:
            del self._entries[token]
        return len(stale)

    def stats(self) -> dict[str, Any]:
        return {
            "tabs": len(self._entries),
            "evicted_for_room": self.evicted,
            "locks_held": sum(1 for lock in self._locks.values() if lock.locked()),
        }
