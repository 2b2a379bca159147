"""Warns about blocks that hold a tab's lock too long, with one timer for all of them.

A timer per block (set on entry, cancelled on exit) costs two heap
operations on every commit; blocks are short, so one timer that looks at the
open blocks every quarter of `lock_warn_after` does the same job for all of
them, a little later at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["HeldWatch"]


class HeldWatch:
    """`opened(block, token)` on entry, `closed(block)` on exit; `warn(token, holder)` once per overlong block."""

    def __init__(self, after: float, warn: Callable[[str, str], None]) -> None:
        self._after = after
        self._every = max(0.01, after / 4)
        self._warn = warn
        self._open: dict[object, tuple[str, asyncio.Task[object] | None, float]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def opened(self, block: object, token: str) -> None:
        loop = asyncio.get_running_loop()
        self._open[block] = (token, asyncio.current_task(), loop.time())
        if self._timer is None:
            self._timer = loop.call_later(self._every, self._look)

    def closed(self, block: object) -> None:
        self._open.pop(block, None)

    def _look(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for block, (token, task, since) in list(self._open.items()):
            if now - since >= self._after:
                del self._open[block]  # warned once
                self._warn(token, task.get_name() if task is not None else "?")
        if self._open:
            self._timer = loop.call_later(self._every, self._look)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._open.clear()
