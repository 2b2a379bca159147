"""Guards: whether the views they guard may change the state now, and what to say when they may not."""

from __future__ import annotations

from typing import Any

from ..changes import Changes
from ..errors import ImmutableStateError

__all__ = ["SORT_KEY", "STALE", "FixedGuard", "Guard"]


class Guard:
    """Whether changes through the views it guards are allowed now, and what to say when not.

    `states` keeps the state views handed out under this guard, one per state
    instance, so the same state reached twice in a block is the same object;
    `log` is where the changes go (a block's `Changes`). A session is its own
    guard (runner/session.py); `FixedGuard` is one that stands alone.
    """

    __slots__ = ()
    open: bool
    refusal: str
    states: dict[object, Any]
    log: Changes | None = None

    def check(self, what: str) -> None:
        if not self.open:
            raise ImmutableStateError(f"cannot {what} {self.refusal}")


class FixedGuard(Guard):
    """A guard that never opens (what a task reads between its blocks; what a sort key is given)."""

    __slots__ = ("open", "refusal", "states")

    def __init__(self, refusal: str) -> None:
        self.open = False
        self.refusal = refusal
        self.states = {}


# Values a background task reads outside `async with self`: never changeable.
STALE = FixedGuard("outside `async with self`; use `async with self:` in the background task to change state")
SORT_KEY = FixedGuard("inside a sort key, which only compares items; change them after sorting")
