"""Views of a tab's list, dict and set values that allow changes only while their guard is open.

A background task reaches container values through these views. Outside
`async with self` the guard is always closed: the task reads the values it
saw last (possibly stale) and every change raises `ImmutableStateError`.
Inside a block the guard is the block's own and closes when the block ends,
so a reference taken inside a block (`rows = self.rows`, `cell = self.grid[2]`)
can still be read afterwards, but nothing can be changed through it any more.
Items read through a view are views with the same guard, at any depth.

Values stored through an open view are detached first (`stored`): views in
them become plain copies, and containers are copied, so no object the task
still holds can reach into the tab's state once the block has ended.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from .errors import ImmutableStateError

__all__ = ["STALE", "FixedGuard", "Guard", "View", "detach", "guarded", "stored"]

_ATOMIC = (int, float, str, bool, bytes, type(None))


class Guard:
    """Whether changes through the views it guards are allowed now, and what to say when not.

    `states` keeps the state views handed out under this guard, one per state
    instance, so the same state reached twice in a block is the same object.
    A block is its own guard (runner/session.py); `FixedGuard` is one that
    stands alone.
    """

    __slots__ = ()
    open: bool
    refusal: str
    states: dict[object, Any]
    writes: Any = None  # a block's log of vars about to change (delta.Writes), filled by the state views

    def check(self, what: str) -> None:
        if not self.open:
            raise ImmutableStateError(f"cannot {what} {self.refusal}")


class FixedGuard(Guard):
    __slots__ = ("open", "refusal", "states")

    def __init__(self, refusal: str, *, open: bool = False) -> None:
        self.open = open
        self.refusal = refusal
        self.states = {}


# Values a background task reads outside `async with self`: never changeable.
STALE = FixedGuard("outside `async with self`; use `async with self:` in the background task to change state")


def guarded(value: Any, guard: Guard, where: str) -> Any:
    """`value` as the task may see it: containers wrapped in views under `guard`."""
    if isinstance(value, _ATOMIC):
        return value
    if isinstance(value, list):
        return GuardedList(value, guard, where)
    if isinstance(value, dict):
        return GuardedDict(value, guard, where)
    if isinstance(value, set):
        return GuardedSet(value, guard, where)
    if isinstance(value, tuple):
        return tuple(guarded(item, guard, where) for item in value)
    return value


def detach(value: Any) -> Any:
    """A plain, independent copy of `value`: views become copies of their data."""
    if isinstance(value, _ATOMIC):
        return value
    if isinstance(value, View):
        return copy.deepcopy(value._data)
    if isinstance(value, (list, tuple)):
        items = [detach(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {key: detach(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return type(value)(value)
    return copy.deepcopy(value)


def stored(value: Any, current: Any) -> Any:
    """What to store when `value` is assigned where `current` is now.

    A view of the very object already there (`self.rows += [1]` assigns the
    list back to itself) keeps it, so other references to it stay attached;
    anything else is detached.
    """
    if isinstance(value, View) and value._data is current:
        return current
    return detach(value)


class View:
    """What the list, dict and set views share: the data, its guard, and where it lives."""

    __slots__ = ("_data", "_guard", "_where")
    _data: Any

    def __init__(self, data: Any, guard: Guard, where: str) -> None:
        self._data = data
        self._guard = guard
        self._where = where

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
        return copy.deepcopy(self._data)

    def __copy__(self) -> Any:
        return copy.copy(self._data)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(self._data, memo)

    def _child(self, value: Any) -> Any:
        return guarded(value, self._guard, self._where)

    def _change(self) -> Any:
        """The data, once the guard allows a change."""
        self._guard.check(f"change {self._where}")
        return self._data


class GuardedList(View, Sequence[Any]):
    __slots__ = ()

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return GuardedList(self._data[index], self._guard, self._where)
        return self._child(self._data[index])

    def __iter__(self) -> Iterator[Any]:
        return (self._child(item) for item in self._data)

    def __add__(self, other: Any) -> list[Any]:
        mine: list[Any] = detach(self._data)
        return mine + list(other)

    def __radd__(self, other: Any) -> list[Any]:
        mine: list[Any] = detach(self._data)
        return list(other) + mine

    def __mul__(self, times: int) -> list[Any]:
        mine: list[Any] = detach(self._data)
        return mine * times

    __rmul__ = __mul__

    def __setitem__(self, index: Any, value: Any) -> None:
        data = self._change()
        if isinstance(index, slice):
            data[index] = [detach(item) for item in value]
        else:
            data[index] = stored(value, data[index])

    def __delitem__(self, index: Any) -> None:
        del self._change()[index]

    def __iadd__(self, other: Any) -> GuardedList:
        self._change().extend(detach(item) for item in other)
        return self

    def __imul__(self, times: int) -> GuardedList:
        data = self._change()
        data[:] = [detach(item) for item in data * times]
        return self

    def append(self, item: Any) -> None:
        self._change().append(detach(item))

    def extend(self, items: Any) -> None:
        self._change().extend(detach(item) for item in items)

    def insert(self, index: int, item: Any) -> None:
        self._change().insert(index, detach(item))

    def pop(self, index: int = -1) -> Any:
        return self._change().pop(index)

    def remove(self, item: Any) -> None:
        self._change().remove(item)

    def clear(self) -> None:
        self._change().clear()

    def sort(self, **kwargs: Any) -> None:
        self._change().sort(**kwargs)

    def reverse(self) -> None:
        self._change().reverse()


class GuardedDict(View, Mapping[Any, Any]):
    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        return self._child(self._data[key])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __or__(self, other: Any) -> dict[Any, Any]:
        return {**detach(self._data), **other}

    def __setitem__(self, key: Any, value: Any) -> None:
        data = self._change()
        data[key] = stored(value, data.get(key))

    def __delitem__(self, key: Any) -> None:
        del self._change()[key]

    def __ior__(self, other: Any) -> GuardedDict:
        self.update(other)
        return self

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._change().update({key: detach(value) for key, value in dict(*args, **kwargs).items()})

    def setdefault(self, key: Any, default: Any = None) -> Any:
        return self._child(self._change().setdefault(key, detach(default)))

    def pop(self, key: Any, *default: Any) -> Any:
        return self._change().pop(key, *default)

    def popitem(self) -> tuple[Any, Any]:
        return self._change().popitem()  # type: ignore[no-any-return]

    def clear(self) -> None:
        self._change().clear()


class GuardedSet(View, AbstractSet[Any]):
    __slots__ = ()

    @classmethod
    def _from_iterable(cls, items: Any) -> set[Any]:
        """What `|`, `&`, `-` and `^` return: a plain set (the view itself stays unchanged)."""
        return set(items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __ior__(self, other: Any) -> GuardedSet:  # type: ignore[override,misc]
        self._change().update(other)
        return self

    def __iand__(self, other: Any) -> GuardedSet:  # type: ignore[override,misc]
        self._change().intersection_update(other)
        return self

    def __isub__(self, other: Any) -> GuardedSet:  # type: ignore[override,misc]
        self._change().difference_update(other)
        return self

    def __ixor__(self, other: Any) -> GuardedSet:  # type: ignore[override,misc]
        self._change().symmetric_difference_update(other)
        return self

    def add(self, item: Any) -> None:
        self._change().add(item)

    def discard(self, item: Any) -> None:
        self._change().discard(item)

    def remove(self, item: Any) -> None:
        self._change().remove(item)

    def pop(self) -> Any:
        return self._change().pop()

    def clear(self) -> None:
        self._change().clear()

    def update(self, *others: Any) -> None:
        self._change().update(*others)

    def difference_update(self, *others: Any) -> None:
        self._change().difference_update(*others)

    def intersection_update(self, *others: Any) -> None:
        self._change().intersection_update(*others)

    def symmetric_difference_update(self, other: Any) -> None:
        self._change().symmetric_difference_update(other)
