"""How a block is written (`async with self`, `modify_state`, an event handler), and what it says once ended.

A session (session.py) is told which kind of block it is, to know whether
its updates may merge and take turns (the background ones), and so that a
change through one of its views after it has ended is refused with an
error that names the block and says what to do. Those messages are made
once per kind and kept.
"""

from __future__ import annotations

__all__ = ["ASYNC_WITH_SELF", "EVENT_HANDLER", "MODIFY_STATE", "refusal_of"]

MODIFY_STATE = "`async with app.modify_state(token)`"
ASYNC_WITH_SELF = "`async with self`"
EVENT_HANDLER = "an event handler"

_ENDED = "through a reference taken inside {where}, which has ended; take it again inside the block that changes it"
_refusals: dict[str, str] = {}  # how a block is written -> what its guard says once it has ended


def refusal_of(what: str) -> str:
    """What a change through a view of the block `what` is told once the block has ended."""
    refusal = _refusals.get(what)
    if refusal is None:
        refusal = _refusals[what] = _ENDED.format(where=what)
    return refusal
