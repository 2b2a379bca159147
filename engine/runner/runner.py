"""The runner: runs a tab's events and background tasks against its state. It knows no sockets.

One click: `submit(token, spec)` queues the event in the tab's order
(queues.py); its turn runs the handler in a `Session` (session.py), which
takes the tab's lock through the state manager, commits at each checkpoint,
sends the delta through the publisher, and releases the lock. Events the
handler returns or yields run next, in the same turn; background handlers
among them start as supervised tasks (tasks.py), whose `self` is a
`TaskSelf` (taskself.py) that takes the lock only inside `async with self`
(a `Session` too).

Collaborators are narrow (`Parts`: a state manager, a publisher, observers,
settings); outcomes are values (`EventResult`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from ..delta import Delta
from ..errors import EngineError, EventError, LimitExceededError, UnknownEventError, UnknownStateError
from ..event import EventHandler, EventSpec, as_specs
from ..state import State
from ..views import detach
from .control import Cluster, LocalCluster, TaskControl
from .flow import current_lane, open_block
from .observe import Kind
from .outcome import EventResult, Outcome, failure_message
from .queues import TabQueues
from .session import ASYNC_WITH_SELF, MODIFY_STATE, Parts, Session
from .tasks import TaskHandle, TaskRegistry
from .taskself import TaskSelf

__all__ = ["Runner"]

logger = logging.getLogger("engine")

EVENTS_LANE = "events"


class Runner:
    """Runs events and background tasks for every tab (see the module docstring)."""

    def __init__(self, parts: Parts, cluster: Cluster | None = None, *, tasks: TaskRegistry | None = None) -> None:
        self.parts = parts
        self.tasks = tasks or TaskRegistry(parts.settings, parts.observers)
        self.control = TaskControl(parts, self.tasks, cluster or LocalCluster())
        self.queues = TabQueues(parts.settings, self._run_event)
        self._helpers: set[asyncio.Future[Any]] = set()

    # -- events from a tab ---------------------------------------------------------------
    @staticmethod
    def resolve(name: object) -> EventHandler:
        """The handler a tab may call by this full name, or `UnknownEventError`."""
        if not isinstance(name, str) or "." not in name or len(name) > 300:
            raise UnknownEventError(f"no event handler named {str(name)[:80]!r}")
        state_name, _, handler_name = name.rpartition(".")
        try:
            state_cls = State.find_class(state_name)
        except UnknownStateError:
            raise UnknownEventError(f"no state named {state_name[:80]!r}") from None
        handler = state_cls._rx_handlers.get(handler_name)
        if handler is None:
            raise UnknownEventError(f"{state_cls.__name__} has no event handler {handler_name[:80]!r} a tab may call")
        return handler

    def prepare(self, name: object, args: object) -> EventSpec:
        """Check an event sent by a tab; raises `EventError` before anything runs."""
        handler = self.resolve(name)
        if not isinstance(args, list):
            raise EventError(f"{handler.qualname}: arguments must be a list, got {type(args).__name__}")
        return EventSpec(handler, handler.prepare_args(args))

    async def submit(self, token: str, spec: EventSpec, result: EventResult | None = None) -> EventResult:
        """Run an event in the tab's order and wait for it; how it went is in the result.

        Pass your own `result` to read the outcome even when this call is
        cancelled (COMMITTED if the event's last commit had landed, else DROPPED).
        """
        if result is None:
            result = EventResult(spec.handler)
        if spec.handler.cancels is not None:  # never waits: not for the queue, not for the lock
            self.control.cancel(token, spec.handler.cancels)
            result.outcome = Outcome.COMMITTED
            return result
        try:
            await self.queues.run(token, spec, result)
        except LimitExceededError as exc:
            result.fail(exc)
        except asyncio.CancelledError:
            result.interrupted()
            raise
        return result

    async def _run_event(self, token: str, spec: EventSpec, result: EventResult) -> None:
        """One queued event and everything it chains, in order (the tab's queue calls this)."""
        self.parts.enter_context()
        pending: deque[EventSpec] = deque([spec])
        ran = 0
        try:
            while pending:
                current = pending.popleft()
                ran += 1
                if ran > self.parts.settings.max_chain_length:
                    raise LimitExceededError(
                        f"{spec.handler.qualname} chained more than {self.parts.settings.max_chain_length} "
                        "events (setting max_chain_length); stopped to avoid an endless loop"
                    )
                if current.handler.cancels is not None:
                    self.control.cancel(token, current.handler.cancels)
                elif current.handler.background:
                    # Answered once the task is under way: its status already says running (or it was
                    # skipped, or queued), so the tab knows as soon as it hears back.
                    await self.start_background(token, current, event=result.event).started()
                else:
                    pending.extend(await self._run_regular(token, current, result))
        except asyncio.CancelledError:
            result.interrupted()
            raise
        except Exception as exc:
            _log_failure(token, current, exc)
            result.fail(exc)
            return
        result.outcome = Outcome.STARTED if spec.handler.background else Outcome.COMMITTED

    async def _run_regular(self, token: str, spec: EventSpec, result: EventResult) -> list[EventSpec]:
        """Run one regular handler under the tab's lock; return the regular events it chains."""
        handler = spec.handler
        assert handler.state_cls is not None
        path = handler.state_cls._rx_path
        observers = self.parts.observers
        if observers.active and observers.watching(token):
            observers.report(token, Kind.EVENT_STARTED, EVENTS_LANE, handler=handler.qualname)
        chained: list[EventSpec] = []
        result.outcome = Outcome.PENDING  # (an earlier event of the chain may have committed)
        session = Session(self.parts, token, lane=EVENTS_LANE)
        try:
            async with session as tx:
                self.control.reconcile(tx.root)  # (a task that died with its server no longer counts as running)
                state = tx.root.get_substate(path)
                out = handler.fn(state, *spec.args)
                if out is None:  # (most handlers: nothing to chain)
                    pass
                elif inspect.isasyncgen(out):
                    async for item in out:
                        chained += self._start_now(token, _chained(item, handler.qualname), result.event)
                        await session.commit()
                elif inspect.isgenerator(out):
                    for item in out:
                        chained += self._start_now(token, _chained(item, handler.qualname), result.event)
                        await session.commit()
                else:
                    if inspect.isawaitable(out):
                        out = await out
                    chained += self._start_now(token, _chained(out, handler.qualname), result.event)
                await session.commit(final=True)
            if session.pending is not None:  # (pipelined: acknowledged only once Redis holds it)
                await session.confirmation()
        finally:
            if session.committed:
                result.outcome = Outcome.COMMITTED
            if observers.active and observers.watching(token):
                observers.report(token, Kind.EVENT_ENDED, EVENTS_LANE, handler=handler.qualname,
                                 outcome="committed" if session.committed else "failed")
        return chained

    def _start_now(self, token: str, specs: list[EventSpec], event: str | None) -> list[EventSpec]:
        """Start chained background tasks and cancels at once; return the regular events."""
        regular = []
        for spec in specs:
            if spec.handler.cancels is not None:
                self.control.cancel(token, spec.handler.cancels)
            elif spec.handler.background:
                self.start_background(token, spec, event=event)
            else:
                regular.append(spec)
        return regular

    # -- background tasks ----------------------------------------------------------------
    def start_background(self, token: str, spec: EventSpec, *, event: str | None = None) -> TaskHandle:
        """Start a background handler as a supervised task; it begins at once, as its policy allows.

        A "queue" handler's trigger waits for its turn, bounded by `max_queued_events`.
        """
        handler = spec.handler
        queued = handler.concurrency == "queue"
        if queued and self.control.queued(token, handler) >= self.parts.settings.max_queued_events:
            raise LimitExceededError(
                f"{handler.qualname} already has {self.parts.settings.max_queued_events} runs waiting for this tab "
                "(setting max_queued_events); this one was refused"
            )
        handle = self.tasks.start(
            token, handler.qualname, lambda handle: self._task_body(handle, spec),
            lifetime=handler.lifetime, queued=queued,
        )
        handle.event = event
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
        try:
            seen = await self.control.admit(handle, handler)
            if seen is None:
                outcome = "skipped"
                return  # its policy says another copy is enough
            blocks = lambda: Session(parts, token, ASYNC_WITH_SELF)  # noqa: E731
            me = TaskSelf.of(owner)(token, owner, seen, blocks, self._progress(handle, spec))
            out = handler.fn(me, *spec.args)
            if inspect.isasyncgen(out):
                async for item in out:
                    await self._chain_from_task(token, _chained(item, handler.qualname), handle.event)
            else:
                await self._chain_from_task(token, _chained(await out, handler.qualname), handle.event)
            outcome = "done"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome, message = "failed", failure_message(handler, exc)
            logger.error("background task %s of tab %s failed", handler.qualname, token[:8], exc_info=True)
            await self.report(token, message, handle.event)
            raise
        finally:
            if outcome != "skipped":
                await _finish(self.control.release(handle, handler, outcome, message))

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

    async def _chain_from_task(self, token: str, specs: list[EventSpec], event: str | None) -> None:
        """Events a task returned or yielded: tasks start now, regular events queue in order."""
        for spec in specs:
            if spec.handler.cancels is not None:
                self.control.cancel(token, spec.handler.cancels)
                continue
            if spec.handler.background:
                self.start_background(token, spec, event=event)
                continue
            if open_block(token) is None:  # inside its own block, waiting would wait for itself
                await self.queues.room(token)
            result = EventResult(spec.handler, event)
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

    # -- the state from any coroutine ------------------------------------------------------
    def modify_state(self, token: str) -> Session:
        """See `App.modify_state`: the block is its own context manager."""
        return Session(self.parts, token, MODIFY_STATE)

    async def snapshot(self, token: str, names: list[str], send: Callable[[int, Delta], Awaitable[None]]) -> None:
        """Call `send(seq, values)` with the tab's public values of these states, under its lock.

        Under the lock, so no update of the tab can be sent between the
        values and the seq they belong to. Unknown state names are skipped.
        """
        await self.parts.manager.socket_here(token)  # (with Redis: other workers' commits then publish)
        session = Session(self.parts, token, lane="connect")
        async with session as tx:
            if self.control.reconcile(tx.root):  # copies that died with their worker stop showing as running
                await session.commit(final=True)
            await tx.settled()  # (pipelined: show only what Redis holds)
            full: Delta = {}
            for name in names:
                try:
                    state_cls = State.find_class(name)
                except EngineError:
                    continue
                full[name] = tx.root.get_substate(state_cls._rx_path).public_values()
            await send(tx.seq, full)

    async def read(self, token: str, reader: Callable[[State], Any], lane: str = "read") -> Any:
        """`reader(root)` under the tab's lock (it must not keep the root); returns what it returns."""
        async with Session(self.parts, token, lane=lane) as tx:
            return reader(tx.root)

    # -- tabs coming and going -------------------------------------------------------------
    def tab_gone(self, token: str) -> int:
        """The tab stayed away longer than its grace period: cancel the tasks that end with it, everywhere."""
        self.control.cluster.cancel_elsewhere(token, None)
        return self.control.cancel_here(token, None)

    async def shutdown(self, timeout: float) -> dict[str, int]:
        """Take no new events; let tasks finish for up to `timeout`, cancel the rest; return counts."""
        self.queues.close()
        return await self.tasks.shutdown(timeout)


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


def _chained(value: object, origin: str) -> list[EventSpec]:
    """The events a handler returned or yielded, their arguments detached from its state.

    The receiving handler gets plain values it may change freely, never a view
    of (or a reference into) the sender's state.
    """
    return [EventSpec(spec.handler, tuple(detach(arg) for arg in spec.args)) for spec in as_specs(value, origin)]


def _log_failure(token: str, spec: EventSpec, exc: Exception) -> None:
    if isinstance(exc, (EventError, LimitExceededError)):
        logger.info("tab %s: %s", token[:8], exc)
    elif isinstance(exc, EngineError):
        logger.warning("tab %s: %s failed: %s", token[:8], spec.handler.qualname, exc)
    else:
        logger.error("tab %s: handler %s failed", token[:8], spec.handler.qualname, exc_info=exc)
