"""Per-tab event queues: a tab's regular events run one at a time, in the order it sent them."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from .errors import EngineError, EventError, LimitExceededError
from .event import EventSpec

if TYPE_CHECKING:
    from .app import App

__all__ = ["TabQueues"]

logger = logging.getLogger("engine")


class _Queue:
    __slots__ = ("items", "worker")

    def __init__(self) -> None:
        self.items: deque[tuple[EventSpec, asyncio.Future[None]]] = deque()
        self.worker: asyncio.Task[None] | None = None


class TabQueues:
    """One FIFO of events per tab, drained by one worker task while it has work."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._queues: dict[str, _Queue] = {}
        self._closed = False

    def enqueue(self, token: str, spec: EventSpec) -> asyncio.Future[None]:
        """Queue an event; the future ends when it (and what it chains) has run."""
        if self._closed:
            raise LimitExceededError("the server is shutting down and takes no new events")
        queue = self._queues.get(token)
        if queue is None:
            queue = self._queues[token] = _Queue()
        limit = self._app.settings.max_queued_events
        if len(queue.items) >= limit:
            raise LimitExceededError(
                f"this tab has {len(queue.items)} events waiting (setting max_queued_events={limit}); "
                f"{spec.handler.qualname} was refused"
            )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.items.append((spec, future))
        if queue.worker is None:
            queue.worker = asyncio.create_task(self._drain(token, queue), name=f"engine:{token[:8]}:events")
        return future

    async def run(self, token: str, spec: EventSpec) -> None:
        """Queue an event and wait for it; raises what the handler raised.

        When the tab has nothing queued or running, the event runs right here,
        in the caller's task (no worker task, no hop through the loop); events
        that arrive meanwhile queue behind it and a worker drains them after.
        """
        if self._closed or token in self._queues:
            await self.enqueue(token, spec)
            return
        queue = self._queues[token] = _Queue()
        queue.worker = asyncio.current_task()
        try:
            await self._app.run_event(token, spec)
        except Exception as exc:
            self._log(spec, token, exc)
            raise
        finally:
            queue.worker = None
            if queue.items:
                queue.worker = asyncio.create_task(
                    self._drain(token, queue), name=f"engine:{token[:8]}:events"
                )
            elif self._queues.get(token) is queue:
                del self._queues[token]

    async def _drain(self, token: str, queue: _Queue) -> None:
        try:
            while queue.items:
                spec, future = queue.items.popleft()
                try:
                    await self._app.run_event(token, spec)
                except asyncio.CancelledError as exc:
                    future.cancel(exc.args[0] if exc.args else None)  # (keeps App's COMMITTED mark)
                    raise
                except Exception as exc:
                    self._log(spec, token, exc)
                    if future.cancelled():
                        continue
                    future.set_exception(exc)
                    future.add_done_callback(_retrieve)
                else:
                    if not future.done():
                        future.set_result(None)
        finally:
            queue.worker = None
            for _, future in queue.items:
                future.cancel()
            queue.items.clear()
            if self._queues.get(token) is queue:
                del self._queues[token]

    def _log(self, spec: EventSpec, token: str, exc: Exception) -> None:
        if isinstance(exc, (EventError, LimitExceededError)):
            logger.info("tab %s: %s", token[:8], exc)
        elif isinstance(exc, EngineError):
            logger.warning("tab %s: %s failed: %s", token[:8], spec.handler.qualname, exc)
        else:
            logger.error(
                "tab %s: handler %s failed", token[:8], spec.handler.qualname, exc_info=exc
            )

    def close(self) -> None:
        self._closed = True

    def pending(self, token: str) -> int:
        queue = self._queues.get(token)
        return len(queue.items) if queue else 0


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
