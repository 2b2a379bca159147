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
from .flow import forget, lane_here, open_block, remember
from .session import Parts, TabSession

__all__ = ["Block", "StateBlock"]

_ENDED = "through a reference taken inside {where}, which has ended; take it again inside the block that changes it"


class Block:
    """One open-and-close of a tab's state by a task or coroutine (not re-entrant, like `trio.Lock`)."""

    __slots__ = ("_by_class", "_session", "guard", "parts", "root", "token", "what")

    def __init__(self, parts: Parts, token: str, what: str) -> None:
        self.parts = parts
        self.token = token
        self.what = what  # how the block is written, for messages
        self.guard = Guard(_ENDED.format(where=what))
        self._by_class: dict[type[State], BoundState] = {}

    async def enter(self) -> State:
        if open_block(self.token) is not None:
            raise NestedBlockError(
                f"{self.what} is already open for tab {self.token[:8]} in this task; blocks cannot be "
                "nested (the inner one would wait for the outer forever). Take the lock in each helper "
                "separately, outside the block"
            )
        session = self._session = TabSession(self.parts, self.token, lane_here())
        tx = await session.__aenter__()
        self.root = tx.root
        self.guard.open = True
        remember(self)
        return tx.root

    def view_of(self, state_cls: type[State]) -> BoundState:
        """The tab's instance of `state_cls`, as a view bound to this block."""
        view = self._by_class.get(state_cls)
        if view is None:
            node = self.root.get_substate(state_cls.get_full_name().split("."))
            view = self._by_class[state_cls] = bind(node, self.guard)
        return view

    async def exit(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.guard.open = False  # before the commit: nothing may change the state past this point
        forget(self)
        session = self._session
        if exc_type is None:
            try:
                await session.commit(final=True)
            except BaseException as error:
                await session.__aexit__(type(error), error, error.__traceback__)
                raise
        await session.__aexit__(exc_type, exc, tb)


class StateBlock:
    """`async with app.modify_state(token) as root`: lock, load, yield a bound root, commit, send, release."""

    __slots__ = ("_block",)

    def __init__(self, parts: Parts, token: str) -> None:
        self._block = Block(parts, token, "`async with app.modify_state(token)`")

    async def __aenter__(self) -> State:
        root = await self._block.enter()
        return bind(root, self._block.guard)  # type: ignore[return-value]

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self._block.exit(exc_type, exc, tb)
