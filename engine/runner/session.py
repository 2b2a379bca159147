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
from .observe import Kind, Observers

__all__ = ["Parts", "Publisher", "TabSession"]


class Publisher(Protocol):
    """Where updates and errors for a tab go (the socket layer, in a running server)."""

    def update(self, token: str, seq: int, delta: Delta) -> Awaitable[None]: ...

    def replace(self, token: str, seq: int, full: Delta) -> Awaitable[None]: ...

    def error(self, token: str, message: str, event: str | None = None) -> Awaitable[None]: ...


class Parts(NamedTuple):
    """The runner's collaborators, handed to the pieces that need them (never the App)."""

    manager: StateManager
    publisher: Publisher
    observers: Observers
    settings: Settings
    enter_context: Callable[[], Any]  # sets what handlers may ask for (`rx.get_app()`)


class TabSession:
    """`async with TabSession(parts, token, lane) as tx`, then `commit()` at each checkpoint."""

    __slots__ = ("_inner", "committed", "lane", "parts", "token", "tx")

    def __init__(self, parts: Parts, token: str, lane: str) -> None:
        self.parts = parts
        self.token = token
        self.lane = lane
        self.committed = False  # the final commit landed (the event's changes are stored)

    async def __aenter__(self) -> Transaction:
        observers = self.parts.observers
        if observers.watching(self.token):
            observers.report(self.token, Kind.LOCK_WAITING, self.lane)
        self._inner: AbstractAsyncContextManager[Transaction] = self.parts.manager.modify(self.token)
        self.tx = await self._inner.__aenter__()
        if observers.watching(self.token):
            observers.report(self.token, Kind.LOCK_TAKEN, self.lane)
        return self.tx

    async def commit(self, *, final: bool = False) -> None:
        """Store what changed and send it to the tab (a cancellation waits until both are done)."""
        tx = self.tx
        try:
            commit = await tx.commit(final=final)
        except asyncio.CancelledError:
            landed = tx.landed_when_cancelled
            if landed is not None:
                self.committed = self.committed or final
                await asyncio.shield(self._send(landed, final))
            raise
        self.committed = self.committed or final
        await self._send(commit, final)

    async def _send(self, commit: Commit, final: bool) -> None:
        publisher, token = self.parts.publisher, self.token
        sent = True
        if commit.replace:
            await publisher.replace(token, commit.seq, every_public_value(self.tx.root))
        elif commit.delta:
            await publisher.update(token, commit.seq, commit.delta)
        else:
            sent = False
        observers = self.parts.observers
        if observers.watching(token):
            seq = commit.seq if sent else None
            observers.report(token, Kind.BLOCK_LEFT if final else Kind.CHECKPOINT, self.lane, seq=seq)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            await self._inner.__aexit__(exc_type, exc, tb)
        finally:
            observers = self.parts.observers
            if observers.watching(self.token):
                outcome = "rolled_back" if exc_type is not None else "committed"
                observers.report(self.token, Kind.LOCK_RELEASED, self.lane, outcome=outcome)
