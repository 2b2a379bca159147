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
import operator
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from .changes import Changes, detached, wire_size
from .checks import ANY, Check, Misfit, describe
from .codec import to_wire
from .errors import ImmutableStateError, InvalidValueError

__all__ = ["STALE", "FixedGuard", "Guard", "View", "detach", "guarded", "invalid", "stored", "text_appended"]

_ATOMIC = frozenset({int, float, str, bool, bytes, type(None)})


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
_SORT_KEY = FixedGuard("inside a sort key, which only compares items; change them after sorting")


def guarded(value: Any, guard: Guard, state: Any = None, name: str = "", path: tuple[Any, ...] = (),
            check: Check = ANY) -> Any:
    """`value` as a handler may see it: containers wrapped in views under `guard`.

    `state` and `name` say whose var it is, `path` where in it (the keys from
    the var's value down), `check` what may be stored in it.
    """
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is list:
        return GuardedList(value, guard, state, name, path, check.of(value))
    if kind is dict:
        return GuardedDict(value, guard, state, name, path, check.of(value))
    if kind is set:
        return GuardedSet(value, guard, state, name, path, check.of(value))
    if kind is tuple:
        check = check.of(value)
        return tuple(guarded(item, guard, state, name, (*path, i), check.at(i)) for i, item in enumerate(value))
    return value


def detach(value: Any) -> Any:
    """A plain, independent copy of `value`: views become copies of their data."""
    kind = type(value)
    if kind in _ATOMIC:
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
        return f"{type(state).__name__}.{self._name}" if state is not None else "this value"

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
            log.log(self._state, self._name).whole = True
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
            stack.extend((item, (*path, i)) for i, item in enumerate(node) if type(item) not in _ATOMIC)
        elif kind is dict:
            stack.extend((item, (*path, key)) for key, item in node.items() if type(item) not in _ATOMIC)
    return None


def _size(value: Any) -> int:
    return wire_size(to_wire(value))


def text_appended(old: Any, new: Any) -> str | None:
    """The text appended, when `new` is `old` with text added at its end (worth it only for long text)."""
    if type(old) is str and type(new) is str and len(old) >= 64 and len(new) > len(old) and new.startswith(old):
        return new[len(old):]
    return None


def _restore_list(data: list[Any], items: list[Any]) -> None:
    data[:] = items


def _restore_dict(data: dict[Any, Any], items: dict[Any, Any]) -> None:
    data.clear()
    data.update(items)


def _restore_set(data: set[Any], items: set[Any]) -> None:
    data.clear()
    data.update(items)


