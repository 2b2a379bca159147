"""What a background task saw when its last block ended: what it reads between its blocks."""

from __future__ import annotations

from typing import Any

from ..state import State

__all__ = ["Seen"]


class Seen:
    """What a task saw when its last block ended: the values of its state and its ancestors, by class.

    Nothing is copied: the values share the live containers, and the states
    keep them as pins (`State._rx_pins`), so whoever is about to change one
    of those containers first gives the task a copy of it (changes.py). The
    engine's own lists (which copies of a handler run) read as their defaults.
    """

    __slots__ = ("_nodes", "pinned", "values")

    def __init__(self, state: State) -> None:
        by_class: dict[type[State], dict[str, Any]] = {}
        nodes: list[tuple[State, dict[str, Any]]] | None = None
        node: Any = state
        for cls, engine_defaults, holds_containers in type(state)._rx_lineage:  # (at the end of every task block)
            values = by_class[cls] = dict(node._rx_values)
            if engine_defaults is not None:
                values.update(engine_defaults)
            if holds_containers:  # (only containers can change under the task: scalars are kept as they are)
                if nodes is None:
                    nodes = []
                nodes.append((node, values))
                pins = node._rx_pins  # (`pin()`, inline)
                if pins is None:
                    node._rx_pins = [values]
                else:
                    pins.append(values)
            node = node._rx_parent
        self.values = by_class
        self._nodes = nodes  # None: nothing to pin (every value is a scalar or a text)
        self.pinned = nodes is not None

    def get(self, state_cls: type[State]) -> dict[str, Any] | None:
        return self.values.get(state_cls)

    def pin(self) -> None:
        """Keep these values safe from the changes to come (until `unpin`)."""
        if self.pinned or self._nodes is None:
            return
        for node, values in self._nodes:
            pins = node._rx_pins
            if pins is None:
                node._rx_pins = [values]
            else:
                pins.append(values)
        self.pinned = True

    def unpin(self) -> None:
        """The task holds the lock (its block reads the live state) or has ended: nobody needs them kept."""
        if not self.pinned or self._nodes is None:
            return
        for node, values in self._nodes:
            pins = node._rx_pins
            if pins is None:
                continue
            if len(pins) == 1 and pins[0] is values:  # (the usual case: one task reads the state)
                node._rx_pins = None
                continue
            for index, pinned in enumerate(pins):
                if pinned is values:
                    del pins[index]
                    break
            if not pins:
                node._rx_pins = None
        self.pinned = False
