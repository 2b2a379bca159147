"""A fair, owner-checked lock for one tab's state.

Like `trio.Lock`: one owner at a time, first come first served, not
re-entrant. A task that asks again for a lock it holds fails at once instead
of waiting for itself forever, and a waiter cancelled at the moment the lock
was handed to it passes the lock on.
"""

from __future__ import annotations

import asyncio
from collections import deque

from .errors import StateLockError

__all__ = ["TabLock"]

_HANDED_OVER = object()  # owner placeholder between release() and the waiter resuming


class TabLock:
    __slots__ = ("name", "_owner", "_waiters")

    def __init__(self, name: str) -> None:
        self.name = name
        self._owner: object | None = None
        self._waiters: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._owner is not None

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def owner(self) -> object | None:
        return self._owner

    async def acquire(self, timeout: float | None = None) -> None:
        task = asyncio.current_task()
        if self._owner is None:
            self._owner = task
            return
        if self._owner is task:
            raise StateLockError(
                f"this task already holds the lock of tab {self.name}; "
                "taking it again (a nested `async with self` or `app.modify_state` "
                "for the same tab) would wait forever"
            )
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = None if timeout is None else loop.call_later(timeout, _time_out, waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._owner = task  # it was handed to us as we were cancelled: pass it on
                self.release()
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise
        finally:
            if timer is not None:
                timer.cancel()
        self._owner = task

    def release(self) -> None:
        if self._owner is None:
            raise StateLockError(f"cannot release the lock of tab {self.name}: it is not held")
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._owner = _HANDED_OVER
                waiter.set_result(None)
                return
        self._owner = None


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
