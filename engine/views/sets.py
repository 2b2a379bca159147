"""The view of a set: its items are scalars; adding and discarding are checked, recorded and undoable."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from typing import Any

from ..changes import wire_size
from ..checks import Misfit
from ..codec import to_wire
from .base import View, detach, invalid, register, size_of

__all__ = ['GuardedSet']


def _restore_set(data: set[Any], items: set[Any]) -> None:
    data.clear()
    data.update(items)



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
        before = size_of(data) if log is not None else 0
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


register(set, GuardedSet)
