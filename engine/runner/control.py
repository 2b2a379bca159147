"""Task control: a background handler's concurrency policy, its status in the tab's state, cancel, progress.

Every background handler has, per tab, four public vars kept by the engine
(`run@status`, `run@running`, `run@progress`, `run@error`, see event.py)
and one backend var listing the copies that run (`_run@copies`, each
`worker/copy-id`). They live with the tab's state, so they travel in
deltas, survive a reload and are shared by every worker on Redis.

A task is *admitted* before its handler runs: under the tab's lock, its
policy looks at the copies that run ("parallel": go; "skip": leave if any;
"replace": cancel them and wait until they have ended; "queue": wait, in
order, until none runs), and the copy claims its place, setting the status
to running. When it ends, it gives its place back and, if it was the last
copy, sets the status to how it ended. A copy whose worker died without
giving its place back is dropped whenever the tab's status is read under
the lock (a worker is asked `alive(worker)` through its `Cluster`).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from typing import Any, Protocol

from ..changes import Changes
from ..errors import InvalidArgumentError, LimitExceededError
from ..event import task_var
from ..handler import EventHandler
from ..state import State
from .flow import current_lane, open_block
from .session import Parts, Session
from .tasks import TaskHandle, TaskRegistry
from .taskself import Seen

__all__ = ["Cluster", "LocalCluster", "TaskControl"]

RETRY = 0.25  # seconds between two looks at the copies while waiting for one on another worker to end


class Cluster(Protocol):
    """The workers that share tab states: who we are, who is alive, how to reach the others."""

    worker: str

    def alive(self, worker: str) -> bool: ...

    def cancel_elsewhere(self, token: str, handler: str | None) -> None: ...


class LocalCluster:
    """One process: there is no other worker to ask or to tell."""

    worker = "local"

    def alive(self, worker: str) -> bool:
        return False

    def cancel_elsewhere(self, token: str, handler: str | None) -> None:
        return None


class _Status:
    """One background handler's status vars on one state instance (written by the engine, into the block's log)."""

    __slots__ = ("_log", "_name", "_node")

    def __init__(self, node: State, handler: EventHandler, log: Changes) -> None:
        self._node = node
        self._name = handler.name
        self._log = log

    def __getitem__(self, what: str) -> Any:
        return self._node._rx_values[task_var(self._name, what)]

    def __setitem__(self, what: str, value: Any) -> None:
        name = task_var(self._name, what)
        if self._node._rx_values[name] != value or type(self._node._rx_values[name]) is not type(value):
            self._log.assign(self._node, name, value)


class TaskControl:
    """Admits, releases and cancels the copies of background tasks (see the module docstring)."""

    def __init__(self, parts: Parts, registry: TaskRegistry, cluster: Cluster) -> None:
        self.parts = parts
        self.registry = registry
        self.cluster = cluster
        self._turns: dict[tuple[str, str], deque[asyncio.Future[None]]] = {}  # "queue": local order

    # -- admission -------------------------------------------------------------------------
    async def admit(self, handle: TaskHandle, handler: EventHandler) -> Seen | None:
        """Wait as the policy says, then claim a place; the values the task starts with, or None (skipped)."""
        policy = handler.concurrency
        if policy == "queue":
            await self._my_turn(handle)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.parts.settings.lock_timeout
        while True:
            if policy == "replace":
                self.cancel(handle.token, handler, keep=handle)
            seen = await self._claim(handle, handler, exclusive=policy != "parallel")
            if seen is not None or policy == "skip":
                handle.under_way()
                return seen
            if policy == "replace" and loop.time() > deadline:
                raise LimitExceededError(
                    f"{handler.qualname}: the running copy did not stop within {self.parts.settings.lock_timeout:g}s "
                    "of being cancelled (setting lock_timeout); this trigger was dropped"
                )
            await self._a_copy_ends(handle, handler)

    async def _claim(self, handle: TaskHandle, handler: EventHandler, *, exclusive: bool) -> Seen | None:
        session = Session(self.parts, handle.token, lane=handle.id)
        async with session as tx:
            node = tx.root.get_substate(_path(handler))
            status = _Status(node, handler, tx.log)
            copies = self._alive(handle.token, status["copies"])
            if exclusive and copies:
                self._store_copies(status, copies, outcome="cancelled")
                await session.commit(final=True)
                return None
            status["copies"] = [*copies, f"{self.cluster.worker}/{handle.id}"]
            status["status"], status["running"], status["progress"], status["error"] = "running", True, None, ""
            handle.admitted = True
            seen = Seen(node)
            try:
                await session.commit(final=True)
            except BaseException:
                seen.unpin()
                raise
            return seen

    async def _my_turn(self, handle: TaskHandle) -> None:
        turns = self._turns.setdefault((handle.token, handle.handler), deque())
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        turns.append(mine)
        if turns[0] is not mine:
            handle.under_way()  # queued: its trigger is answered, it runs in its turn
            await mine

    def _next_turn(self, handle: TaskHandle) -> None:
        key = (handle.token, handle.handler)
        turns = self._turns.get(key)
        if not turns:
            return
        turns.popleft()
        while turns and turns[0].done():  # (a waiter that was cancelled meanwhile)
            turns.popleft()
        if turns:
            turns[0].set_result(None)
        else:
            del self._turns[key]

    def queued(self, token: str, handler: EventHandler) -> int:
        """Triggers of a "queue" handler waiting for their turn on this worker."""
        return max(0, len(self._turns.get((token, handler.qualname), ())) - 1)

    async def _a_copy_ends(self, handle: TaskHandle, handler: EventHandler) -> None:
        """Until a local copy of the handler ends, or a short while (a copy elsewhere is polled)."""
        others = [h.task for h in self._copies_here(handle.token, handler) if h is not handle]
        if others:
            await asyncio.wait(others, timeout=RETRY * 4, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.sleep(RETRY)

    # -- release ----------------------------------------------------------------------------------
    async def release(self, handle: TaskHandle, handler: EventHandler, outcome: str, message: str) -> None:
        """Give the copy's place back; the last copy to end sets the status (and the error, if it failed)."""
        try:
            if handle.admitted:
                session = Session(self.parts, handle.token, lane=handle.id)
                async with session as tx:
                    status = _Status(tx.root.get_substate(_path(handler)), handler, tx.log)
                    mine = f"{self.cluster.worker}/{handle.id}"
                    copies = [copy for copy in self._alive(handle.token, status["copies"]) if copy != mine]
                    if outcome == "failed":
                        status["error"] = message
                    self._store_copies(status, copies, outcome=outcome)
                    await session.commit(final=True)
        finally:
            if handler.concurrency == "queue":
                self._next_turn(handle)

    @staticmethod
    def _store_copies(status: _Status, copies: list[str], *, outcome: str) -> bool:
        """Record the copies that still run; the last one gone sets the outcome. Whether anything changed."""
        if copies == status["copies"]:
            return False
        status["copies"] = copies
        if not copies:
            status["running"] = False
            status["status"] = outcome
        return True

    def _alive(self, token: str, copies: list[str]) -> list[str]:
        """The copies that still run: ours if this worker holds them, others' if their worker lives."""
        here = {handle.id for handle in self.registry.for_tab(token)}
        kept = []
        for copy in copies:
            worker, _, copy_id = copy.partition("/")
            if (copy_id in here) if worker == self.cluster.worker else self.cluster.alive(worker):
                kept.append(copy)
        return kept

    def reconcile(self, root: State, log: Changes) -> bool:
        """Drop copies that died with their worker from every status the tab has (under its lock).

        Returns whether anything changed (the caller then commits). Cheap when
        nothing runs: only a handler with copies on record is looked at.
        """
        changed = False
        for node in root.walk():
            for handler, copies_var in _copies_vars(type(node)):
                if not node._rx_values[copies_var]:  # (every event passes here: no object unless copies run)
                    continue
                status = _Status(node, handler, log)
                if status["copies"]:
                    alive = self._alive(root.get_token(), status["copies"])
                    changed |= self._store_copies(status, alive, outcome="cancelled")
        return changed

    # -- cancel -------------------------------------------------------------------------------
    def _copies_here(self, token: str, handler: EventHandler) -> list[TaskHandle]:
        return [handle for handle in self.registry.for_tab(token) if handle.handler == handler.qualname]

    def cancel(self, token: str, handler: EventHandler, *, keep: TaskHandle | None = None) -> int:
        """Cancel every copy of the handler for this tab, here and on other workers; never waits."""
        self.cluster.cancel_elsewhere(token, handler.qualname)
        return self.cancel_here(token, handler.qualname, keep=keep)

    def cancel_here(self, token: str, handler: str | None, *, keep: TaskHandle | None = None) -> int:
        """Cancel this worker's copies of one handler (of every tab-lifetime task when `handler` is None)."""
        if handler is None:
            return self.registry.cancel_tab(token)
        chosen = [h for h in self.registry.for_tab(token) if h.handler == handler and h is not keep]
        return self.registry.cancel(chosen)

    # -- progress -----------------------------------------------------------------------------
    async def set_progress(self, token: str, handler: EventHandler, done: float, total: float) -> None:
        """Store done/total as the handler's progress, inside the task's open block or in a short one."""
        fraction = _fraction(handler, done, total)
        block = open_block(token)
        if block is not None:  # written under the task's own block, into its log
            log = block.guard.log
            assert log is not None
            _Status(block.root.get_substate(_path(handler)), handler, log)["progress"] = fraction
            return
        session = Session(self.parts, token, lane=current_lane.get() or "progress")
        async with session as tx:
            _Status(tx.root.get_substate(_path(handler)), handler, tx.log)["progress"] = fraction
            await session.commit(final=True)


