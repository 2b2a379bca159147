"""Supervision of background tasks: every task held, named, counted and ended in a terminal state."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from .errors import LimitExceededError
from .lifecycle import TaskState
from .settings import Settings

__all__ = ["TaskRecord", "TaskSupervisor"]

logger = logging.getLogger("engine.tasks")

# A cancellation can be lost: on Python 3.11, asyncio.wait_for (which redis-py uses for its
# socket timeouts) swallows one that arrives just as the awaited operation completes. So a
# task still running this long after it was cancelled is cancelled again, and again, until it ends.
RECANCEL_AFTER = 1.0  # seconds


class TaskRecord:
    """What the supervisor knows of one task."""

    __slots__ = ("token", "handler", "state", "coro")

    def __init__(self, token: str, handler: str, coro: Coroutine[Any, Any, None] | None = None) -> None:
        self.token = token
        self.handler = handler
        self.state = TaskState.PENDING
        self.coro = coro  # the handler's coroutine until it starts running

    def move(self, state: TaskState) -> None:
        self.state = self.state.to(state)  # type: ignore[assignment]


class TaskSupervisor:
    """Holds strong references to running tasks and counts how each one ended.

    `running` is the set the docs call `app.background_tasks`: a task is in
    it from the moment it is started until it returns, fails or is cancelled.
    Invariant, checked by tests: started == done + failed + cancelled + len(running).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.running: set[asyncio.Task[Any]] = set()
        self.records: dict[asyncio.Task[Any], TaskRecord] = {}
        self.counts: Counter[str] = Counter()
        self._per_tab: Counter[str] = Counter()
        self.closing = False

    def start(self, token: str, handler: str, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        if self.closing:
            coro.close()
            raise LimitExceededError(f"the server is shutting down; {handler} was not started")
        if self._per_tab[token] >= self.settings.max_tasks_per_tab:
            coro.close()
            raise LimitExceededError(
                f"this tab already runs {self._per_tab[token]} background tasks "
                f"(setting max_tasks_per_tab={self.settings.max_tasks_per_tab}); "
                f"{handler} was not started"
            )
        if len(self.running) >= self.settings.max_tasks_total:
            coro.close()
            raise LimitExceededError(
                f"the server already runs {len(self.running)} background tasks "
                f"(setting max_tasks_total={self.settings.max_tasks_total}); {handler} was not started"
            )
        record = TaskRecord(token, handler, coro)
        task = asyncio.create_task(self._run(record, coro), name=f"engine:{token[:8]}:{handler}")
        self.running.add(task)
        self.records[task] = record
        self._per_tab[token] += 1
        self.counts["started"] += 1
        task.add_done_callback(self._finished)
        return task

    async def _run(self, record: TaskRecord, coro: Coroutine[Any, Any, None]) -> None:
        record.move(TaskState.RUNNING)
        record.coro = None
        await coro

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.running.discard(task)
        record = self.records.pop(task)
        self._per_tab[record.token] -= 1
        if self._per_tab[record.token] <= 0:
            del self._per_tab[record.token]
        if record.coro is not None:  # cancelled before it ever ran: close it (no "never awaited")
            record.coro.close()
            record.coro = None
        if task.cancelled():
            outcome = TaskState.CANCELLED
        elif task.exception() is not None:  # already logged and reported by the task itself
            outcome = TaskState.FAILED
        else:
            outcome = TaskState.DONE
        record.move(outcome)
        self.counts[outcome.value] += 1

    def has_tasks(self, token: str) -> bool:
        return token in self._per_tab

    def for_tab(self, token: str) -> list[asyncio.Task[Any]]:
        return [task for task, record in self.records.items() if record.token == token]

    def cancel_tab(self, token: str) -> int:
        """Cancel every task of one tab (their `finally` blocks run); return how many."""
        tasks = self.for_tab(token)
        for task in tasks:
            task.cancel()
        if tasks:
            asyncio.get_running_loop().call_later(RECANCEL_AFTER, self._cancel_again, tasks, 1)
        return len(tasks)

    def _cancel_again(self, tasks: list[asyncio.Task[Any]], attempt: int) -> None:
        """Cancel what is still running, every RECANCEL_AFTER seconds until it ends."""
        still = [task for task in tasks if not task.done()]
        if not still:
            return
        if attempt in (1, 10):
            logger.warning(
                "%d cancelled task(s) still running after %gs, cancelling again: %s",
                len(still), attempt * RECANCEL_AFTER, ", ".join(task.get_name() for task in still),
            )
        for task in still:
            task.cancel()
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
