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
from .flow import OPEN_BLOCKS, forget, remember
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

    __slots__ = ("_by_class", "open", "root", "states", "what", "writes")

    def __init__(self, parts: Parts, token: str, what: str) -> None:
        self.parts = parts  # (TabSession's fields)
        self.token = token
        self.lane = None
        self.committed = False
        self.what = what  # how the block is written, for messages
        self.open = False
        self.states = {}
        self.writes = None
        self._by_class: dict[type[State], BoundState] | None = None

    @property
    def guard(self) -> Guard:
        return self

    @property
    def refusal(self) -> str:  # type: ignore[override]
        """What a change through one of its views is told once the block has ended."""
        return _refusals.get(self.what) or _refusal(self.what)

    def view_of(self, state_cls: type[State]) -> BoundState:
        """The tab's instance of `state_cls`, as a view bound to this block."""
        by_class = self._by_class
        if by_class is None:
            by_class = self._by_class = {}
        view = by_class.get(state_cls)
        if view is None:
            node = self.root.get_substate(state_cls._rx_path)
            view = by_class[state_cls] = bind(node, self)
        return view

    # -- `async with app.modify_state(token) as root` (and, for TaskSelf, `async with self`) --
    async def __aenter__(self) -> Any:
        if not OPEN_BLOCKS.get():  # (no block open in this flow, the usual case: nothing to check)
            OPEN_BLOCKS.set((self,))
        elif not remember(self):
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
        manager = parts.manager
        tx = manager.modify_now(self.token)  # (a free lock in memory: no waiting, no coroutine)
        if tx is None:
            inner = self._inner = manager.modify(self.token)
            try:
                tx = await inner.__aenter__()
            except BaseException:
                forget(self)
                raise
        else:
            self._inner = None
        self.tx = tx
        if watching:
            self._report(Kind.LOCK_TAKEN)
        self.writes = tx.log_writes()  # every change goes through this block's views, which log it first
        root = self.root = tx.root
        self.open = True
        return bind(root, self)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
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
        if not tx.stores_at_once or self._watching:
            await self._leave(exc_type, exc, tb)
            return
        # A store that needs no waiting, nobody watching (every block in memory): the steps of
        # `commit()` and `end()`, in this one frame.
        if exc_type is not None:
            tx.end_now(exc_type)
            return
        try:
            commit = tx.commit_now(final=True)
            self.committed = True
            if commit.replace:
                await self._send(commit, True)
            elif commit.delta:
                sending = self.parts.publisher.update(self.token, commit.seq, commit.delta)
                if sending is not None:  # (None: no socket could receive it, as in a script or a test)
                    await sending
        except BaseException as error:
            tx.end_now(type(error))
            raise
        tx.end_now(None)

    async def _leave(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Commit (unless `exc_type`), send, and end the block, however long the store takes."""
        if exc_type is None:
            try:
                await self.commit(final=True)
            except BaseException as error:
                await self.end(type(error), error, error.__traceback__)
                raise
        await self.end(exc_type, exc, tb)
