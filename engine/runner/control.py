"""Task control: a background handler's concurrency policy, its status in the tab's state, cancel, progress.

Every background handler has, per tab, four public vars kept by the engine
(`run@status`, `run@running`, `run@progress`, `run@error`, see event.py)
and one backend var listing the copies that run (`_run@copies`, each
`worker/copy-id`). They live with the tab's state, so they travel in
deltas, survive a reload and are shared by every worker on Redis.

A task is *admitted* before its handler runs: under the tab's lock, its
policy looks at the copies that run ("parallel": go; "skip": leave if any;
"replace": cancel them and wait until they have ended; "queue": wait, in
order (queueorder.py), until none runs), and the copy claims its place,
setting the status to running (the vars are read and written in status.py).
When it ends, it gives its place back and, if it was the last
copy, sets the status to how it ended. A copy whose worker died without
giving its place back is dropped whenever the tab's status is read under
the lock (a worker is asked `alive(worker)` through its `Cluster`). A
`resume=True` handler also records each running copy's arguments
(`_run@args`), so that a copy that died with its worker (killed, or cut off
from Redis) is resumed where the tab is next served, as a run stopped by a
restart is (`reconcile`).

A trigger that waits (its turn in a "queue", a copy to end, one of the
tab's task slots) is listed among the copies as waiting (`~worker/id`)
before its trigger is answered, so `running` and `status` say "running"
from the first trigger until the last run ends, on every worker, instead
of "done" between two queued runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..changes import Changes
from ..errors import LimitExceededError, TaskSupersededError
from ..event import task_var
from ..handler import EventHandler
from ..state import State
from .cluster import Cluster
from .flow import current_lane, open_block
from .parts import Parts
from .queueorder import QueueOrder
from .seen import Seen
from .session import Session
from .status import Status, copies_vars, forget_args, path_of, progress_fraction, resume_lost, set_running, store_copies
from .tasks import TaskHandle, TaskRegistry

__all__ = ["TaskControl"]

STOPPED_BY_RESTART = "stopped by a restart of the server; start it again"
RESUMES = "stopped by a restart of the server; it starts again when the tab is back"
RETRY = 0.25  # seconds between two looks at the copies while waiting for one on another worker to end
WAITING = "~"  # marks a listed copy that waits for its turn rather than runs: "~worker/copy-id"


class TaskControl:
    """Admits, releases and cancels the copies of background tasks (see the module docstring)."""

    def __init__(self, parts: Parts, registry: TaskRegistry, cluster: Cluster) -> None:
        self.parts = parts
        self.registry = registry
        self.cluster = cluster
        cluster.on_cancel(self._cancel_asked)
        self._queue = QueueOrder()  # "queue": the order of its triggers on this worker

    # -- admission -------------------------------------------------------------------------
    async def admit(self, handle: TaskHandle, handler: EventHandler, args: tuple[Any, ...] = ()) -> Seen | None:
        """Wait as the policy says, then claim a place; the values the task starts with, or None (skipped)."""
        policy = handler.concurrency
        if handle.slot is not None:  # the tab's task slots are all taken: wait for one, in turn
            await self._wait(handle, handler, handle.slot)
        if policy == "queue":
            await self._my_turn(handle, handler)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.parts.settings.lock_timeout
        while True:
            if policy == "replace":
                self.cancel(handle.token, handler, keep=handle)
            seen = await self._claim(handle, handler, args, exclusive=policy != "parallel")
            if seen is not None or policy == "skip":
                handle.skipped = seen is None
                handle.under_way()
                return seen
            if policy == "replace" and loop.time() > deadline:
                raise LimitExceededError(
                    f"{handler.qualname}: the running copy did not stop within {self.parts.settings.lock_timeout:g}s "
                    "of being cancelled (setting lock_timeout); this trigger was dropped"
                )
            await self._a_copy_ends(handle, handler)

    async def _claim(
        self, handle: TaskHandle, handler: EventHandler, args: tuple[Any, ...], *, exclusive: bool
    ) -> Seen | None:
        session = Session(self.parts, handle.token, lane=handle.id)
        async with session as tx:
            node = tx.root.get_substate(path_of(handler))
            status = Status(node, handler, tx)
            copies = self._alive(handle.token, status["copies"])
            waiting = self._entry(handle, waiting=True)
            if exclusive and any(not copy.startswith(WAITING) for copy in copies):
                if handler.concurrency == "skip":  # it leaves: no longer listed, if it waited for a slot
                    copies = [copy for copy in copies if copy != waiting]
                    handle.waited = False
                elif waiting not in copies:  # it waits for that copy to end
                    handle.waited = True
                    copies.append(waiting)
                    set_running(status)
                store_copies(status, copies, outcome="cancelled")
                await session.commit(final=True)
                return None
            status["copies"] = [*(copy for copy in copies if copy != waiting), self._entry(handle)]
            if handler.resume:
                status["args"] = {**(status["args"] or {}), self._entry(handle): list(args)}
            status["status"], status["running"], status["progress"], status["error"] = "running", True, None, ""
            handle.admitted = True
            seen = Seen(node)
            try:
                await session.commit(final=True)
            except BaseException:
                seen.unpin()
                raise
            return seen

    async def _wait(self, handle: TaskHandle, handler: EventHandler, until: asyncio.Future[None]) -> None:
        """Wait for `until`, listed as a waiting copy: the trigger is answered once the tab's status says so."""
        handle.waited = True
        session = Session(self.parts, handle.token, lane=handle.id)
        async with session as tx:
            status = Status(tx.root.get_substate(path_of(handler)), handler, tx)
            copies = self._alive(handle.token, status["copies"])
            copies.append(self._entry(handle, waiting=True))
            status["copies"] = copies
            set_running(status)
            await session.commit(final=True)
        handle.under_way()
        await until

    def fence(self, handle: TaskHandle, handler: EventHandler) -> Callable[[State], None] | None:
        """With other workers on the tab: a check, as each block of this copy takes the lock, that its place
        in the tab's status is still its own (None with one process: nobody else can take it).

        Another worker drops a copy whose worker it has not heard from (dead, or paused past three
        heartbeats) and may start the handler again; the copy that wakes up finds its place gone and
        stops with `TaskSupersededError` before its block changes anything. The lock hands over the
        current state and the commit checks it is still current, so the check cannot be overtaken.
        """
        if not self.cluster.shared:
            return None
        path, name, entry = path_of(handler), task_var(handler.name, "copies"), self._entry(handle)
        worker = self.cluster.worker

        def still_mine(root: State) -> None:
            if entry not in root.get_substate(path)._rx_values[name]:
                raise TaskSupersededError(
                    f"{handler.qualname} of tab {root.get_token()[:8]} was stopped on worker {worker}: another "
                    "worker did not hear from this one for three heartbeats (setting worker_heartbeat; this process "
                    "was paused or cut off from Redis), took it for dead and gave the task's place away. This copy "
                    "ends before changing anything, so the tab never runs two copies"
                )

        return still_mine

    def _entry(self, handle: TaskHandle, *, waiting: bool = False) -> str:
        """How a copy is listed in the tab's status: `worker/id`, or `~worker/id` while it waits."""
        return f"{WAITING if waiting else ''}{self.cluster.worker}/{handle.id}"

    async def _my_turn(self, handle: TaskHandle, handler: EventHandler) -> None:
        mine = self._queue.join(handle.token, handle.handler, handle)
        if mine is not None:
            await self._wait(handle, handler, mine)  # queued: its trigger is answered, it runs in its turn

    def _waiting_here(self, handle: TaskHandle, handler: EventHandler) -> bool:
        """Whether another trigger of the handler waits on this worker (listed, or about to be: each
        one that `waited` gives its place back in `release`, so the status cannot stay "running")."""
        return any(
            other is not handle and other.waited and not other.admitted
            for other in self._copies_here(handle.token, handler)
        )

    def queued(self, token: str, handler: EventHandler) -> int:
        """Triggers of a "queue" handler waiting for their turn on this worker."""
        return self._queue.waiting(token, handler.qualname)

    async def _a_copy_ends(self, handle: TaskHandle, handler: EventHandler) -> None:
        """Until a local copy of the handler ends, or a short while (a copy elsewhere is polled)."""
        others = [h.task for h in self._copies_here(handle.token, handler) if h is not handle]
        if others:
            await asyncio.wait(others, timeout=RETRY * 4, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.sleep(RETRY)

    # -- release ----------------------------------------------------------------------------------
    async def release(
        self, handle: TaskHandle, handler: EventHandler, outcome: str, message: str, args: tuple[Any, ...] = ()
    ) -> None:
        """Give the copy's place back; the last copy to end sets the status (and the error, if it failed).

        While another trigger of the handler still waits, the status stays "running". A copy
        "interrupted" by this server's shutdown ends "cancelled" and says so; a handler declared
        `resume=True` also leaves its arguments, for the worker that next serves the tab (`resume`).
        """
        resumable = False
        try:
            if handle.admitted or handle.waited:
                session = Session(self.parts, handle.token, lane=handle.id)
                async with session as tx:
                    status = Status(tx.root.get_substate(path_of(handler)), handler, tx)
                    mine = (self._entry(handle), self._entry(handle, waiting=True))
                    if self.cluster.shared and not any(copy in mine for copy in status["copies"]):
                        return  # another worker took this copy for dead and gave its place away: not ours to tell
                    copies = [copy for copy in self._alive(handle.token, status["copies"]) if copy not in mine]
                    if handler.resume:
                        forget_args(status, [*mine, *(c for c in status["copies"] if c not in copies)])
                    if outcome == "failed":
                        status["error"] = message
                    more = self._waiting_here(handle, handler)
                    if outcome == "interrupted":
                        outcome = "cancelled"
                        if not copies and not more:
                            status["error"] = STOPPED_BY_RESTART if not handler.resume else RESUMES
                            if handler.resume:
                                status["resume"] = list(args)
                                resumable = True
                    handle.waited = False  # (under the lock: the next to release must not wait for it)
                    store_copies(status, copies, outcome=outcome, more=more)
                    await session.commit(final=True)
                if resumable:  # the tab may be on another worker already: it starts the run there
                    self.cluster.ask_resume(handle.token)
        finally:
            if handler.concurrency == "queue":
                self._queue.leave(handle.token, handle.handler, handle)

    def _alive(self, token: str, copies: list[str]) -> list[str]:
        """The copies that still run or wait: ours if this worker holds them, others' if their worker lives."""
        here = {handle.id for handle in self.registry.for_tab(token)}
        kept = []
        for copy in copies:
            worker, _, copy_id = copy.removeprefix(WAITING).partition("/")
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
            for handler, copies_var in copies_vars(type(node)):
                if not node._rx_values[copies_var]:  # (every event passes here: no object unless copies run)
                    continue
                status = Status(node, handler, log)
                alive = self._alive(root.get_token(), status["copies"])
                if handler.resume and alive != status["copies"]:
                    changed |= resume_lost(status, alive, running=any(not c.startswith(WAITING) for c in alive))
                changed |= store_copies(status, alive, outcome="cancelled")
        return changed

    # -- cancel -------------------------------------------------------------------------------
    def _copies_here(self, token: str, handler: EventHandler) -> list[TaskHandle]:
        return [handle for handle in self.registry.for_tab(token) if handle.handler == handler.qualname]

    def cancel(self, token: str, handler: EventHandler, *, keep: TaskHandle | None = None) -> int:
        """Cancel every copy of the handler for this tab, here and on other workers; never waits."""
        self.cluster.cancel_elsewhere(token, handler.qualname)
        return self.cancel_here(token, handler.qualname, keep=keep)

    def _cancel_asked(self, token: str, handler: str | None) -> None:
        """Another worker asked to cancel this worker's copies (of one handler, or of the tab's tasks)."""
        self.cancel_here(token, handler)

    def cancel_here(self, token: str, handler: str | None, *, keep: TaskHandle | None = None) -> int:
        """Cancel this worker's copies of one handler (of every tab-lifetime task when `handler` is None)."""
        if handler is None:
            return self.registry.cancel_tab(token)
        chosen = [h for h in self.registry.for_tab(token) if h.handler == handler and h is not keep]
        return self.registry.cancel(chosen)

    # -- progress -----------------------------------------------------------------------------
    async def set_progress(self, token: str, handler: EventHandler, done: float, total: float) -> None:
        """Store done/total as the handler's progress, inside the task's open block or in a short one."""
        fraction = progress_fraction(handler, done, total)
        block = open_block(token)
        if block is not None:  # written under the task's own block, into its log
            log = block.guard.log
            assert log is not None
            Status(block.root.get_substate(path_of(handler)), handler, log)["progress"] = fraction
            return
        session = Session(self.parts, token, lane=current_lane.get() or "progress")
        async with session as tx:
            Status(tx.root.get_substate(path_of(handler)), handler, tx)["progress"] = fraction
            await session.commit(final=True)

