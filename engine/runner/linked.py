"""Another state a background task got with `await self.get_state(Other)`: it takes the tab's lock too.

    async with self:
        other = await self.get_state(Other)
        other.total += 1           # live: inside the block
    other.total += 1               # ImmutableStateError: the block has ended
    async with other:              # the tab's lock again, as `async with self` takes it
        other.total += 1

Inside any block the task's flow has open for the tab (`async with self`,
`async with other`) it is the live state; outside, the view the last block
handed out, which can be read but refuses every change. Entering it opens
a block like `async with self` does (one lock per tab, not re-entrant), so
`self` is live inside it as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..state import State
from .flow import OpenBlock, open_block

__all__ = ["OtherState"]


class OtherState:
    """A state reached from a task's `self` by `get_state` (see the module docstring)."""

    __slots__ = ("_rx_blocks", "_rx_cls", "_rx_open", "_rx_token", "_rx_view")
    _rx_cls: type[State]
    _rx_open: OpenBlock | None

    def __init__(self, view: Any, token: str, blocks: Callable[[], OpenBlock]) -> None:
        object.__setattr__(self, "_rx_view", view)  # the view the last block handed out
        cls: type[State] = type(view._rx_state)
        object.__setattr__(self, "_rx_cls", cls)
        object.__setattr__(self, "_rx_token", token)
        object.__setattr__(self, "_rx_blocks", blocks)  # makes the block `async with` opens
        object.__setattr__(self, "_rx_open", None)  # the block it opened itself, while open

    def _rx_current(self) -> Any:
        """The live view in the flow's open block for the tab, else the last one handed out."""
        block = open_block(self._rx_token)
        if block is None:
            return self._rx_view
        view = block.view_of(self._rx_cls)
        object.__setattr__(self, "_rx_view", view)
        return view

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(other, Other) holds, as for the state itself
        return self._rx_cls

    async def __aenter__(self) -> OtherState:
        block = self._rx_blocks()
        await block.__aenter__()
        object.__setattr__(self, "_rx_open", block)
        object.__setattr__(self, "_rx_view", block.view_of(self._rx_cls))
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        block = self._rx_open
        assert block is not None, "`async with` left a block it did not open"
        object.__setattr__(self, "_rx_open", None)
        await block.__aexit__(exc_type, exc, tb)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rx_current(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._rx_current(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._rx_current(), name)

    def __repr__(self) -> str:
        where = "inside" if open_block(self._rx_token) is not None else "outside"
        return f"<{self._rx_cls.__name__} from get_state ({where} a block)>"

