"""The runner: runs a tab's events and background tasks against its state. It knows no sockets.

One click: `submit(token, spec)` queues the event in the tab's order
(queues.py); its turn runs the handler in a `Session` (session.py), which
takes the tab's lock through the state manager, commits at each checkpoint,
sends the delta through the publisher, and releases the lock. Events the
handler returns or yields run next, in the same turn; cancels and
background handlers among them are dealt with at once (background.py: a
task's `self` takes the lock only inside `async with self`).

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
from ..handler import EventHandler, EventSpec
from ..state import State
from .background import Background, chained
from .cluster import Cluster, LocalCluster
from .control import TaskControl
from .observe import EVENTS_LANE, Kind
from .outcome import EventResult, Outcome
from .parts import Parts
from .queues import TabQueues
from .session import EVENT_HANDLER, MODIFY_STATE, Session
from .status import runs_to_resume
from .tasks import TaskHandle, TaskRegistry

__all__ = ["Runner"]

logger = logging.getLogger("engine")



class Runner:
    """Runs events and background tasks for every tab (see the module docstring)."""

    def __init__(self, parts: Parts, cluster: Cluster | None = None, *, tasks: TaskRegistry | None = None) -> None:
        self.parts = parts
        self.tasks = tasks or TaskRegistry(parts.settings, parts.observers)
        self.control = TaskControl(parts, self.tasks, cluster or LocalCluster())
        self.queues = TabQueues(parts.settings, self._run_event)
        self.background = Background(parts, self.tasks, self.control, self.queues)
        self._resuming: set[asyncio.Task[None]] = set()
        self.control.cluster.on_resume(self._resume_soon)

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
        skipped = False
        started: list[TaskHandle] = []  # tasks the chain started: the tab hears back once each is under way
        try:
            while pending:
                current = pending.popleft()
                ran += 1
                if ran > self.parts.settings.max_chain_length:
                    raise LimitExceededError(
                        f"{spec.handler.qualname} chained more than {self.parts.settings.max_chain_length} "
                        "events (setting max_chain_length); stopped to avoid an endless loop"
                    )
                if current.handler.background:  # (a click on a task; the events a handler chains are regular)
                    # Answered once the task is under way: its status already says running (or it was
                    # skipped, or queued), so the tab knows as soon as it hears back.
                    handle = self.start_background(token, current, event=result.event, generation=result.generation + 1)
                    await handle.started()
                    skipped = handle.skipped
                else:
                    pending.extend(await self._run_regular(token, current, result, started))
            for task in started:  # (so its status says running, or queued, when the tab hears back)
                await task.started()
        except asyncio.CancelledError:
            result.interrupted()
            raise
        except Exception as exc:
            _log_failure(token, current, exc)
            result.fail(exc)
            return
        if skipped:
            result.outcome = Outcome.SKIPPED
        else:
            result.outcome = Outcome.STARTED if spec.handler.background else Outcome.COMMITTED

    async def _run_regular(
        self, token: str, spec: EventSpec, result: EventResult, started: list[TaskHandle]
    ) -> list[EventSpec]:
        """Run one regular handler under the tab's lock; return the regular events it chains.

        The background tasks it chains start at once and are added to `started`. The handler's `self`
        is a view of its state (stateviews.py), as a task's is inside a block: every change is checked
        and logged as it is made, and a reference it keeps cannot change the state later.
        """
        handler = spec.handler
        assert handler.state_cls is not None
        observers = self.parts.observers
        if observers.active and observers.watching(token):
            observers.report(token, Kind.EVENT_STARTED, EVENTS_LANE, handler=handler.qualname)
        follow: list[EventSpec] = []
        result.outcome = Outcome.PENDING  # (an earlier event of the chain may have committed)
        session = Session(self.parts, token, EVENT_HANDLER, lane=EVENTS_LANE)
        try:
            async with session:
                self.control.reconcile(session.root, session.tx)  # (a task that died with its server stops)
                out = handler.fn(session.view_of(handler.state_cls), *spec.args)
                if out is None:  # (most handlers: nothing to chain)
                    pass
                elif inspect.isasyncgen(out):
                    async for item in out:
                        follow += self._start_now(token, chained(item, handler.qualname), result, started)
                        await session.commit()
                elif inspect.isgenerator(out):
                    for item in out:
                        follow += self._start_now(token, chained(item, handler.qualname), result, started)
                        await session.commit()
                else:
                    if inspect.isawaitable(out):
                        out = await out
                    follow += self._start_now(token, chained(out, handler.qualname), result, started)
            if session.pending is not None:  # (pipelined: acknowledged only once Redis holds it)
                await session.confirmation()
        finally:
            if session.committed:
                result.outcome = Outcome.COMMITTED
            if observers.active and observers.watching(token):
                observers.report(token, Kind.EVENT_ENDED, EVENTS_LANE, handler=handler.qualname,
                                 outcome="committed" if session.committed else "failed")
        return follow

    def _start_now(
        self, token: str, specs: list[EventSpec], result: EventResult, started: list[TaskHandle]
    ) -> list[EventSpec]:
        """Start chained background tasks (added to `started`) and cancels at once; return the regular events."""
        start, event, generation = self.background.start_or_cancel, result.event, result.generation + 1
        return [spec for spec in specs if not start(token, spec, event, generation, started)]

    # -- background tasks and the tab's errors (background.py) ---------------------------
    def start_background(
        self, token: str, spec: EventSpec, *, event: str | None = None, generation: int = 1
    ) -> TaskHandle:
        """Start a background handler as a supervised task; it begins at once, as its policy allows."""
        return self.background.start(token, spec, event=event, generation=generation)

    def create_task(self, token: str, coro: Coroutine[Any, Any, Any], name: str | None = None) -> TaskHandle:
        """Run any coroutine as a supervised task of a tab (see `App.create_task`)."""
        return self.background.create_task(token, coro, name)

    async def report(self, token: str, message: str, event: str | None = None) -> None:
        """Tell a tab that something it caused failed (shown in its demo box)."""
        await self.background.report(token, message, event)

    def report_soon(self, token: str, message: str, event: str | None = None) -> None:
        """`report`, from code that cannot wait (a callback)."""
        self.background.report_soon(token, message, event)

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
            changed = self.control.reconcile(tx.root, tx)  # copies that died with their worker stop running
            resumed = runs_to_resume(tx.root, tx)  # runs a restart stopped, to start again
            if changed or resumed:
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
        for spec in resumed:  # (after the tab has its values: the task's updates follow them)
            logger.info("tab %s: %s starts again after a restart stopped it", token[:8], spec.handler.qualname)
            self.background.start(token, spec)

    def _resume_soon(self, token: str) -> None:
        """Another worker's shutdown stopped a resumable run of a tab connected here: start it again."""
        if self.tasks.closing:
            return
        task = asyncio.get_running_loop().create_task(self.resume(token), name=f"engine:resume:{token[:8]}")
        self._resuming.add(task)
        task.add_done_callback(self._resuming.discard)

    async def resume(self, token: str) -> None:
        """Start again the runs of the tab that a restart stopped (handlers declared `resume=True`)."""
        session = Session(self.parts, token, lane="resume")
        try:
            async with session as tx:
                resumed = runs_to_resume(tx.root, tx)
                if resumed:
                    await session.commit(final=True)
        except Exception as exc:  # (the record stays: the tab's next connection resumes it)
            logger.warning("tab %s: could not resume the runs a restart stopped: %s", token[:8], exc)
            return
        for spec in resumed:
            logger.info("tab %s: %s starts again after a restart stopped it", token[:8], spec.handler.qualname)
            self.background.start(token, spec)

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


def _log_failure(token: str, spec: EventSpec, exc: Exception) -> None:
    if isinstance(exc, (EventError, LimitExceededError)):
        logger.info("tab %s: %s", token[:8], exc)
    elif isinstance(exc, EngineError):
        logger.warning("tab %s: %s failed: %s", token[:8], spec.handler.qualname, exc)
    else:
        logger.error("tab %s: handler %s failed", token[:8], spec.handler.qualname, exc_info=exc)
