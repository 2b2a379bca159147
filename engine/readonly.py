"""Read-only views of list, dict and set values, for a background task outside `async with self`.

Every mutating method raises `ImmutableStateError`; items read through a
view are wrapped again, so nested changes (`self.rows[0]["x"] = 1`) raise too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, NoReturn

from .errors import ImmutableStateError

__all__ = ["detach", "readonly"]


def readonly(value: Any, where: str) -> Any:
    """Wrap containers in read-only views; other values are returned as they are."""
    if isinstance(value, list):
        return ReadOnlyList(value, where)
    if isinstance(value, dict):
        return ReadOnlyDict(value, where)
    if isinstance(value, (set, frozenset)):
        return ReadOnlySet(value, where)
    return value


def detach(value: Any) -> Any:
    """`value` with every read-only view in it replaced by a plain copy, so it can be stored.

    A task may read a value outside `async with self` and assign it inside;
    plain values (and containers holding no view) are returned as they are.
    """
    if isinstance(value, _View):
        return copy.deepcopy(value._data)
    if isinstance(value, (list, tuple)):
        items = [detach(item) for item in value]
        if any(new is not old for new, old in zip(items, value, strict=True)):
            return items if isinstance(value, list) else tuple(items)
    elif isinstance(value, dict):
        entries = {key: detach(item) for key, item in value.items()}
        if any(entries[key] is not item for key, item in value.items()):
            return entries
    return value


def _refuse(where: str) -> NoReturn:
    raise ImmutableStateError(
        f"cannot change {where} outside `async with self`; "
        "use `async with self:` in the background task to modify state"
    )


class _View:
    __slots__ = ("_data", "_where")
    _data: Any
    _where: str

    def __init__(self, data: Any, where: str) -> None:
        self._data = data
        self._where = where

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, item: object) -> bool:
        return item in self._data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _View):
            other = other._data
        return bool(self._data == other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._data)

    def copy(self) -> Any:
        """A mutable, detached copy (changing it does not change the state)."""
        return copy.deepcopy(self._data)

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(self._where)


class ReadOnlyList(_View, Sequence[Any]):
    __slots__ = ()

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return ReadOnlyList(self._data[index], self._where)
        return readonly(self._data[index], self._where)

    def __iter__(self) -> Iterator[Any]:
        return (readonly(item, self._where) for item in self._data)

    def __add__(self, other: Any) -> list[Any]:
        return list(self._data) + list(other)

    def __radd__(self, other: Any) -> list[Any]:
        return list(other) + list(self._data)

    def __mul__(self, times: int) -> list[Any]:
        return list(self._data) * times

    __rmul__ = __mul__

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _View._refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _View._refuse


class ReadOnlyDict(_View, Mapping[Any, Any]):
    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        return readonly(self._data[key], self._where)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __or__(self, other: Any) -> dict[Any, Any]:
        return {**self._data, **other}

    __setitem__ = __delitem__ = __ior__ = _View._refuse
    pop = popitem = clear = update = setdefault = _View._refuse


class ReadOnlySet(_View, AbstractSet[Any]):
    __slots__ = ()

    @classmethod
    def _from_iterable(cls, items: Any) -> set[Any]:
        """What `|`, `&`, `-` and `^` return: a plain set (the view itself stays unchanged)."""
        return set(items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    __ior__ = __iand__ = __isub__ = __ixor__ = _View._refuse
    add = discard = remove = pop = clear = update = _View._refuse
    difference_update = intersection_update = symmetric_difference_update = _View._refuse
