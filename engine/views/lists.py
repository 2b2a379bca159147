"""The view of a list: reads give views of its items, changes are checked, recorded and undoable."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from typing import Any

from ..changes import detached, wire_size
from ..checks import Misfit
from ..codec import SCALAR_TYPES, to_wire
from .base import ATOMIC, VIEWS, View, detach, guarded, invalid, register, size_of, stored, text_appended
from .guards import SORT_KEY

__all__ = ['GuardedList']

_new = object.__new__


def _restore_list(data: list[Any], items: list[Any]) -> None:
    data[:] = items



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
        if type(index) is int:  # (`self.rows[i]`, the usual read: `_index` and `_child` in this one frame)
            data = self._data
            size = len(data)
            at = index + size if index < 0 else index
            if not 0 <= at < size:
                raise IndexError("list index out of range")
            value = data[at]
            kind = type(value)
            if kind in ATOMIC:  # (a text or a number: as it is, no view to make)
                return value
            view_class = VIEWS.get(kind)
            if view_class is None:
                return self._child(at, value)
            check = self._check.at(at)
            view = _new(view_class)
            view._data = value
            view._guard = self._guard
            view._state = self._state
            view._name = self._name
            view._path = (*self._path, at)
            view._check = check.of(value) if check.members else check
            return view
        if isinstance(index, slice):
            return detached(self._data[index])  # a slice is a copy: change the list itself to change the state
        index = self._index(index)
        value = self._data[index]
        if type(value) in ATOMIC:  # (a text or a number: as it is, no view to make)
            return value
        return self._child(index, value)

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
            before = size_of(data) if log is not None else 0
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
                self._op(log, "set", index, wire, wire_size(wire) - size_of(old))

    def _begin_check(self) -> None:
        guard = self._guard
        if not guard.open:
            guard.check(f"change {self._where()}{''.join(f'[{key!r}]' for key in self._path)}")

    def __delitem__(self, index: Any) -> None:
        if isinstance(index, slice):
            log = self._begin()
            data = self._data
            before = size_of(data) if log is not None else 0
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
            self._op(log, "del", index, None, -(size_of(old) + (1 if data else 0)))
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
        guard = self._guard
        if not guard.open:
            self._begin_check()
        kind = type(item)
        check = self._check
        if kind not in SCALAR_TYPES or check.fields:
            self._insert(len(self._data), item)
            return
        # (`self.lines.append(line)`, the usual append: `_insert` in one frame, the same checks, undo and operation)
        items = check.items
        if kind not in items.exact:
            try:
                item = items.fn(item)
            except Misfit as misfit:
                raise invalid(misfit, self._where(), (*self._path, len(self._data))) from None
        log = guard.log
        data = self._data
        if log is None:
            data.append(item)
            return
        state, name = self._state, self._name
        log.before(state, name)
        index = len(data)
        data.append(item)
        log.undo.append((list.pop, data, index))
        at = self._at()
        if at is not None:
            log.op(state, name, ["ins", [*at, index], item], wire_size(item) + (1 if index else 0))

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
        before = size_of(data) if log is not None else 0
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
            key = lambda item: given(guarded(item, SORT_KEY))  # noqa: E731
        self._whole(lambda data: data.sort(key=key, reverse=reverse))

    def reverse(self) -> None:
        self._whole(lambda data: data.reverse())

    def _whole(self, change: Any) -> None:
        log = self._begin()
        data = self._data
        before = size_of(data) if log is not None else 0
        old = data[:]
        change(data)
        if log is not None:
            log.undo.append((_restore_list, data, old))
        self._replaced(log, before)


register(list, GuardedList)
