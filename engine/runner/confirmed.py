"""Updates that wait for their commit to be confirmed (Redis in pipelined mode), sent in the order they were made.

A pipelined block ends before Redis has answered its commit; the tab must
not be shown the change until Redis holds it. Each such update waits here
for its commit's confirmation, behind every update made before it, so a
tab's updates still go out in the order its state changed. An update whose
commit was refused is never sent (the store reports the refusal, and the tab
is resynced from what Redis holds).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["InOrder"]

logger = logging.getLogger("engine.runner")


class InOrder:
    """A queue of sends, each run once its commit is confirmed, one after another."""

    def __init__(self) -> None:
        self._queue: deque[tuple[asyncio.Future[None], Callable[[], Awaitable[None]]]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._queued = 0  # sends ever queued
        self._done = 0  # sends run (or skipped)
        self._progress = asyncio.Event()

    def __len__(self) -> int:
        return len(self._queue)

    def after(self, confirmed: asyncio.Future[None], send: Callable[[], Awaitable[None]]) -> None:
        """Run `send()` once `confirmed` is done (not at all if it failed), after the sends queued before."""
        self._queue.append((confirmed, send))
        self._queued += 1
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._run(), name="engine:confirmed-updates")

    async def _run(self) -> None:
        queue = self._queue
        while queue:
            confirmed, send = queue[0]
            if not confirmed.done():
                await asyncio.wait((confirmed,))
            queue.popleft()
            try:
                if not confirmed.cancelled() and confirmed.exception() is None:  # (refused: never shown)
                    await send()
            except Exception:  # the tab may be gone; the others still get theirs
                logger.warning("could not send a confirmed update", exc_info=True)
            finally:
                self._done += 1
                self._progress.set()
                self._progress.clear()

    async def drained(self) -> None:
        """Return once every send queued before this call has run (a lock is released only after that)."""
        target = self._queued
        while self._done < target:
            sender = self._sender
            if sender is None or sender.done():
                return
            await self._progress.wait()