_background_handlers: dict[type[State], tuple[EventHandler, ...]] = {}


def _background(state_cls: type[State]) -> tuple[EventHandler, ...]:
    handlers = _background_handlers.get(state_cls)
    if handlers is None:
        handlers = _background_handlers[state_cls] = tuple(
            handler for handler in state_cls._rx_handlers.values() if handler.background
        )
    return handlers


_copies_of: dict[type[State], tuple[tuple[EventHandler, str], ...]] = {}


def _copies_vars(state_cls: type[State]) -> tuple[tuple[EventHandler, str], ...]:
    """Each background handler of the class with the name of its var of running copies."""
    found = _copies_of.get(state_cls)
    if found is None:
        found = _copies_of[state_cls] = tuple((h, task_var(h.name, "copies")) for h in _background(state_cls))
    return found


def _path(handler: EventHandler) -> tuple[str, ...]:
    assert handler.state_cls is not None
    return handler.state_cls._rx_path


def _fraction(handler: EventHandler, done: float, total: float) -> float:
    for name, value in (("done", done), ("total", total)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidArgumentError(
                f"{handler.qualname}: set_progress {name} must be a finite number, got {value!r}"
            )
    if total <= 0:
        raise InvalidArgumentError(f"{handler.qualname}: set_progress total must be more than 0, got {total!r}")
    if done < 0:
        raise InvalidArgumentError(f"{handler.qualname}: set_progress done must not be negative, got {done!r}")
    return min(1.0, done / total)
