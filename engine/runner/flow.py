"""Which blocks the current flow has open, and which lane it belongs to.

A *flow* is an asyncio task and the tasks it starts, which inherit its
context. Background tasks and tasks the engine supervises start with a
flow of their own (runner.py), so a task started from inside a block does
not inherit it.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any, Protocol

from ..state import State
from ..views import Guard

__all__ = ["OPEN_BLOCKS", "BlockHolder", "OpenBlock", "current_lane", "forget", "lane_here", "open_block", "remember"]


class OpenBlock(Protocol):
    """What the flow knows of a block (a `session.Session` that hands out views)."""

    token: str
    root: State
    open: bool  # until the block starts to end
    holder: BlockHolder | None  # a task's `self`, told how the block ended

    @property
    def guard(self) -> Guard: ...

    def view_of(self, state_cls: type[State]) -> Any: ...

    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...


class BlockHolder(Protocol):
    """Whose `async with` a block is (a task's `self`): what it gives, and how it ended (session.py)."""

    def _rx_entered(self, block: OpenBlock, view: Any) -> Any: ...  # what `async with` gives

    def _rx_saw(self) -> None: ...  # its last commit landed (the lock is still held)

    def _rx_failed(self) -> None: ...  # it ended without committing (rolled back)


# The blocks this flow has open, innermost last. (Session reads and sets it itself when the flow has
# none or only its own, the usual case, to spare two calls per block; the rest goes through here.)
OPEN_BLOCKS: ContextVar[tuple[OpenBlock, ...]] = ContextVar("engine_open_blocks", default=())
# The lane (see observe.py) of the engine-run task this flow belongs to, if any.
current_lane: ContextVar[str | None] = ContextVar("engine_lane", default=None)


def open_block(token: str) -> OpenBlock | None:
    """The innermost block this flow has open for the tab, if any."""
    for block in reversed(OPEN_BLOCKS.get()):
        if block.token == token and block.open:
            return block
    return None


def remember(block: OpenBlock) -> bool:
    """Note the block as open in this flow; False (and nothing noted) if one for its tab already is."""
    blocks = OPEN_BLOCKS.get()
    token = block.token
    for other in blocks:
        if other.token == token and other.open:
            return False
    OPEN_BLOCKS.set((*blocks, block))
    return True


def forget(block: OpenBlock) -> None:
    blocks = OPEN_BLOCKS.get()
    if blocks and blocks[-1] is block:  # the usual case: the innermost block ends first
        OPEN_BLOCKS.set(blocks[:-1])
    else:
        OPEN_BLOCKS.set(tuple(other for other in blocks if other is not block))


def lane_here() -> str:
    """Who is asking for a lock: the engine task's lane, or the name of the calling coroutine's task."""
    lane = current_lane.get()
    if lane is not None:
        return lane
    task = asyncio.current_task()
    return task.get_name() if task is not None else "modify_state"
