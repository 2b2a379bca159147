"""What a tab is sent: the public vars that changed, by state, and the whole state when it must be replaced.

A `Delta` maps a state's full name to its changed vars, each given as its
JSON value or, when smaller, as a `Patch` of operations on it (patch.py).
It is built by a block's change log at each commit (changes.py).
"""

from __future__ import annotations

from typing import Any

from .changes import Delta, detached
from .patch import Patch, merged_into, owned
from .state import State

__all__ = ["Delta", "Patch", "detached", "every_public_value", "merge_into", "owned_delta"]


def owned_delta(delta: Delta) -> Delta:
    """A copy of a delta that may be changed freely (`merge_into`)."""
    return {name: {var: owned(entry) for var, entry in values.items()} for name, values in delta.items()}


def merge_into(mine: Delta, later: Delta) -> None:
    """Make `mine` (a delta its caller owns) stand for itself then `later`; `later` is not changed.

    What a tab that is behind is sent instead of both: every var ends at its
    latest value, and a var changed in place in both keeps its operations,
    one run after the other (patch.py `merged_into`).
    """
    for name, values in later.items():
        vars_ = mine.get(name)
        if vars_ is None:
            vars_ = mine[name] = {}
        for var, entry in values.items():
            vars_[var] = merged_into(vars_[var], entry) if var in vars_ else owned(entry)


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
