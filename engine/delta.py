"""What a tab is sent: the public vars that changed, by state, and the whole state when it must be replaced.

A `Delta` maps a state's full name to its changed vars, each given as its
JSON value or, when smaller, as a `Patch` of operations on it (patch.py).
It is built by a block's change log at each commit (changes.py).
"""

from __future__ import annotations

from typing import Any

from .changes import Delta, detached
from .patch import Patch
from .state import State

__all__ = ["Delta", "Patch", "detached", "every_public_value"]


def every_public_value(root: State) -> Delta:
    """Public vars of every state class for this tab: live values, defaults where unused.

    What a tab is sent when its stored state vanished: it may be showing any
    state, so all of them are replaced.
    """
    full: dict[str, dict[str, Any]] = {}
    for cls in State.class_tree():
        if not cls._rx_public:
            continue
        node = root.existing_substate(cls)
        if node is not None:
            full[cls._rx_full_name] = node.public_values()
        else:
            full[cls._rx_full_name] = cls.public_defaults()
    return full
