"""A fair, owner-checked lock for one tab's state.

Like `trio.Lock`: one owner at a time, first come first served, not
re-entrant. A task that asks again for a lock it holds fails at once instead
of waiting for itself forever, and a waiter cancelled at the moment the lock
was handed to it passes the lock on.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from typing import Any

from .errors import StateLockError

__all__ = ["TabLock", "held_lock"]

_HANDED_OVER = object()  # owner placeholder between release() and the waiter resuming


class TabLock:
    """`name`: the tab's token (its first 8 characters name the tab in messages)."""

    __slots__ = ("_deadlines", "_owner", "_timer", "_waiters", "name")

    def __init__(self, name: str, *, taken: bool = False) -> None:
        """`taken`: the lock starts held by the current task (a lock made to be taken at once)."""
        self.name = name
        self._owner: object | None = asyncio.current_task() if taken else None
        # Made at the first wait (most locks are taken and released without one):
        self._waiters: deque[asyncio.Future[None]] | None = None
        # Waiters with a timeout, and one timer for the earliest of their deadlines: a
        # contended lock arms no timer per acquire (most waits end long before a timeout).
        self._deadlines: dict[asyncio.Future[None], float] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def locked(self) -> bool:
        return self._owner is not None

    def unused(self) -> bool:
        """Nobody holds it and nobody waits for it."""
        return self._owner is None and not self._waiters

    @property
    def waiting(self) -> int:
        return len(self._waiters) if self._waiters is not None else 0

    @property
    def owner(self) -> object | None:
        return self._owner

    async def acquire(self, timeout: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if self._owner is None:
            self._owner = task
            return
        if self._owner is task:
            raise StateLockError(
                f"this task already holds the lock of tab {self.name[:8]}; "
                "taking it again (a nested `async with self` or `app.modify_state` "
                "for the same tab) would wait forever"
            )
        waiter: asyncio.Future[None] = loop.create_future()
        waiters = self._waiters
        if waiters is None:
            waiters = self._waiters = deque()
        waiters.append(waiter)
        deadlines = self._deadlines
        if timeout is not None:
            if deadlines is None:
                deadlines = self._deadlines = {}
            deadline = deadlines[waiter] = loop.time() + timeout
            timer = self._timer
            if timer is None or deadline < timer.when():
                if timer is not None:
                    timer.cancel()
                self._timer = loop.call_at(deadline, self._expire, loop)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._owner = task  # it was handed to us as we were cancelled: pass it on
                self.release()
            else:
                try:
                    waiters.remove(waiter)
                except ValueError:
                    pass
            raise
        finally:
            if deadlines is not None and deadlines.pop(waiter, None) is not None and not deadlines:
                timer = self._timer
                if timer is not None:
                    timer.cancel()
                    self._timer = None
        self._owner = task

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """The earliest deadline came: fail every waiter past its own, then wait for the next."""
        self._timer = None
        now = loop.time()
        pending = []
        for waiter, deadline in (self._deadlines or {}).items():
            if waiter.done():
                continue
            if deadline <= now:
                waiter.set_exception(TimeoutError())
            else:
                pending.append(deadline)
        if pending:
            self._timer = loop.call_at(min(pending), self._expire, loop)

    def release(self) -> bool:
        """Hand the lock to the first live waiter; True when there was none (the lock is now unused)."""
        if self._owner is None:
            raise StateLockError(f"cannot release the lock of tab {self.name[:8]}: it is not held")
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                self._owner = _HANDED_OVER
                waiter.set_result(None)
                return False
        self._owner = None
        return True


_new = object.__new__
_current_task = asyncio.current_task
# Python 3.11's `current_task` is a Python function reading this dict (its C task steps keep it); every
# block in memory asks, so 3.11 reads the dict itself. (A C function from 3.12 on: asked as it is.)
_TASKS_BY_LOOP: dict[Any, Any] | None = (
    getattr(asyncio.tasks, "_current_tasks", None) if sys.version_info < (3, 12) else None
)
_running_loop = asyncio.get_running_loop


def held_lock(name: str) -> TabLock:
    """`TabLock(name, taken=True)` in one frame: a free tab's lock is made, taken, for every block in memory."""
    lock: TabLock = _new(TabLock)
    lock.name = name
    lock._owner = _current_task() if _TASKS_BY_LOOP is None else _TASKS_BY_LOOP.get(_running_loop())
    lock._waiters = None
    lock._deadlines = None
    lock._timer = None
    return lock

