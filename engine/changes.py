"""What one holder of a tab's lock changed since its last commit: enough to undo it, and to tell the tab.

Every change reaches the state through a view (views.py, runner/stateviews.py)
or through the engine's own `assign`, and each reports here *before* it
happens. Nothing is copied: the log keeps

- the first value each var had (`olds`): scalars are compared at the commit,
  and a rollback puts every var back;
- for every change made in place (an append, a `row["status"] = ...`, a
  `+=` on a long text), its inverse (`undo`, run backwards on a rollback)
  and, when the changed container is still part of the state, the
  operation as the tab will apply it (`patch.py`), with its size.

So a block that changes one item of a 10,000-item list does work for one
item, and its update carries one item. At the commit each changed var goes
out as its operations when they are smaller than the value, else as the
value.

A background task keeps what it saw when its last block ended, to read
between blocks (runner/taskself.py). That copy shares the live containers
until somebody is about to change one: then, here, the task is given its own
copy first (`pins`). A task that changes the state alone never copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from .codec import SCALAR_TYPES, compact_json, to_wire
from .patch import Patch

if TYPE_CHECKING:
    from .state import State

__all__ = ["Changes", "Commitment", "Delta", "VarLog", "detached", "op_size", "wire_size"]

Delta = dict[str, dict[str, Any]]  # state full name -> var -> its JSON value, or a Patch of it
_encode = compact_json
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


def detached(value: Any) -> Any:
    """A copy that shares nothing mutable with `value`."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is list:
        return [detached(item) for item in value]
    if kind is dict:
        return {key: detached(item) for key, item in value.items()}
    if kind is tuple:
        return tuple(detached(item) for item in value)
    if kind is set or kind is frozenset:
        return kind(value)
    return value


def wire_size(wire: Any) -> int:
    """About how many bytes a JSON value takes (text counted by characters; escapes ignored)."""
    kind = type(wire)
    if kind is str:
        return len(wire) + 2
    if kind is bool or wire is None:
        return 4
    if kind is int or kind is float:
        return len(repr(wire))
    return len(_encode(wire))


def op_size(op: list[Any]) -> int:
    """About how many bytes an operation takes as JSON (`wire_size`'s count, without encoding it: every
    change in place is counted, and only to choose between its operations and its value)."""
    path = op[1]
    size = len(op[0]) + 7 + (len(path) - 1 if path else 0)  # ["op",[...]...]: quotes, brackets, commas
    for key in path:
        size += len(key) + 2 if type(key) is str else len(repr(key))
    if len(op) > 2:
        size += 1 + wire_size(op[2])
    return size


_NO_SIZES: dict[str, int] = {}


class Commitment(NamedTuple):
    """What a commit will store and send (`Changes.delta`).

    `delta`: the public vars that changed, for the tab; `stored`: every var
    that changed, backend ones too, for storage; each entry the var's JSON
    value or a `Patch` of it. `sizes`: each changed var's new JSON size (None:
    no longer counted), for `settle` once the commit has landed; `grew`: how
    many bytes the tab's state grew (negative when it shrank).
    """

    delta: Delta
    stored: Delta
    sizes: list[tuple[State, str, int | None]]
    grew: int

    def settle(self, root: State) -> None:
        """The commit landed: keep the sizes it counted."""
        for state, name, size in self.sizes:
            known = state._rx_sizes
            if known is None:
                known = state._rx_sizes = {}
            if size is None:
                known.pop(name, None)
            else:
                known[name] = size
        root._rx_total += self.grew

    def biggest(self) -> tuple[State, str] | None:
        """The var that grew the most (for the message when the state would be too big)."""
        best, most = None, 0
        for state, name, size in self.sizes:
            grown = (size or 0) - (state._rx_sizes or _NO_SIZES).get(name, 0)
            if grown > most:
                best, most = (state, name), grown
        return best


class VarLog:
    """One var's operations since the last commit, as the tab will apply them."""

    __slots__ = ("bytes", "grew", "ops", "whole")

    def __init__(self) -> None:
        self.ops = Patch()  # (what the delta carries as it is, once the var's log is done)
        self.bytes = 0  # what the operations take on the wire
        self.grew = 0  # how much they grew the var's value (negative when it shrank)
        self.whole = False  # the var was given a new value: send it whole


