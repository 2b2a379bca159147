"""The task registry: every background task held, named, counted, ended in a terminal state.

Each task gets a `TaskHandle` (what `app.tasks.for_tab(token)` returns):
its lifecycle is a `TaskState` with checked transitions. `running` is the
set the docs call `app.background_tasks`: a task is in it from the moment it
is started until it returns, fails or is cancelled.
Invariant, checked by tests: started == done + failed + cancelled + len(running).

A tab has `max_tasks_per_tab` slots. A background task started while they
are all taken waits for one (its `slot`), first come first served, rather
than being lost; at most `max_queued_events` wait per tab, and past that
bound a start is refused. A task started with `App.create_task` never waits.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from ..errors import LimitExceededError
from ..lifecycle import TaskState
from ..settings import Settings
from .observe import Kind, Observers

__all__ = ["RECANCEL_AFTER", "TaskHandle", "TaskRegistry"]

logger = logging.getLogger("engine.tasks")

# A cancellation can be lost: on Python 3.11, asyncio.wait_for (which redis-py uses for its
# socket timeouts) swallows one that arrives just as the awaited operation completes. So a
# task still running this long after it was cancelled is cancelled again, and again, until it ends.
RECANCEL_AFTER = 1.0  # seconds

_ids = itertools.count(1)


class TaskHandle:
    """One supervised task of a tab: its id, lifecycle state, and a way to cancel or await it.

    `id` is unique in the process and names the task's lane on the lab's
    timeline (`my_task#12`). `lifetime` is "tab" (cancelled once its tab has
    been gone longer than `tab_grace`) or "detached" (runs to its end).
    """

    __slots__ = (
        "_coro", "_under_way", "admitted", "event", "generation", "handler", "id", "lifetime", "queued", "skipped",
        "slot", "state", "task", "token", "waited",
    )

    def __init__(self, token: str, handler: str, lifetime: str, *, queued: bool = False) -> None:
        self.token = token
        self.handler = handler
        self.lifetime = lifetime
        self.id = f"{handler.rpartition('.')[2]}#{next(_ids)}"
        self.state = TaskState.PENDING
        self.queued = queued  # a "queue" trigger waiting for its turn: counted by the tab's queue, not as a task
        self.admitted = False  # its policy let it run, and it holds a place among the running copies
        self.waited = False  # it waited (its turn, a slot, a copy to end): listed as waiting in the tab's status
        self.skipped = False  # its policy ("skip") found a copy running: it ends without running its handler
        self.slot: asyncio.Future[None] | None = None  # while it waits for one of the tab's task slots
        self.event: str | None = None  # the id of the tab's event that started it (errors point at its box)
        self.generation = 1  # tasks in the chain from one event that led to it, itself included
        self._under_way: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._coro: Coroutine[Any, Any, None] | None = None  # until it starts running
        self.task: asyncio.Task[None]

    def under_way(self) -> None:
        """The task has been admitted, skipped, queued, is waiting for a slot, or has ended: its trigger is answered."""
        if not self._under_way.done():
            self._under_way.set_result(None)

    async def started(self) -> None:
        """Wait until the task is under way: admitted (its status says running), skipped, queued or waiting."""
        await asyncio.shield(self._under_way)

    def cancel(self) -> bool:
        """Ask the task to stop (its `finally` blocks run); False if it has already ended."""
        return self.task.cancel()

    def done(self) -> bool:
        return self.state.terminal

    def cancelled(self) -> bool:
        return self.state is TaskState.CANCELLED

    def __await__(self) -> Generator[Any, None, None]:
        """`await handle` waits for the task and raises what it raised."""
        return self.task.__await__()

    def __repr__(self) -> str:
        return f"<TaskHandle {self.id} of tab {self.token[:8]}: {self.state.value}>"


class TaskRegistry:
    """Starts tasks within the limits, holds them until they end, cancels them on request."""

    def __init__(self, settings: Settings, observers: Observers) -> None:
        self.settings = settings
        self.observers = observers
        self.running: set[asyncio.Task[Any]] = set()
        self.counts: Counter[str] = Counter()
        self._handles: dict[asyncio.Task[Any], TaskHandle] = {}
        self._per_tab: dict[str, list[TaskHandle]] = {}
        self._waiting: dict[str, deque[TaskHandle]] = {}  # per tab: tasks waiting for a slot, oldest first
        self.closing = False

    def start(
        self,
        token: str,
        handler: str,
        body: Callable[[TaskHandle], Coroutine[Any, Any, None]],
        *,
        lifetime: str = "tab",
        queued: bool = False,
        may_wait: bool = False,
    ) -> TaskHandle:
        """Start `body(handle)` as a supervised task in a flow of its own; it begins at once.

        With `may_wait`, a task over the tab's budget is started with a `slot`
        to wait for (the body awaits it). Raises `LimitExceededError` when a
        limit is reached (`body` is then never called).
        """
        must_wait = not queued and self._budget_spent(token)
        refusal = None if queued else self._refusal(token, handler, may_wait=may_wait and must_wait)
        if refusal is not None:
            raise LimitExceededError(refusal)
        handle = TaskHandle(token, handler, lifetime, queued=queued)
        if must_wait:
            handle.slot = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(token, deque()).append(handle)
        coro = handle._coro = body(handle)
        task = asyncio.create_task(
            self._run(handle, coro), name=f"engine:{token[:8]}:{handle.id}", context=contextvars.Context()
        )
        handle.task = task
        self.running.add(task)
        self._handles[task] = handle
        self._per_tab.setdefault(token, []).append(handle)
        self.counts["started"] += 1
        task.add_done_callback(self._finished)
        return handle

    def _holding(self, token: str) -> int:
        """How many of the tab's slots are taken ("queue" triggers take one once admitted)."""
        return sum(
            1 for handle in self._per_tab.get(token, ())
            if (not handle.queued or handle.admitted) and handle.slot is None
        )

    def _budget_spent(self, token: str) -> bool:
        """Whether a new task of the tab must wait: every slot taken, or others already waiting (in turn)."""
        return token in self._waiting or self._holding(token) >= self.settings.max_tasks_per_tab

    def _refusal(self, token: str, handler: str, *, may_wait: bool) -> str | None:
        if self.closing:
            return f"the server is shutting down; {handler} was not started"
        limit = self.settings.max_tasks_per_tab
        if may_wait:
            waiting = len(self._waiting.get(token, ()))
            if waiting >= self.settings.max_queued_events:
                return (
                    f"this tab already runs {self._holding(token)} background tasks and {waiting} more wait for "
                    f"one to end (settings max_tasks_per_tab={limit}, max_queued_events="
                    f"{self.settings.max_queued_events}); {handler} was not started"
                )
        elif self._budget_spent(token):
            return (
                f"this tab already runs {self._holding(token)} background tasks "
                f"(setting max_tasks_per_tab={limit}); {handler} was not started"
            )
        if len(self.running) >= self.settings.max_tasks_total:
            return (
                f"the server already runs {len(self.running)} background tasks "
                f"(setting max_tasks_total={self.settings.max_tasks_total}); {handler} was not started"
            )
        return None

    async def _run(self, handle: TaskHandle, coro: Coroutine[Any, Any, None]) -> None:
        handle.state = handle.state.to(TaskState.RUNNING)
        handle._coro = None
        await coro

    def _grant(self, token: str) -> None:
        """Give free slots of the tab to the tasks waiting for one, oldest first."""
        waiting = self._waiting.get(token)
        while waiting and self._holding(token) < self.settings.max_tasks_per_tab:
            handle = waiting.popleft()
            slot = handle.slot
            if slot is not None and not slot.done():  # (one cancelled while waiting just leaves)
                handle.slot = None
                slot.set_result(None)
        if not waiting:
            self._waiting.pop(token, None)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.running.discard(task)
        handle = self._handles.pop(task)
        siblings = self._per_tab[handle.token]
        siblings.remove(handle)
        if not siblings:
            del self._per_tab[handle.token]
        waiting = self._waiting.get(handle.token)
        if waiting and handle.slot is not None and handle in waiting:  # it ended while waiting
            waiting.remove(handle)
        self._grant(handle.token)
        if handle._coro is not None:  # cancelled before it ever ran: close it (no "never awaited")
            handle._coro.close()
            handle._coro = None
        if task.cancelled():
            outcome = TaskState.CANCELLED
        elif task.exception() is not None:  # already logged and reported by the task itself
            outcome = TaskState.FAILED
        else:
            outcome = TaskState.DONE
        handle.state = handle.state.to(outcome)
        handle.under_way()
        self.counts[outcome.value] += 1
        if self.observers.watching(handle.token):
            self.observers.report(handle.token, Kind.TASK_ENDED, handle.id, handler=handle.handler,
                                  status=outcome.value)

    # -- questions ------------------------------------------------------------------
    def has_tasks(self, token: str) -> bool:
        return token in self._per_tab

    def for_tab(self, token: str) -> list[TaskHandle]:
        """The tab's running tasks, oldest first."""
        return list(self._per_tab.get(token, ()))

    # -- cancelling -------------------------------------------------------------------
    def cancel(self, handles: list[TaskHandle]) -> int:
        """Cancel these tasks, and again every RECANCEL_AFTER seconds until they end; return how many."""
        live = [handle for handle in handles if not handle.task.done()]
        for handle in live:
            if self.observers.watching(handle.token):
                self.observers.report(handle.token, Kind.CANCEL_REQUESTED, handle.id, handler=handle.handler)
            handle.task.cancel()
        if live:
            asyncio.get_running_loop().call_later(RECANCEL_AFTER, self._cancel_again, live, 1)
        return len(live)

    def cancel_tab(self, token: str) -> int:
        """Cancel the tab's tasks that end with it (lifetime "tab"); return how many."""
        return self.cancel([handle for handle in self.for_tab(token) if handle.lifetime == "tab"])

    def _cancel_again(self, handles: list[TaskHandle], attempt: int) -> None:
        still = [handle for handle in handles if not handle.task.done()]
        if not still:
            return
        if attempt in (1, 10):
            logger.warning(
                "%d cancelled task(s) still running after %gs, cancelling again: %s",
                len(still), attempt * RECANCEL_AFTER, ", ".join(handle.task.get_name() for handle in still),
            )
        for handle in still:
            handle.task.cancel()
        asyncio.get_running_loop().call_later(RECANCEL_AFTER, self._cancel_again, still, attempt + 1)

    async def shutdown(self, timeout: float) -> dict[str, int]:
        """Let running tasks finish for up to `timeout` seconds, then cancel the rest.

        No task starts once this has begun, so none can outlive it.
        """
        self.closing = True
        pending = set(self.running)
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            if still:  # half a second to end, then once more (a cancellation may be lost), then half
                _, still = await asyncio.wait(still, timeout=0.5)
                for task in still:
                    task.cancel()
            if still:
                await asyncio.wait(still, timeout=0.5)
        summary = {key: self.counts[key] for key in ("started", "done", "failed", "cancelled")}
        summary["running"] = len(self.running)
        return summary
