"""Background tasks of tabs: started, run with a task's `self`, their yields chained, their failures reported.

A background handler starts as a supervised task (tasks.py) whose `self` is
a `TaskSelf` (taskself.py) that takes the lock only inside `async with self`
(a `Session`). What it returns or yields is chained: cancels and other
background tasks at once, regular events into the tab's queue, in order.
A cancel or a background task never queues behind the tab's events; that
choice is made in one place, `start_or_cancel`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from typing import Any

from ..errors import LimitExceededError, StateLockError, StateStoreError, TaskSupersededError
from ..handler import EventSpec, as_specs
from ..views import detach
from .control import TaskControl
from .flow import current_lane, open_block
from .observe import EVENTS_LANE, Kind
from .outcome import EventResult, Outcome, failure_message
from .parts import Parts
from .queues import TabQueues
from .session import ASYNC_WITH_SELF, Session
from .tasks import TaskHandle, TaskRegistry
from .taskself import TaskSelf

__all__ = ["Background", "chained"]

logger = logging.getLogger("engine")



class Background:
    """Starts and runs the tabs' background tasks (see the module docstring)."""

    def __init__(self, parts: Parts, tasks: TaskRegistry, control: TaskControl, queues: TabQueues) -> None:
        self.parts = parts
        self.tasks = tasks
        self.control = control
        self.queues = queues
        self._helpers: set[asyncio.Future[Any]] = set()

    def start_or_cancel(
        self, token: str, spec: EventSpec, event: str | None, generation: int = 1,
        started: list[TaskHandle] | None = None,
    ) -> bool:
        """Cancel or start `spec` now if it is a cancel or a background task; False for a regular event.

        Neither waits for the tab's queue or its lock: a regular event is left
        to the caller, to run or to queue. `generation` counts the tasks in the
        chain that led here from one event, this one included (see `start`);
        a task started is added to `started`, if given.
        """
        handler = spec.handler
        if handler.cancels is not None:
            self.control.cancel(token, handler.cancels)
            return True
        if handler.background:
            handle = self.start(token, spec, event=event, generation=generation)
            if started is not None:
                started.append(handle)
            return True
        return False

    def start(self, token: str, spec: EventSpec, *, event: str | None = None, generation: int = 1) -> TaskHandle:
        """Start a background handler as a supervised task; it begins at once, as its policy allows.

        A "queue" handler's trigger waits for its turn, bounded by `max_queued_events`.
        `generation` is 1 for a task an event started, one more for each task
        that led to it (a task that returns itself, directly or through a
        regular event): past `max_chain_length` it is refused, as a regular
        chain is, instead of looping for ever.
        """
        handler = spec.handler
        limit = self.parts.settings.max_chain_length
        if generation > limit:
            raise LimitExceededError(
                f"{handler.qualname} was started by a chain of {limit} background tasks from one event "
                f"(setting max_chain_length={limit}); stopped to avoid an endless loop. To repeat work, "
                "loop inside the task instead of starting it again"
            )
        queued = handler.concurrency == "queue"
        if queued and self.control.queued(token, handler) >= self.parts.settings.max_queued_events:
            raise LimitExceededError(
                f"{handler.qualname} already has {self.parts.settings.max_queued_events} runs waiting for this tab "
                "(setting max_queued_events); this one was refused"
            )
        handle = self.tasks.start(
            token, handler.qualname, lambda handle: self._task_body(handle, spec),
            lifetime=handler.lifetime, queued=queued, may_wait=True,
        )
        handle.event = event
        handle.generation = generation
        return handle

    async def _task_body(self, handle: TaskHandle, spec: EventSpec) -> None:
        parts, token, lane = self.parts, handle.token, handle.id
        parts.enter_context()
        current_lane.set(lane)
        handler = spec.handler
        owner = handler.state_cls
        assert owner is not None
        if parts.observers.watching(token):
            parts.observers.report(token, Kind.TASK_STARTED, lane, handler=handler.qualname)
        outcome, message = "cancelled", ""
        me: TaskSelf | None = None
        cut_offs = self.control.cluster.cut_offs
        try:
            seen = await self.control.admit(handle, handler, spec.args)
            if seen is None:
                outcome = "skipped"
                return  # its policy says another copy is enough
            fence = self.control.fence(handle, handler)

            def blocks() -> Session:
                block = Session(parts, token, ASYNC_WITH_SELF)
                block.fence = fence
                block.gives = owner  # (`async with self` reads the view of the task's own state)
                return block

            me = TaskSelf.of(owner)(token, owner, seen, blocks, self._progress(handle, spec))
            out = handler.fn(me, *spec.args)
            if inspect.isasyncgen(out):
                await self._drive(handle, out, handler.qualname)
            else:
                await self._chain(handle, chained(await out, handler.qualname))
            outcome = "done"
        except asyncio.CancelledError:
            raise
        except TaskSupersededError as exc:
            outcome = "superseded"  # its place is another copy's now: the tab's status is not this copy's to set
            logger.warning("%s", exc)
            raise
        except Exception as exc:
            outcome, message = "failed", failure_message(handler, exc)
            logger.error("background task %s of tab %s failed", handler.qualname, token[:8], exc_info=True)
            # A store or lock failure of a copy whose worker was cut off from Redis since it started is the
            # cut's doing: the others took this worker for dead and the tab moved on to one of them, which tells
            # it its own story (its status keeps this error if the copy's place was still its own).
            if not (isinstance(exc, (StateStoreError, StateLockError)) and self.control.cluster.cut_offs != cut_offs):
                await self.report(token, message, handle.event)
            raise
        finally:
            if me is not None:
                me._rx_done()
            if outcome == "cancelled" and self.tasks.closing:
                outcome = "interrupted"  # this server's shutdown (a deploy) stopped it, not the visitor
            if outcome not in ("skipped", "superseded"):
                await _finish(self.control.release(handle, handler, outcome, message, spec.args))

    def create_task(self, token: str, coro: Coroutine[Any, Any, Any], name: str | None = None) -> TaskHandle:
        """Run any coroutine as a supervised task of a tab (see `App.create_task`)."""
        label = name or getattr(coro, "__qualname__", None) or "task"
        try:
            return self.tasks.start(token, label, lambda handle: self._plain_task(handle, coro))
        except LimitExceededError:
            coro.close()  # never awaited: say nothing of it
            raise

    async def _plain_task(self, handle: TaskHandle, coro: Coroutine[Any, Any, Any]) -> None:
        self.parts.enter_context()
        current_lane.set(handle.id)
        observers = self.parts.observers
        if observers.watching(handle.token):
            observers.report(handle.token, Kind.TASK_STARTED, handle.id, handler=handle.handler)
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.error("task %s of tab %s failed", handle.handler, handle.token[:8], exc_info=True)
            await self.report(handle.token, failure_message(None, exc), handle.event)
            raise

    def _progress(self, handle: TaskHandle, spec: EventSpec) -> Callable[[float, float], Awaitable[None]]:
        async def set_progress(done: float, total: float) -> None:
            await self.control.set_progress(handle.token, spec.handler, done, total)

        return set_progress

    async def _drive(self, handle: TaskHandle, task: AsyncGenerator[Any, Any], origin: str) -> None:
        """Run a task that yields, chaining what each `yield` gives; a refusal is raised at that `yield`.

        The task may catch the refusal there and carry on. However the run ends
        (its end, an error, a cancellation), the generator is closed here, in
        the task's own flow: a block it has open exits with the exception
        (rolled back) and releases the tab's lock, instead of being left
        suspended inside the block, holding the lock for good.
        """
        try:
            item = await task.asend(None)
            while True:
                try:
                    await self._chain(handle, chained(item, origin))
                except Exception as refusal:
                    await asyncio.sleep(0)  # (a task that catches it and yields the same again spins, but not alone)
                    item = await task.athrow(refusal)
                else:
                    item = await task.asend(None)
        except StopAsyncIteration:
            pass
        finally:
            await _close(task, handle)

    async def _chain(self, handle: TaskHandle, specs: list[EventSpec]) -> None:
        """Events a task returned or yielded: cancels and tasks now, regular events queue in order.

        Outside a block a regular event waits for room in the tab's queue. Inside
        one it cannot: the queued events need the lock the block holds, so it
        would wait for ever; a full queue refuses it, naming the way out.
        """
        token, event = handle.token, handle.event
        for spec in specs:
            if self.start_or_cancel(token, spec, event, handle.generation + 1):
                continue
            if open_block(token) is None:
                await self.queues.room(token)
            elif self.queues.full(token):
                raise LimitExceededError(
                    f"{spec.handler.qualname} was yielded inside `async with self` while this tab's queue is full "
                    f"(setting max_queued_events={self.parts.settings.max_queued_events}): the queued events need "
                    "the lock this block holds, so waiting for room would wait for ever. Yield events after the "
                    "block ends, where a `yield` waits for room"
                )
            result = EventResult(spec.handler, event, generation=handle.generation)
            future = self.queues.put(token, spec, result)
            future.add_done_callback(self._report_failure(token))

    def _report_failure(self, token: str) -> Callable[[asyncio.Future[EventResult]], None]:
        def report(done: asyncio.Future[EventResult]) -> None:
            result = done.result()
            if result.outcome is Outcome.FAILED:
                self._spawn(self.report(token, result.message, result.event))

        return report

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        helper = asyncio.ensure_future(coro)
        self._helpers.add(helper)
        helper.add_done_callback(self._helpers.discard)

    def report_soon(self, token: str, message: str, event: str | None = None) -> None:
        """`report`, from code that cannot wait (a callback)."""
        self._spawn(self.report(token, message, event))

    async def report(self, token: str, message: str, event: str | None = None) -> None:
        """Tell a tab that something it caused failed (shown in its demo box)."""
        observers = self.parts.observers
        if observers.watching(token):
            observers.report(token, Kind.ERROR, current_lane.get() or EVENTS_LANE, message=message)
        try:
            await self.parts.publisher.error(token, message, event)
        except Exception:  # the tab may be gone; the log already has the error
            logger.debug("could not report an error to tab %s", token[:8], exc_info=True)


async def _close(task: AsyncGenerator[Any, Any], handle: TaskHandle) -> None:
    """Close a task's generator (a no-op once it has ended); what its own clean-up raises is logged."""
    try:
        await task.aclose()
    except Exception:
        logger.warning("closing background task %s of tab %s failed", handle.id, handle.token[:8], exc_info=True)


async def _finish(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` to its end even if this task is cancelled meanwhile; then honour the cancellation."""
    done = asyncio.ensure_future(work)
    cancelled = False
    while not done.done():
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            cancelled = True
        except Exception:
            break
    if not done.cancelled() and done.exception() is not None:
        logger.warning("could not record how a task ended: %s", done.exception())
    if cancelled:
        raise asyncio.CancelledError


def chained(value: object, origin: str) -> list[EventSpec]:
    """The events a handler returned or yielded, their arguments detached from its state.

    The receiving handler gets plain values it may change freely, never a view
    of (or a reference into) the sender's state.
    """
    return [EventSpec(spec.handler, tuple(detach(arg) for arg in spec.args)) for spec in as_specs(value, origin)]