class GuardedList(View, Sequence[Any]):
    __slots__ = ()

    def _index(self, index: int) -> int:
        size = len(self._data)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("list index out of range")
        return index

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return detached(self._data[index])  # a slice is a copy: change the list itself to change the state
        index = self._index(index)
        return self._child(index, self._data[index])

    def __iter__(self) -> Iterator[Any]:
        return (self._child(i, item) for i, item in enumerate(self._data))

    def __add__(self, other: Any) -> list[Any]:
        mine: list[Any] = detached(self._data)
        return mine + [detach(item) for item in other]

    def __radd__(self, other: Any) -> list[Any]:
        mine: list[Any] = detached(self._data)
        return [detach(item) for item in other] + mine

    def __mul__(self, times: int) -> list[Any]:
        return [detached(item) for item in self._data * times]

    __rmul__ = __mul__

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            log = self._begin()
            data = self._data
            items = [self._value(item, 0) for item in value]
            before = _size(data) if log is not None else 0
            old = data[:]
            data[index] = items
            if log is not None:
                log.undo.append((_restore_list, data, old))
            self._replaced(log, before)
            return
        self._begin_check()
        index = self._index(index)
        data = self._data
        old = data[index]
        value = stored(value, old)
        if value is old:
            return
        value = self._value(value, index)
        log = self._begin()
        data[index] = value
        if log is not None:
            log.undo.append((operator.setitem, data, index, old))
            text = text_appended(old, value)
            if text is not None:
                self._op(log, "text", index, text, len(text))
            else:
                wire = to_wire(value)
                self._op(log, "set", index, wire, wire_size(wire) - _size(old))

    def _begin_check(self) -> None:
        guard = self._guard
        if not guard.open:
            guard.check(f"change {self._where()}{''.join(f'[{key!r}]' for key in self._path)}")

    def __delitem__(self, index: Any) -> None:
        if isinstance(index, slice):
            log = self._begin()
            data = self._data
            before = _size(data) if log is not None else 0
            old = data[:]
            del data[index]
            if log is not None:
                log.undo.append((_restore_list, data, old))
            self._replaced(log, before)
            return
        self._begin_check()
        self._remove_at(self._index(index))

    def _remove_at(self, index: int) -> Any:
        log = self._begin()
        data = self._data
        old = data.pop(index)
        if log is not None:
            log.undo.append((list.insert, data, index, old))
            self._op(log, "del", index, None, -(_size(old) + (1 if data else 0)))
        return old

    def _insert(self, index: int, item: Any) -> None:
        value = self._value(item, index)
        log = self._begin()
        data = self._data
        data.insert(index, value)
        if log is not None:
            log.undo.append((list.pop, data, index))
            wire = to_wire(value)
            self._op(log, "ins", index, wire, wire_size(wire) + (1 if len(data) > 1 else 0))

    def append(self, item: Any) -> None:
        self._begin_check()
        self._insert(len(self._data), item)

    def insert(self, index: int, item: Any) -> None:
        self._begin_check()
        size = len(self._data)
        index = max(0, min(size, index + size if index < 0 else index))
        self._insert(index, item)

    def extend(self, items: Any) -> None:
        self._begin_check()
        for item in list(items):
            self._insert(len(self._data), item)

    def __iadd__(self, other: Any) -> GuardedList:
        self.extend(other)
        return self

    def __imul__(self, times: int) -> GuardedList:
        log = self._begin()
        data = self._data
        before = _size(data) if log is not None else 0
        old = data[:]
        data[:] = [detached(item) for item in data * times]
        if log is not None:
            log.undo.append((_restore_list, data, old))
        self._replaced(log, before)
        return self

    def pop(self, index: int = -1) -> Any:
        self._begin_check()
        return detached(self._remove_at(self._index(index)))

    def remove(self, item: Any) -> None:
        self._begin_check()
        for index, present in enumerate(self._data):
            if present == item:
                self._remove_at(index)
                return
        raise ValueError("list.remove(x): x not in list")

    def clear(self) -> None:
        self._whole(lambda data: data.clear())

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        if key is not None:  # the key sees read-only views of the items, never the items themselves
            given = key
            key = lambda item: given(guarded(item, _SORT_KEY))  # noqa: E731
        self._whole(lambda data: data.sort(key=key, reverse=reverse))

    def reverse(self) -> None:
        self._whole(lambda data: data.reverse())

    def _whole(self, change: Any) -> None:
        log = self._begin()
        data = self._data
        before = _size(data) if log is not None else 0
        old = data[:]
        change(data)
        if log is not None:
            log.undo.append((_restore_list, data, old))
        self._replaced(log, before)


class GuardedDict(View, Mapping[Any, Any]):
    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        return self._child(key, self._data[key])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __or__(self, other: Any) -> dict[Any, Any]:
        return {**detached(self._data), **{key: detach(value) for key, value in dict(other).items()}}

    def _key(self, key: Any) -> Any:
        check = self._check.key
        if check is None:
            return key
        try:
            return check(key)
        except Misfit as misfit:
            raise invalid(misfit, self._where(), self._path) from None

    def __setitem__(self, key: Any, value: Any) -> None:
        guard = self._guard
        if not guard.open:
            guard.check(f"change {self._where()}{''.join(f'[{k!r}]' for k in self._path)}")
        data = self._data
        key = self._key(key)
        had = key in data
        old = data.get(key)
        value = stored(value, old)
        if had and value is old:
            return
        value = self._value(value, key)
        log = self._begin()
        data[key] = value
        if log is None:
            return
        if had:
            log.undo.append((operator.setitem, data, key, old))
            text = text_appended(old, value)
            if text is not None:
                self._op(log, "text", key, text, len(text))
                return
            wire = to_wire(value)
            self._op(log, "set", key, wire, wire_size(wire) - _size(old))
        else:
            log.undo.append((dict.pop, data, key))
            wire = to_wire(value)
            self._op(log, "set", key, wire, wire_size(wire) + len(str(key)) + 3 + (1 if len(data) > 1 else 0))

    def __delitem__(self, key: Any) -> None:
        guard = self._guard
        if not guard.open:
            guard.check(f"change {self._where()}{''.join(f'[{k!r}]' for k in self._path)}")
        data = self._data
        if key not in data:
            raise KeyError(key)
        log = self._begin()
        old = data.pop(key)
        if log is not None:
            log.undo.append((operator.setitem, data, key, old))
            self._op(log, "del", key, None, -(_size(old) + len(str(key)) + 3 + (1 if data else 0)))

    def __ior__(self, other: Any) -> GuardedDict:
        self.update(other)
        return self

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self._data:
            self[key] = default
        return self[key]

    def pop(self, key: Any, *default: Any) -> Any:
        if key not in self._data:
            if default:
                return default[0]
            raise KeyError(key)
        value = detached(self._data[key])
        del self[key]
        return value

    def popitem(self) -> tuple[Any, Any]:
        if not self._data:
            raise KeyError("popitem(): dictionary is empty")
        key = next(reversed(self._data))
        return key, self.pop(key)

    def clear(self) -> None:
        log = self._begin()
        data = self._data
        before = _size(data) if log is not None else 0
        old = dict(data)
        data.clear()
        if log is not None:
            log.undo.append((_restore_dict, data, old))
        self._replaced(log, before)


