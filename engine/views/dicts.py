"""The view of a dict: reads give views of its values, changes are checked, recorded and undoable."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping
from typing import Any

from ..changes import detached, wire_size
from ..checks import Misfit
from ..codec import SCALAR_TYPES, to_wire
from .base import ATOMIC, View, detach, invalid, register, size_of, stored, text_appended

__all__ = ['GuardedDict']

_MISSING = object()


def _restore_dict(data: dict[Any, Any], items: dict[Any, Any]) -> None:
    data.clear()
    data.update(items)



class GuardedDict(View, Mapping[Any, Any]):
    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        value = self._data[key]
        if type(value) in ATOMIC:  # (a text or a number: as it is, no view to make)
            return value
        return self._child(key, value)

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
        """`row["status"] = "paid"`: a text, a number, a bool or None at a text key, the usual write, is done
        in this one frame (`_value`, `_begin`, `text_appended`, `_op` inline: the same checks, undo and
        operation as `_set_any`, which takes everything else)."""
        guard = self._guard
        if not guard.open:
            guard.check(f"change {self._where()}{''.join(f'[{k!r}]' for k in self._path)}")
        kind = type(value)
        if kind not in SCALAR_TYPES or type(key) is not str or not self._check.str_keys:
            self._set_any(key, value)
            return
        data = self._data
        old = data.get(key, _MISSING)
        if value is old:
            return
        items = self._check.items
        if kind not in items.exact:
            try:
                value = items.fn(value)
            except Misfit as misfit:
                raise invalid(misfit, self._where(), (*self._path, key)) from None
        log = guard.log
        if log is None:
            data[key] = value
            return
        state, name = self._state, self._name
        log.before(state, name)
        data[key] = value
        if old is _MISSING:
            log.undo.append((dict.pop, data, key))
            size = len(value) + 2 if kind is str else wire_size(value)
            op, arg, grew = "set", value, size + len(key) + 3 + (1 if len(data) > 1 else 0)
        else:
            log.undo.append((operator.setitem, data, key, old))
            if kind is str and type(old) is str and len(old) >= 64 and len(value) > len(old) and value.startswith(old):
                op, arg = "text", value[len(old):]  # (`text_appended`)
                grew = len(arg)
            else:
                size = len(value) + 2 if kind is str else wire_size(value)
                was = type(old)
                op, arg = "set", value
                grew = size - (len(old) + 2 if was is str else wire_size(old) if was in SCALAR_TYPES else size_of(old))
        at = self._at()
        if at is not None:  # (else a container no longer in the state: the tab has nothing to hear of)
            log.op(state, name, [op, [*at, key], arg], grew)

    def _set_any(self, key: Any, value: Any) -> None:
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
            self._op(log, "set", key, wire, wire_size(wire) - size_of(old))
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
            self._op(log, "del", key, None, -(size_of(old) + len(str(key)) + 3 + (1 if data else 0)))

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
        before = size_of(data) if log is not None else 0
        old = dict(data)
        data.clear()
        if log is not None:
            log.undo.append((_restore_dict, data, old))
        self._replaced(log, before)


register(dict, GuardedDict)
