"""Per-tab event queues: a tab's regular events run one at a time, in the order they arrived.

A tab's events come from its socket (each click) and from its background
tasks (each `yield` of an event). Both queue here; the queue is bounded by
`max_queued_events`. A click over the bound is refused; a task's `yield`
waits for room instead (back-pressure), so a task that yields many events
loses none.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from ..errors import LimitExceededError
from ..handler import EventSpec
from ..settings import Settings
from .outcome import EventResult

__all__ = ["TabQueues"]

Run = Callable[[str, EventSpec, EventResult], Awaitable[None]]
_Item = tuple[EventSpec, EventResult, "asyncio.Future[EventResult]"]


class _Queue:
    __slots__ = ("items", "room", "worker")

    def __init__(self) -> None:
        self.items: deque[_Item] = deque()
        self.worker: asyncio.Task[None] | None = None
        self.room: deque[asyncio.Future[None]] = deque()  # yields waiting for the queue to shrink


class TabQueues:
    """One FIFO of events per tab, drained by one worker while it has work.

    `run` is how one event runs (the runner's): it fills in the event's
    `EventResult` and raises nothing but a cancellation.
    """

    def __init__(self, settings: Settings, run: Run) -> None:
        self._settings = settings
        self._run = run
        self._queues: dict[str, _Queue] = {}
        self._closed = False

    async def run(self, token: str, spec: EventSpec, result: EventResult) -> None:
        """Run an event in the tab's order and wait for it; its outcome is in `result`.

        When the tab has nothing queued or running, the event runs right here,
        in the caller's task (no worker task, no hop through the loop); events
        that arrive meanwhile queue behind it and a worker drains them after.
        """
        if self._closed or token in self._queues:
            await self.put(token, spec, result)
            return
        queue = self._queues[token] = _Queue()
        queue.worker = asyncio.current_task()
        try:
            await self._run(token, spec, result)
        finally:
            queue.worker = None
            if queue.items:
                queue.worker = asyncio.create_task(self._drain(token, queue), name=f"engine:{token[:8]}:events")
            elif self._queues.get(token) is queue:
                del self._queues[token]

    def put(self, token: str, spec: EventSpec, result: EventResult) -> asyncio.Future[EventResult]:
        """Queue an event; the future resolves with `result` once the event has run.

        Raises `LimitExceededError` when the tab's queue is full (see `room`).
        """
        if self._closed:
            raise LimitExceededError("the server is shutting down and takes no new events")
        queue = self._queues.get(token)
        if queue is None:
            queue = self._queues[token] = _Queue()
        limit = self._settings.max_queued_events
        if len(queue.items) >= limit:
            raise LimitExceededError(
                f"this tab has {len(queue.items)} events waiting (setting max_queued_events={limit}); "
                f"{spec.handler.qualname} was refused"
            )
        future: asyncio.Future[EventResult] = asyncio.get_running_loop().create_future()
        queue.items.append((spec, result, future))
        if queue.worker is None:
            queue.worker = asyncio.create_task(self._drain(token, queue), name=f"engine:{token[:8]}:events")
        return future

    def full(self, token: str) -> bool:
        """Whether the tab's queue would refuse one more event now."""
        queue = self._queues.get(token)
        return queue is not None and len(queue.items) >= self._settings.max_queued_events

    async def room(self, token: str) -> None:
        """Wait until the tab's queue can take one more event (back-pressure for a task's `yield`)."""
        limit = self._settings.max_queued_events
        while not self._closed:
            queue = self._queues.get(token)
            if queue is None or len(queue.items) < limit:
                return
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            queue.room.append(waiter)
            try:
                await waiter
            finally:
                if waiter in queue.room:
                    queue.room.remove(waiter)

    async def _drain(self, token: str, queue: _Queue) -> None:
        current: _Item | None = None
        try:
            while queue.items:
                current = queue.items.popleft()
                if queue.room:
                    waiter = queue.room.popleft()
                    if not waiter.done():
                        waiter.set_result(None)
                spec, result, future = current
                await self._run(token, spec, result)
                if not future.done():
                    future.set_result(result)
                current = None
        finally:
            queue.worker = None
            if current is not None:  # cancelled while running it
                current[1].interrupted()
            for _, result, future in ([current] if current else []) + list(queue.items):
                result.interrupted()
                if not future.done():
                    future.set_result(result)
            queue.items.clear()
            for waiter in queue.room:
                if not waiter.done():
                    waiter.set_result(None)
            if self._queues.get(token) is queue:
                del self._queues[token]

    def close(self) -> None:
        """Take no more events (shutdown); what is queued still runs."""
        self._closed = True
