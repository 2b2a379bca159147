"""The order in which the triggers of a "queue" handler run, on this worker: first come, first served.

A handler declared `concurrency="queue"` runs one trigger at a time per tab;
the others wait in line. The line is kept here, per tab and handler, as one
future per trigger: the first in line has its turn, and leaving passes the
turn on to the next that still waits. Task control (control.py) also lists
a waiting trigger in the tab's status, so every worker sees it; the line
itself is this worker's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable

__all__ = ["QueueOrder"]


class QueueOrder:
    """Lines of triggers, one per (tab token, handler name); a trigger is any hashable (its task's handle)."""

    def __init__(self) -> None:
        self._turns: dict[tuple[str, str], deque[asyncio.Future[None]]] = {}  # each line, first in line first
        self._turn_of: dict[Hashable, asyncio.Future[None]] = {}  # each queued trigger's place in its line

    def join(self, token: str, handler: str, trigger: Hashable) -> asyncio.Future[None] | None:
        """Take a place at the end of the line: None if it is the first (its turn now), else its turn to await."""
        turns = self._turns.setdefault((token, handler), deque())
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        turns.append(mine)
        self._turn_of[trigger] = mine
        return None if turns[0] is mine else mine

    def leave(self, token: str, handler: str, trigger: Hashable) -> None:
        """The trigger is done with the line: out of it, and the turn passes on if it was its own."""
        mine = self._turn_of.pop(trigger, None)
        key = (token, handler)
        turns = self._turns.get(key)
        if mine is None or not turns:
            return
        had_the_turn = turns[0] is mine
        turns.remove(mine)
        if had_the_turn:
            while turns and turns[0].done():  # (a waiter that was cancelled meanwhile)
                turns.popleft()
            if turns:
                turns[0].set_result(None)
        if not turns:
            del self._turns[key]

    def waiting(self, token: str, handler: str) -> int:
        """Triggers in the line that wait for their turn (every one but the first)."""
        return max(0, len(self._turns.get((token, handler), ())) - 1)