class GuardedSet(View, AbstractSet[Any]):
    __slots__ = ()

    @classmethod
    def _from_iterable(cls, items: Any) -> set[Any]:
        """What `|`, `&`, `-` and `^` return: a plain set (the view itself stays unchanged)."""
        return set(items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def _checked(self, item: Any) -> Any:
        try:
            return self._check.items(detach(item))
        except Misfit as misfit:
            raise invalid(misfit, self._where(), self._path) from None

    def add(self, item: Any) -> None:
        guard = self._guard
        if not guard.open:
            guard.check(f"change {self._where()}")
        item = self._checked(item)
        data = self._data
        if item in data:
            return
        log = self._begin()
        data.add(item)
        if log is not None:
            log.undo.append((set.discard, data, item))
            wire = to_wire(item)
            self._set_op(log, "add", wire, wire_size(wire) + (1 if len(data) > 1 else 0))

    def discard(self, item: Any) -> None:
        guard = self._guard
        if not guard.open:
            guard.check(f"change {self._where()}")
        data = self._data
        if item not in data:
            return
        log = self._begin()
        data.discard(item)
        if log is not None:
            log.undo.append((set.add, data, item))
            wire = to_wire(item)
            self._set_op(log, "rem", wire, -(wire_size(wire) + (1 if data else 0)))

    def remove(self, item: Any) -> None:
        if item not in self._data:
            self._begin_open()
            raise KeyError(item)
        self.discard(item)

    def _begin_open(self) -> None:
        guard = self._guard
        if not guard.open:
            guard.check(f"change {self._where()}")

    def pop(self) -> Any:
        self._begin_open()
        if not self._data:
            raise KeyError("pop from an empty set")
        item = next(iter(self._data))
        self.discard(item)
        return item

    def update(self, *others: Any) -> None:
        for other in others:
            for item in list(other):
                self.add(item)

    def __ior__(self, other: Any) -> GuardedSet:  # type: ignore[override,misc]
        self.update(other)
        return self

    def _whole(self, change: Any) -> None:
        log = self._begin()
        data = self._data
        before = _size(data) if log is not None else 0
        old = set(data)
        change(data)
        if log is not None:
            log.undo.append((_restore_set, data, old))
        self._replaced(log, before)

    def clear(self) -> None:
        self._whole(lambda data: data.clear())

    def difference_update(self, *others: Any) -> None:
        for other in others:
            for item in list(other):
                self.discard(item)

    def __isub__(self, other: Any) -> GuardedSet:  # type: ignore[override,misc]
        self.difference_update(other)
        return self

    def intersection_update(self, *others: Any) -> None:
        self._whole(lambda data: data.intersection_update(*others))

    def __iand__(self, other: Any) -> GuardedSet:  # type: ignore[override,misc]
        self.intersection_update(other)
        return self

    def symmetric_difference_update(self, other: Any) -> None:
        items = [self._checked(item) for item in other]
        self._whole(lambda data: data.symmetric_difference_update(items))

    def __ixor__(self, other: Any) -> GuardedSet:  # type: ignore[override,misc]
        self.symmetric_difference_update(other)
        return self
