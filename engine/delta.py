"""Snapshots of a tab's state tree, and the deltas between a snapshot and now.

Two ways to know what a holder changed, chosen by whoever opens the block:

- *Snapshots* (`capture`, `diff`, `restore`): the whole tree is copied when
  the lock is taken and compared at commit time. Code that holds the raw
  state (a regular event's `self`) can change anything in place, so only
  comparing values sees everything.
- *Writes* (`Writes`, `note`, `written_delta`, `undo_writes`): a block that hands out
  views (`async with self`, `modify_state`) learns of every var it may
  change before the change happens (a write, or reading a container that
  could be changed in place), and keeps the value from before. Nothing is
  copied for the vars the block never touches, and only touched vars are
  compared.
"""

from __future__ import annotations

import copy
from typing import Any

from .codec import SCALAR_TYPES, to_wire
from .state import State

__all__ = [
    "Delta", "Snapshot", "Writes", "capture", "copy_values", "detached", "diff", "every_public_value", "note",
    "note_all", "restore", "undo_writes", "written_delta",
]

Delta = dict[str, dict[str, Any]]
Snapshot = dict[State, dict[str, Any]]
Writes = dict[State, dict[str, Any]]  # state -> var -> its value before the first change since the last commit


_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


def detached(value: Any) -> Any:
    """A copy that shares nothing mutable with `value` (a flat list or dict needs no deepcopy)."""
    kind = type(value)
    if kind in _IMMUTABLE:  # (a var that may hold a container often holds None or a number)
        return value
    if kind is list and all(type(item) in _IMMUTABLE for item in value):
        return value.copy()
    if kind is dict and all(type(item) in _IMMUTABLE for item in value.values()):
        return value.copy()
    return copy.deepcopy(value)


def copy_values(state: State) -> dict[str, Any]:
    """A detached copy of one state's values (containers copied deeply)."""
    values = dict(state._rx_values)
    for field in type(state)._rx_mutable_fields:
        values[field.name] = detached(values[field.name])
    return values


def capture(root: State) -> Snapshot:
    """Detached copies of every state instance in the tree."""
    return {state: copy_values(state) for state in root.walk()}


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def diff(root: State, snapshot: Snapshot) -> Delta:
    """Public vars that differ from the snapshot, per state full name.

    A state created after the snapshot is compared with its defaults, which
    is what the page shows before the tab hears of it.
    """
    delta: Delta = {}
    for state in root.walk():
        cls = type(state)
        values = state._rx_values
        before = snapshot.get(state)
        changed: dict[str, Any] = {}
        if before is None:
            fields = cls._rx_fields
            for name in cls._rx_public:
                if not _same(values[name], fields[name].default):
                    changed[name] = to_wire(values[name])
        else:
            for name in cls._rx_public:
                now, then = values[name], before[name]
                if type(now) is not type(then) or now != then:  # (_same, inlined: every commit runs this)
                    changed[name] = now if type(now) in SCALAR_TYPES else to_wire(now)
        if changed:
            delta[cls._rx_full_name] = changed
    return delta


def backend_changed(root: State, snapshot: Snapshot) -> bool:
    """Whether anything, public or backend, differs from the snapshot."""
    for state in root.walk():
        before = snapshot.get(state)
        if before is None:
            return True
        values = state._rx_values
        if any(not _same(values[name], before[name]) for name in values):
            return True
    return False


def note(writes: Writes, state: State, name: str) -> None:
    """Keep the value of `state.name` as it is now, unless it was kept since the last commit."""
    before = writes.get(state)
    if before is None:
        writes[state] = {name: detached(state._rx_values[name])}
    elif name not in before:
        before[name] = detached(state._rx_values[name])


def note_all(writes: Writes, state: State) -> None:
    """Keep every var of `state` not kept yet (its value dict was handed out as a whole)."""
    before = writes.setdefault(state, {})
    for name, value in state._rx_values.items():
        if name not in before:
            before[name] = detached(value)


def written_delta(writes: Writes) -> tuple[Delta, bool]:
    """The public vars that differ from the values kept, and whether any var (backend too) does."""
    delta: Delta = {}
    changed = False
    for state, before in writes.items():
        cls = type(state)
        values = state._rx_values
        fields = cls._rx_fields
        shown: dict[str, Any] | None = None
        for name, then in before.items():
            now = values[name]
            if type(now) is not type(then) or now != then:
                changed = True
                if not fields[name].backend:
                    if shown is None:
                        shown = delta[cls._rx_full_name] = {}
                    shown[name] = now if type(now) in SCALAR_TYPES else to_wire(now)
    return delta, changed


def undo_writes(writes: Writes) -> None:
    """Put back every value kept (the views of the block that changed them are closed by now)."""
    for state, before in writes.items():
        state._rx_values.update(before)


def restore(root: State, snapshot: Snapshot) -> None:
    """Put the snapshot's values back and drop substates created since."""
    for state, values in snapshot.items():
        state._rx_values = values
        subs = state._rx_subs
        if subs:
            kept = {name: sub for name, sub in subs.items() if sub in snapshot}
            state._rx_subs = kept or None


def every_public_value(root: State) -> Delta:
    """Public vars of every state class for this tab: live values, defaults where unused.

    What a tab is sent when its stored state vanished: it may be showing any
    state, so all of them are replaced.
    """
    full: Delta = {}
    for cls in State.class_tree():
        if not cls._rx_public:
            continue
        node = root.existing_substate(cls)
        if node is not None:
            full[cls._rx_full_name] = node.public_values()
        else:
            full[cls._rx_full_name] = cls.public_defaults()
    return full
