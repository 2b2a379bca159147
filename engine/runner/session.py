"""A tab's state under its lock: the one path by which every change is committed and sent.

Regular events, `async with self` blocks, `modify_state` blocks, the
bookkeeping of background tasks and the full copy a connecting tab receives
all go through a `TabSession`. A commit is persisted first, then sent to the
tab while the lock is still held, so a tab sees its updates in the order its
state changed and is never shown a change that storage refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, NamedTuple, Protocol

from ..delta import Delta, every_public_value
from ..managers import Commit, StateManager, Transaction
from ..settings import Settings
from .confirmed import InOrder
from .flow import lane_here
from .observe import Kind, Observers

__all__ = ["Parts", "Publisher", "TabSession"]


class Publisher(Protocol):
    """Where updates and errors for a tab go (the socket layer, in a running server)."""

    def update(self, token: str, seq: int, delta: Delta) -> Awaitable[None] | None:
        """The sending of an update, to await; None when nobody could receive it (nothing to wait for)."""

    def replace(self, token: str, seq: int, full: Delta) -> Awaitable[None]: ...

    def error(self, token: str, message: str, event: str | None = None) -> Awaitable[None]: ...


class Parts(NamedTuple):
    """The runner's collaborators, handed to the pieces that need them (never the App)."""

    manager: StateManager
    publisher: Publisher
    observers: Observers
    settings: Settings
    enter_context: Callable[[], Any]  # sets what handlers may ask for (`rx.get_app()`)
    confirmed: InOrder  # updates of pipelined commits, sent once Redis holds them


class TabSession:
    """`async with TabSession(parts, token, lane) as tx`, then `commit()` at each checkpoint.

    `lane` names the holder on the lab's timeline; None means "whoever runs
    this" (found only when somebody watches the tab).
    """

    __slots__ = ("_inner", "_watching", "committed", "lane", "parts", "pending", "token", "tx")

    def __init__(self, parts: Parts, token: str, lane: str | None = None) -> None:
        self.parts = parts
        self.token = token
        self.lane = lane
        self.committed = False  # the final commit landed (the event's changes are stored)
        self.pending: asyncio.Future[None] | None = None  # the last commit still on its way (pipelined)
        # The manager's `modify()` block; None when it was entered without waiting (`modify_now`).
        self._inner: AbstractAsyncContextManager[Transaction] | None = None

    def _report(self, kind: str, **detail: Any) -> None:
        if self.lane is None:
            self.lane = lane_here()
        self.parts.observers.report(self.token, kind, self.lane, **detail)

    async def __aenter__(self) -> Transaction:
        """Take the tab's lock and load its state."""
        parts, token = self.parts, self.token
        observers = parts.observers
        watching = self._watching = observers.active and observers.watching(token)
        if watching:
            self._report(Kind.LOCK_WAITING)
        manager = parts.manager
        tx = manager.modify_now(token)  # (a free lock in memory: no waiting, no coroutine)
        if tx is None:
            inner = self._inner = manager.modify(token)
            tx = await inner.__aenter__()
        self.tx = tx
        tx.compare_values()  # the holder gets the raw state: only comparing values finds every change
        if watching:
            self._report(Kind.LOCK_TAKEN)
        return tx

    def _closed(self, exc_type: Any) -> None:
        """Tell the watchers the lock is released (only called when somebody watches the tab)."""
        self._report(Kind.LOCK_RELEASED, outcome="rolled_back" if exc_type is not None else "committed")

    async def commit(self, *, final: bool = False) -> None:
        """Store what changed and send it to the tab (a cancellation waits until both are done)."""
        tx = self.tx
        try:
            # (A store that needs no waiting commits in this frame; nothing can cancel it halfway.)
            commit = tx.commit_now(final=final) if tx.stores_at_once else await tx.commit(final=final)
        except asyncio.CancelledError:
            landed = tx.landed_when_cancelled
            if landed is not None:
                self.committed = self.committed or final
                await asyncio.shield(self._send(landed, final))
            raise
        if final:
            self.committed = True
        if commit.confirmed is not None:  # pipelined: the tab is sent the change once Redis holds it
            self.pending = commit.confirmed
            full = every_public_value(self.tx.root) if commit.replace and not commit.published else None
            self.parts.confirmed.after(commit.confirmed, lambda: self._send(commit, final, full))
        elif commit.delta and not commit.replace and not self._watching and not commit.published:
            sending = self.parts.publisher.update(self.token, commit.seq, commit.delta)  # the usual case
            if sending is not None:
                await sending
        elif commit.delta or commit.replace or self._watching:
            await self._send(commit, final)

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

    async def _send(self, commit: Commit, final: bool, full: Delta | None = None) -> None:
        publisher, token = self.parts.publisher, self.token
        sent = True
        if commit.published:  # the commit itself published it for the tab's worker (not this one)
            pass
        elif commit.replace:
            await publisher.replace(token, commit.seq, full or every_public_value(self.tx.root))
        elif commit.delta:
            sending = publisher.update(token, commit.seq, commit.delta)
            if sending is not None:
                await sending
        else:
            sent = False
        if self._watching:  # (the root lets an inspector read the values now, under the lock; it must not keep it)
            kind = Kind.BLOCK_LEFT if final else Kind.CHECKPOINT
            self._report(kind, seq=commit.seq if sent else None, root=self.tx.root)

    async def end(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Roll back what was not committed if `exc_type` is set; release the lock."""
        try:
            inner = self._inner
            if inner is None:
                self.tx.end_now(exc_type)
            else:
                await inner.__aexit__(exc_type, exc, tb)
        finally:
            if self._watching:
                self._closed(exc_type)

    __aexit__ = end
