"""Views of a tab's lists, dicts and sets: changes only while their guard is open, each one recorded.

Every handler reaches container values through these views: a regular
event, an `async with self` block, `modify_state`. While the block that
handed a view out is open its guard is open, and every change goes through
to the tab's state and is reported to the block's change log (changes.py)
before it happens, with what undoes it and the operation the tab will apply
(patch.py). Nothing is copied to find out what changed, so a change to one
item of a big list costs what the item costs.

Once the block has ended the guard is closed: a reference kept from inside
the block (`rows = self.rows`, `cell = self.grid[2]`) can still be read,
but any change through it raises `ImmutableStateError`. A background task
reads outside its blocks through views whose guard is always closed (`STALE`).
Items read through a view are views with the same guard, at any depth.

What is stored is checked against the var's annotation (checks.py) and
detached first: views in it become plain copies and containers are copied,
so nothing the handler still holds can reach into the state. What comes out
(`pop()`, `copy()`, `copy.copy()`, a slice, `+`) is a plain, detached copy.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ..changes import Changes, detached, wire_size
from ..checks import ANY, Check, Misfit, describe
from ..codec import to_wire
from ..errors import InvalidValueError
from .guards import Guard

__all__ = ["ATOMIC", "VIEWS", "View", "detach", "guarded", "invalid", "register", "size_of", "stored", "text_appended"]

ATOMIC = frozenset({int, float, str, bool, bytes, type(None)})
VIEWS: dict[type, type[View]] = {}  # list, dict, set -> the view of it (each view's module registers itself)


_new = object.__new__


def register(kind: type, view: type[View]) -> None:
    """`guarded` wraps values of `kind` in `view` (lists.py, dicts.py and sets.py call this)."""
    VIEWS[kind] = view


def guarded(value: Any, guard: Guard, state: Any = None, name: str = "", path: tuple[Any, ...] = (),
            check: Check = ANY) -> Any:
    """`value` as a handler may see it: containers wrapped in views under `guard`.

    `state` and `name` say whose var it is, `path` where in it (the keys from
    the var's value down), `check` what may be stored in it.
    """
    kind = type(value)
    if kind in ATOMIC:
        return value
    view_class = VIEWS.get(kind)
    if view_class is not None:  # (`view_class(value, ...)` without its `__init__` frame: every read of a container)
        view = _new(view_class)
        view._data = value
        view._guard = guard
        view._state = state
        view._name = name
        view._path = path
        view._check = check.of(value) if check.members else check
        return view
    if kind is tuple:
        check = check.of(value)
        return tuple(guarded(item, guard, state, name, (*path, i), check.at(i)) for i, item in enumerate(value))
    return value


def detach(value: Any) -> Any:
    """A plain, independent copy of `value`: views become copies of their data."""
    kind = type(value)
    if kind in ATOMIC:
        return value
    if isinstance(value, View):
        return detached(value._data)
    if kind is list or kind is tuple:
        items = [detach(item) for item in value]
        return items if kind is list else tuple(items)
    if kind is dict:
        return {key: detach(item) for key, item in value.items()}
    if kind is set or kind is frozenset:
        return kind(value)
    if isinstance(value, (list, tuple, dict, set, frozenset)):  # a subclass (a NamedTuple...): as a plain one
        return detach(list(value) if isinstance(value, list) else tuple(value) if isinstance(value, tuple)
                      else dict(value) if isinstance(value, dict) else set(value))
    return value  # (not JSON: the var's check refuses it, naming it)


def stored(value: Any, current: Any) -> Any:
    """What to store when `value` is assigned where `current` is now.

    A view of the very object already there (`self.rows += [1]` assigns the
    list back to itself) keeps it, so other references to it stay attached;
    anything else is detached.
    """
    if isinstance(value, View) and value._data is current:
        return current
    return detach(value)


def invalid(misfit: Misfit, where: str, path: tuple[Any, ...] = ()) -> InvalidValueError:
    """The error for a value that does not fit: the var (and where in it), the value, what is allowed."""
    at = "".join(f"[{key!r}]" for key in (*path, *misfit.path))
    return InvalidValueError(
        f"{where}{at} must be {misfit.expected}, got {describe(misfit.value)}; nothing was stored"
    )


class View:
    """What the list, dict and set views share: the data, its guard, whose var it is and where."""

    __slots__ = ("_check", "_data", "_guard", "_name", "_path", "_state")
    _data: Any

    def __init__(self, data: Any, guard: Guard, state: Any, name: str, path: tuple[Any, ...], check: Check) -> None:
        self._data = data
        self._guard = guard
        self._state = state
        self._name = name
        self._path = path
        self._check = check

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, item: object) -> bool:
        return item in self._data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, View):
            other = other._data
        return bool(self._data == other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._data)

    def copy(self) -> Any:
        """A plain, detached copy that can be changed freely (it is not the state)."""
        return detached(self._data)

    def __copy__(self) -> Any:  # (copy.copy: a copy that shares nothing with the state, not even nested lists)
        return detached(self._data)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(self._data, memo)

    # -- reading --------------------------------------------------------------------------------
    def _where(self) -> str:
        state = self._state
        if state is None:
            return "this value"
        owner = state if isinstance(state, type) else type(state)  # (a stale value names its state class)
        return f"{owner.__name__}.{self._name}"

    def _child(self, key: Any, value: Any) -> Any:
        return guarded(value, self._guard, self._state, self._name, (*self._path, key), self._check.at(key))

    # -- changing ---------------------------------------------------------------------------------
    def _begin(self) -> Changes | None:
        """The guard must be open; the var is about to change (the log hears of it first)."""
        guard = self._guard
        if not guard.open:
            guard.check(f"change {self._where()}{''.join(f'[{key!r}]' for key in self._path)}")
        log = guard.log
        if log is not None:
            log.before(self._state, self._name)
        return log

    def _value(self, value: Any, key: Any) -> Any:
        """What to store at `key`: detached and checked (`InvalidValueError` if it does not fit)."""
        value = stored(value, None)
        try:
            return self._check.at(key)(value)
        except Misfit as misfit:
            raise invalid(misfit, self._where(), (*self._path, key)) from None

    def _at(self) -> list[Any] | None:
        """The wire path of this view's container in its var, or None if it is no longer in the state."""
        state = self._state
        if state is None:
            return None
        node = state._rx_values[self._name]
        wire: list[Any] = []
        try:
            for key in self._path:
                wire.append(str(key) if type(node) is dict else key)
                node = node[key]
        except (IndexError, KeyError, TypeError):
            node = None
        if node is self._data:
            return wire
        found = _find(state._rx_values[self._name], self._data)  # moved (an insert before it): look for it
        if found is None:
            return None
        self._path = found
        return [str(key) if type(parent) is dict else key for key, parent in _walk(state._rx_values[self._name], found)]

    def _op(self, log: Changes | None, op: str, key: Any, arg: Any, grew: int) -> None:
        """An operation on the item at `key` of this container (`arg` unused for "del")."""
        if log is None:
            return
        at = self._at()
        if at is None:
            return  # a container no longer in the state: the tab has nothing to hear of
        path = [*at, str(key) if type(self._data) is dict else key]
        log.op(self._state, self._name, [op, path] if op == "del" else [op, path, arg], grew)

    def _set_op(self, log: Changes | None, op: str, item: Any, grew: int) -> None:
        """An operation on this container itself (a set's add/rem): its path is the container's."""
        if log is None:
            return
        at = self._at()
        if at is not None:
            log.op(self._state, self._name, [op, at, item], grew)

    def _replaced(self, log: Changes | None, before: int) -> None:
        """The container changed as a whole (sorted, cleared...): the tab is sent its new value."""
        if log is None:
            return
        at = self._at()
        if at is None:
            return
        if not at:
            log.var_log(self._state, self._name).whole = True
            return
        wire = to_wire(self._data)
        log.op(self._state, self._name, ["set", at, wire], wire_size(wire) - before)


def _walk(root: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, Any]]:
    node = root
    for key in path:
        yield key, node
        node = node[key]


def _find(root: Any, target: Any) -> tuple[Any, ...] | None:
    """The path of the container `target` inside `root`, by identity (None when it is not there)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        kind = type(node)
        if kind is list or kind is tuple:
            stack.extend((item, (*path, i)) for i, item in enumerate(node) if type(item) not in ATOMIC)
        elif kind is dict:
            stack.extend((item, (*path, key)) for key, item in node.items() if type(item) not in ATOMIC)
    return None


def size_of(value: Any) -> int:
    """About how many bytes a value takes as JSON (changes.wire_size of its wire form)."""
    return wire_size(to_wire(value))


def text_appended(old: Any, new: Any) -> str | None:
    """The text appended, when `new` is `old` with text added at its end (worth it only for long text)."""
    if type(old) is str and type(new) is str and len(old) >= 64 and len(new) > len(old) and new.startswith(old):
        return new[len(old):]
    return None
