"""This process's queue for each tab's lock, in front of the Redis lock.

A `TabLock` per tab queues this worker's tasks in arrival order and refuses
a task that asks again for a lock it holds (it would wait for itself
forever). A tab's lock object exists only while a task holds it or waits
for it; when the last one leaves, `on_idle` is told (the lease-hold policy
then decides how long to keep the Redis lock).
"""

from __future__ import annotations

from collections.abc import Callable

from ..locks import TabLock

__all__ = ["LocalTurns"]


class LocalTurns:
    """Per tab, the local lock this worker's tasks take turns on."""

    def __init__(self, on_idle: Callable[[str], None]) -> None:
        self._locks: dict[str, TabLock] = {}
        self._on_idle = on_idle

    async def enter(self, token: str, timeout: float) -> TabLock:
        """Wait for this process's turn on the tab; TimeoutError after `timeout` (the lock is then let go)."""
        lock = self._locks.get(token)
        if lock is None:
            lock = self._locks[token] = TabLock(token[:8])
        try:
            await lock.acquire(timeout)
        except BaseException:
            self._maybe_idle(token, lock)
            raise
        return lock

    def leave(self, token: str, lock: TabLock, *, held: bool) -> None:
        """Give the turn to the next task; once nobody holds or waits, the tab is idle here."""
        if held:
            lock.release()
        self._maybe_idle(token, lock)

    def _maybe_idle(self, token: str, lock: TabLock) -> None:
        if lock.locked() or lock.waiting:
            return
        if self._locks.get(token) is lock:
            del self._locks[token]
        self._on_idle(token)

    def in_use(self, token: str) -> bool:
        """A task of this worker holds the tab's lock or waits for it."""
        lock = self._locks.get(token)
        return lock is not None and (lock.locked() or lock.waiting > 0)

    def locked(self, token: str) -> bool:
        lock = self._locks.get(token)
        return lock is not None and lock.locked()

    def held(self) -> int:
        """Tabs whose lock a task of this process holds right now."""
        return sum(1 for lock in list(self._locks.values()) if lock.locked())