class Changes:
    """The log of one transaction (see the module docstring)."""

    __slots__ = ("logs", "olds", "undo")

    def __init__(self) -> None:
        self.olds: dict[State, dict[str, Any]] = {}
        self.logs: dict[tuple[State, str], VarLog] | None = None
        self.undo: list[tuple[Any, ...]] = []

    def __bool__(self) -> bool:
        return bool(self.olds)

    # -- what the views report ---------------------------------------------------------------
    def before(self, state: State, name: str) -> None:
        """`state.name` is about to change: keep its value if this is the first change since the commit."""
        olds = self.olds.get(state)
        if olds is None:
            olds = self.olds[state] = {}
        elif name in olds:
            return
        value = olds[name] = state._rx_values[name]
        pins = state._rx_pins
        if pins and type(value) not in SCALAR_TYPES:
            _give_own_copy(pins, name, value)

    def assign(self, state: State, name: str, value: Any) -> None:
        """Set a var (the engine's own writes: a task's status, its progress)."""
        self.before(state, name)
        old = state._rx_values[name]
        state._rx_values[name] = value
        if type(value) not in SCALAR_TYPES and value is not old:
            self.var_log(state, name).whole = True

    def var_log(self, state: State, name: str) -> VarLog:
        logs = self.logs
        if logs is None:
            logs = self.logs = {}
        found = logs.get((state, name))
        if found is None:
            found = logs[(state, name)] = VarLog()
        return found

    def op(self, state: State, name: str, op: list[Any], grew: int) -> None:
        """An operation on the var's value, as the tab will apply it; `grew`: bytes it added (or removed)."""
        logs = self.logs  # (`var_log()`, inline: every change in place is logged here)
        if logs is None:
            logs = self.logs = {}
        key = (state, name)
        log = logs.get(key)
        if log is None:
            log = logs[key] = VarLog()
        elif log.whole:
            return  # the var goes out whole anyway
        ops = log.ops
        if ops:
            last = ops[-1]
            if last[1] == op[1] and (op[0] == "set" == last[0] or (op[0] == "del" and last[0] == "ins")):
                ops.pop()  # the same item set twice, or put in and taken out again: the first one is gone
                log.bytes -= op_size(last)
                if op[0] == "del":
                    log.grew += grew
                    return
        ops.append(op)
        log.bytes += op_size(op)
        log.grew += grew

    # -- the commit ---------------------------------------------------------------------------
    def delta(self) -> Commitment:
        """What changed since the last commit (see `Commitment`); nothing is changed by asking."""
        delta: Delta = {}
        stored: Delta = {}
        sizes: list[tuple[State, str, int | None]] = []
        grew = 0
        logs = self.logs
        for state, olds in self.olds.items():
            cls = type(state)
            values = state._rx_values
            fields = cls._rx_fields
            known = state._rx_sizes or _NO_SIZES
            kept: dict[str, Any] | None = None
            backend = False
            for name, old in olds.items():
                now = values[name]
                kind = type(now)
                if kind is not str and kind in SCALAR_TYPES and (logs is None or (state, name) not in logs):
                    # (a number, a bool or None, the usual change: compared, sent as it is, not counted)
                    if now is old or (kind is type(old) and now == old):
                        continue
                    entry: Any = now
                    if name in known:  # (it replaced a text or a container, which was counted)
                        grew -= known[name]
                        sizes.append((state, name, None))
                    if kept is None:
                        kept = stored[cls._rx_full_name] = {}
                    kept[name] = entry
                    if fields[name].backend:
                        backend = True
                    continue
                log = logs.get((state, name)) if logs is not None else None
                if log is not None and log.ops and not log.whole:
                    before = known.get(name)
                    size = wire_size(to_wire(now)) if before is None else before + log.grew
                    entry = log.ops if log.bytes < size else to_wire(now)
                    grew += size - (before or 0)
                    sizes.append((state, name, size))
                elif (log is None or not log.whole) and type(now) is type(old) and (now is old or now == old):
                    continue
                else:
                    entry = now if kind in SCALAR_TYPES else to_wire(now)
                    if (kind is str or kind not in SCALAR_TYPES) and not fields[name].internal:
                        # (text and containers are counted; the engine's own status, small and bounded, is not:
                        # a task must always be able to record how it ended)
                        size = wire_size(entry)
                        grew += size - known.get(name, 0)
                        sizes.append((state, name, size))
                    elif name in known:
                        grew -= known[name]
                        sizes.append((state, name, None))
                if kept is None:
                    kept = stored[cls._rx_full_name] = {}
                kept[name] = entry
                if fields[name].backend:
                    backend = True
            if kept is None:
                continue
            if not backend:  # (the tab's part is the same dict, unless a backend var changed too)
                delta[cls._rx_full_name] = kept
            else:
                shown = _public(kept, fields)
                if shown:
                    delta[cls._rx_full_name] = shown
        return tuple.__new__(Commitment, (delta, stored, sizes, grew))  # (no NamedTuple __new__ frame)

    def clear(self) -> None:
        """After a commit: the next changes are counted from here."""
        self.olds.clear()
        self.logs = None
        if self.undo:
            self.undo.clear()

    def rollback(self) -> None:
        """Undo every change since the last commit (the views that made them are closed by now)."""
        undo = self.undo
        for entry in reversed(undo):
            entry[0](*entry[1:])
        for state, olds in self.olds.items():
            state._rx_values.update(olds)
        self.clear()


def _public(kept: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The tab's part of a state's changes. (A function of its own: a comprehension in `delta` would
    make `fields` a closure cell on every commit.)"""
    return {name: entry for name, entry in kept.items() if not fields[name].backend}


def _give_own_copy(pins: list[dict[str, Any]], name: str, value: Any) -> None:
    """Tasks whose last-seen values share this container get a copy of it before it changes."""
    copy = None
    for pinned in pins:
        if pinned.get(name) is value:
            if copy is None:
                copy = detached(value)
            pinned[name] = copy
