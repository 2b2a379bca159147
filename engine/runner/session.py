"""A tab's state under its lock: the one path by which every change is committed and sent.

Regular events, `async with self` blocks, `modify_state` blocks, the
bookkeeping of background tasks and the full copy a connecting tab receives
all go through a `Session`. A commit is persisted first, then sent to the
tab while the lock is still held, so a tab sees its updates in the order its
state changed and is never shown a change that storage refused.

A session that hands out views (a block: `async with self`,
`modify_state`) is also their guard: open while the session is, closed for
good once it ends, so a reference kept from inside the block can be read
afterwards but a change through it raises `ImmutableStateError`. A block for
a tab opened while the same flow already has one open for it is refused with
`NestedBlockError`: it would wait for a lock its own flow holds.

Taking the lock and committing have a path that never waits (a free lock
in memory: `modify_now`, `commit_now`), tried first, and one that does
(Redis, or a lock somebody holds), as `trio.Lock.acquire()` tries
`acquire_nowait()` first. Both are written once, here. What a session is
given to work with (`Parts`: the manager, the publisher...) is in `parts.py`;
the kinds of blocks, and what each says once it has ended, in `blockkinds.py`;
how a commit reaches the tab when it is not the usual case, in `telling.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from ..errors import NestedBlockError
from ..managers import Transaction
from ..state import State
from ..views import Guard
from .blockkinds import ASYNC_WITH_SELF, EVENT_HANDLER, MODIFY_STATE, refusal_of
from .flow import OPEN_BLOCKS, BlockHolder, forget, lane_here, remember
from .observe import Kind
from .parts import Parts
from .stateviews import VIEW_CLASSES, BoundState, view_class
from .telling import deliver, publish

__all__ = ["ASYNC_WITH_SELF", "EVENT_HANDLER", "MODIFY_STATE", "Session"]


class Session(Guard):
    """`async with Session(parts, token, ...)`: the tab's lock and state; commit at each checkpoint.

    `what` says how the block is written (`ASYNC_WITH_SELF`, `MODIFY_STATE`,
    `EVENT_HANDLER`) for a session that hands out views (`async with` gives
    the root's view), or is None for the engine's own bookkeeping, which gets
    the `Transaction` and writes through it (`tx.assign`: it is the change log). A block
    commits when it ends without an error; the engine's own sessions call
    `commit(final=True)` themselves, and `commit()` is a checkpoint (a
    handler's `yield`). `lane` names
    the holder on the lab's timeline; None means "whoever runs this" (found
    only when somebody watches the tab).
    """

    __slots__ = (
        "_by_class", "_inner", "background", "committed", "fence", "gives", "holder", "lane",
        "log", "open", "parts", "pending", "root", "states", "token", "tx", "watching", "what",
    )

    def __init__(self, parts: Parts, token: str, what: str | None = None, lane: str | None = None) -> None:
        self.parts = parts
        self.token = token
        self.what = what
        self.lane = lane
        # A block of a task or of `modify_state`: its updates may merge while the tab is behind, and it
        # takes turns with the others when the loop is saturated (pacing.py). Clicks never wait for it.
        self.background = what is ASYNC_WITH_SELF or what is MODIFY_STATE
        self.committed = False  # the final commit landed (the holder's changes are stored)
        self.pending: asyncio.Future[None] | None = None  # the last commit still on its way (pipelined)
        self.open = False  # (as a guard: views write through only while it is)
        self.states = {}  # (as a guard: the state views handed out, one per state instance)
        # (`log`, where the views report changes, and `watching` are set as the lock is taken.)
        # The manager's `modify()` block; None when it was entered without waiting (`modify_now`).
        self._inner: AbstractAsyncContextManager[Transaction] | None = None
        self._by_class: dict[type[State], BoundState] | None = None
        # A task's `self` whose `async with` this is (taskself.py): `async with` gives what it makes of the
        # view (itself), and it hears how the block ended: once the last commit has landed, before the lock
        # goes (it keeps what it saw then, to read between its blocks), or that the block did not commit.
        self.holder: BlockHolder | None = None
        # Checked on the state as the lock hands it over, before anything can change: raises when this
        # holder may no longer write the tab (a task copy whose place another worker took, control.py).
        self.fence: Callable[[State], None] | None = None
        # The state whose view `async with` gives (a task's own: `async with self`); None: the root's.
        self.gives: type[State] | None = None

    # -- as a guard ---------------------------------------------------------------------------
    @property
    def guard(self) -> Guard:
        return self

    @property
    def refusal(self) -> str:  # type: ignore[override]
        """What a change through one of its views is told once the block has ended."""
        return refusal_of(self.what or EVENT_HANDLER)

    def view_of(self, state_cls: type[State]) -> BoundState:
        """The tab's instance of `state_cls`, as a view bound to this block."""
        by_class = self._by_class
        if by_class is None:
            by_class = self._by_class = {}
        view = by_class.get(state_cls)
        if view is None:
            node = self.root.get_substate(state_cls._rx_path)
            view = self.states.get(node)  # (`bind()`, inline: every `async with self` asks)
            if view is None:
                view = self.states[node] = object.__new__(VIEW_CLASSES.get(type(node)) or view_class(type(node)))
                view._rx_state = node
                view._rx_guard = self
            by_class[state_cls] = view
        return view

    def report(self, kind: str, **detail: Any) -> None:
        if self.lane is None:
            self.lane = lane_here()
        self.parts.observers.report(self.token, kind, self.lane, **detail)

    # -- taking the lock ----------------------------------------------------------------------
    async def __aenter__(self) -> Any:
        """Take the tab's lock and load its state: at once when it is free in memory, else waiting."""
        parts = self.parts
        views = self.what is not None
        if self.background and parts.pacer.gate and not parts.pacer.goes_now():  # (the loop is behind: clicks
            await parts.pacer.turn()  # first, blocks take turns)
        if views:
            if not OPEN_BLOCKS.get():  # (no block open in this flow, the usual case: nothing to check)
                OPEN_BLOCKS.set((self,))
            else:
                self._enter_flow()
        observers = parts.observers
        watching = self.watching = observers.active and observers.watching(self.token)
        if watching:
            self.report(Kind.LOCK_WAITING)
        tx = parts.manager.modify_now(self.token)  # (a free lock in memory: no waiting, no coroutine)
        if tx is None:  # (waiting for the lock, or Redis: the manager's `modify()` block)
            inner = self._inner = parts.manager.modify(self.token)
            try:
                tx = await inner.__aenter__()
            except BaseException:
                if views:
                    forget(self)
                raise
        self.tx = tx
        if self.fence is not None:
            await self._check_fence(tx, views)
        if watching:
            self.report(Kind.LOCK_TAKEN)
        self.log = tx  # (the transaction is the change log: every change goes through this session's views first)
        root = self.root = tx.root
        if not views:
            return tx
        self.open = True
        if self.gives is not None:
            holder = self.holder
            view = self.view_of(self.gives)
            return view if holder is None else holder._rx_entered(self, view)
        view = object.__new__(VIEW_CLASSES.get(type(root)) or view_class(type(root)))  # (`bind()`, inline)
        view._rx_state = root
        view._rx_guard = self
        self.states[root] = view
        return view

    def _enter_flow(self) -> None:
        """Note the block as open in this flow, or refuse it if the flow has one for the tab already."""
        if not remember(self):
            raise NestedBlockError(
                f"{self.what} is already open for tab {self.token[:8]} in this task; blocks cannot be "
                "nested (the inner one would wait for the outer forever). Take the lock in each helper "
                "separately, outside the block"
            )

    async def _check_fence(self, tx: Transaction, views: bool) -> None:
        """Run the fence on the state just taken; if it refuses, let the lock go unchanged and raise."""
        assert self.fence is not None
        try:
            self.fence(tx.root)
        except BaseException as error:
            if views:
                forget(self)
            await self.end(type(error), error, error.__traceback__)
            raise

    # -- committing ---------------------------------------------------------------------------
    async def commit(self, *, final: bool = False) -> None:
        """Store what changed and send it to the tab (a cancellation waits until both are done)."""
        tx = self.tx
        if tx.stores_at_once:  # (nothing to wait for, nothing can cancel it halfway)
            commit = tx.commit_now(final=final)
            if final:
                self.committed = True
            sending = publish(self, commit, final)
        else:
            try:
                commit = await tx.commit(final=final)
            except asyncio.CancelledError:
                landed = tx.landed_when_cancelled
                if landed is not None:
                    self.committed = self.committed or final
                    await asyncio.shield(deliver(self, landed, final))
                raise
            if final:
                self.committed = True
            sending = publish(self, commit, final)
        if sending is not None:
            await sending

    async def confirmation(self) -> None:
        """Wait until Redis holds this session's last commit and the tab was sent it (pipelined mode);
        raise if Redis refused it. An event is acknowledged only after that."""
        if self.pending is not None:
            try:
                await asyncio.shield(self.pending)
            except Exception:
                self.committed = False
                raise
            await self.parts.confirmed.drained()

    # -- leaving ------------------------------------------------------------------------------
    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """A block commits (unless its body raised) and sends; then the lock is released, rolling back
        what was not committed. (A holder of the raw state commits itself, with `commit(final=True)`.)"""
        views = self.what is not None
        if views:
            self.open = False  # before the commit: nothing may change the state past this point
            blocks = OPEN_BLOCKS.get()
            if len(blocks) == 1 and blocks[0] is self:  # (the flow's only block: what forget() does, inline)
                OPEN_BLOCKS.set(())
            else:
                forget(self)
            # Views point at their block (their guard); the block lets go of them, so no cycle is left
            # for the garbage collector (a block is made for every change: its garbage must go at once).
            self.states.clear()
            self._by_class = None
        tx = self.tx
        if tx.stores_at_once and not self.watching:  # (every block in memory: nothing awaits but the send)
            if exc_type is not None or not views:
                await self.end(exc_type, exc, tb)
                return
            try:
                commit = tx.commit_now(final=True)
                self.committed = True
                seq, delta, replace, _, _ = commit  # (unpacked: a NamedTuple's fields are read the slow way)
                if replace:
                    sending = publish(self, commit, True)
                elif not delta:
                    sending = None
                elif self.background:  # (`telling.publish()`'s usual case, inline: a commit_now is never pipelined)
                    sending = self.parts.publisher.background_update(self.token, seq, delta)
                else:
                    sending = self.parts.publisher.update(self.token, seq, delta)
                if sending is not None:
                    await sending
            except BaseException as error:
                await self.end(type(error), error, error.__traceback__)
                raise
            if self.holder is not None:
                self.holder._rx_saw()
            tx.end_now(None)
            return
        if exc_type is None and views:
            try:
                await self.commit(final=True)
            except BaseException as error:
                await self.end(type(error), error, error.__traceback__)
                raise
            if self.holder is not None:
                self.holder._rx_saw()
        await self.end(exc_type, exc, tb)

    async def end(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Roll back what was not committed if `exc_type` is set; release the lock. (A holder hears that
        its block did not commit.)"""
        try:
            inner = self._inner
            if inner is None:
                self.tx.end_now(exc_type)
            else:
                await inner.__aexit__(exc_type, exc, tb)
        finally:
            if exc_type is not None and self.holder is not None:
                self.holder._rx_failed()
            if self.watching:
                self.report(Kind.LOCK_RELEASED, outcome="rolled_back" if exc_type is not None else "committed")
