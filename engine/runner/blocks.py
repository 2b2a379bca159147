"""`async with self` and `async with app.modify_state(token)`: a session that closes a guard when it ends.

While a block is open its guard is open, and every state and container view
handed out inside it writes through to the tab's state. When the block ends
the guard closes first, then the change is committed and sent, then the lock
is released: a reference kept from inside the block can be read afterwards,
but a change through it raises `ImmutableStateError`.

Which blocks are open is tracked per *flow* (a `ContextVar`: one asyncio task
and the tasks it starts inherit it). A block for a tab opened while the same
flow has an open block for that tab is refused with `NestedBlockError`: it
would wait for a lock its own flow holds. Coroutines run side by side in
separate tasks (`asyncio.gather(self._step(), self._step())`) each open their
own blocks, which simply take turns on the lock.
"""

from __future__ import annotations

from typing import Any

from ..errors import NestedBlockError
from ..state import State
from ..views import Guard
from .bound import BoundState, bind
from .flow import forget, remember
from .observe import Kind
from .session import Parts, TabSession

__all__ = ["MODIFY_STATE", "Block"]

MODIFY_STATE = "`async with app.modify_state(token)`"

_ENDED = "through a reference taken inside {where}, which has ended; take it again inside the block that changes it"
_refusals: dict[str, str] = {}  # how a block is written -> what its guard says once it has ended


def _refusal(what: str) -> str:
    refusal = _refusals.get(what)
    if refusal is None:
        refusal = _refusals[what] = _ENDED.format(where=what)
    return refusal


class Block(TabSession, Guard):
    """One open-and-close of a tab's state by a task or coroutine (not re-entrant, like `trio.Lock`).

    The block is also the guard of every view it hands out: open while the
    block is, closed for good once it ends. (Everything a change goes through
    is inlined here, in as few frames as it takes: this is the path of every
    `modify_state` and every `async with self`.)
    """

    __slots__ = ("_by_class", "open", "refusal", "root", "states", "what")

    def __init__(self, parts: Parts, token: str, what: str) -> None:
        self.parts = parts  # (TabSession's fields)
        self.token = token
        self.lane = None
        self.committed = False
        self.what = what  # how the block is written, for messages
        self.open = False
        self.refusal = _refusals.get(what) or _refusal(what)
        self.states = {}
        self._by_class: dict[type[State], BoundState] | None = None

    @property
    def guard(self) -> Guard:
        return self

    async def enter(self) -> State:
        """Take the lock for a task's `async with self` (the task keeps its own view of the state)."""
        await self.__aenter__()
        return self.root

    async def exit(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.__aexit__(exc_type, exc, tb)

    def view_of(self, state_cls: type[State]) -> BoundState:
        """The tab's instance of `state_cls`, as a view bound to this block."""
        by_class = self._by_class
        if by_class is None:
            by_class = self._by_class = {}
        view = by_class.get(state_cls)
        if view is None:
            node = self.root.get_substate(state_cls.get_full_name().split("."))
            view = by_class[state_cls] = bind(node, self)
        return view

    # -- `async with app.modify_state(token) as root` (and, through enter/exit, `async with self`) --
    async def __aenter__(self) -> Any:
        if not remember(self):
            raise NestedBlockError(
                f"{self.what} is already open for tab {self.token[:8]} in this task; blocks cannot be "
                "nested (the inner one would wait for the outer forever). Take the lock in each helper "
                "separately, outside the block"
            )
        parts = self.parts
        observers = parts.observers
        watching = self._watching = observers.active and observers.watching(self.token)
        if watching:
            self._report(Kind.LOCK_WAITING)
        inner = self._inner = parts.manager.modify(self.token)
        try:
            tx = self.tx = await inner.__aenter__()
        except BaseException:
            forget(self)
            raise
        if watching:
            self._report(Kind.LOCK_TAKEN)
        root = self.root = tx.root
        self.open = True
        return bind(root, self)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.open = False  # before the commit: nothing may change the state past this point
        forget(self)
        if exc_type is None:
            try:
                await self.commit(final=True)
            except BaseException as error:
                exc_type, exc, tb = type(error), error, error.__traceback__
                try:
                    await self._inner.__aexit__(exc_type, exc, tb)
                finally:
                    if self._watching:
                        self._closed(exc_type)
                raise
        try:
            await self._inner.__aexit__(exc_type, exc, tb)
        finally:
            if self._watching:
                self._closed(exc_type)
