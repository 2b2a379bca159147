"""The `Check` a var's annotation compiles to, and the rules of one plain JSON value.

Every var is stored and sent as JSON, so whatever its annotation, a value
must be finite JSON: this module holds that rule (`ANY`, what `typing.Any`
allows), the scalar checks (`int`, `float`, `str`, `bool`, `None`) and
`Misfit`, the internal error a check raises. `checks.py` builds the checks
of containers, unions and literals on top of these.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["ANY", "SCALARS", "Check", "Misfit", "describe", "plain_json"]


class Misfit(Exception):
    """A value does not fit (internal: the view turns it into an `InvalidValueError` naming the var)."""

    def __init__(self, expected: str, value: Any, path: tuple[Any, ...] = ()) -> None:
        super().__init__(expected)
        self.expected = expected
        self.value = value
        self.path = path

    def at(self, key: Any) -> Misfit:
        self.path = (key, *self.path)
        return self


def describe(value: Any) -> str:
    """A value as an error message shows it: its type and a short repr."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(value).__name__} {shown}"


class Check:
    """Checks (and, for floats, converts) values written where this annotation applies.

    `__call__(value)` returns the value to store or raises `Misfit`.
    `kind` is the container it accepts ("list", "dict", "set", "tuple") or
    "" for scalars and unions; `items`/`value`/`at` give the check of what a
    container holds, so a view of a nested list checks what is appended to it.
    """

    __slots__ = ("exact", "fields", "fn", "items", "key", "kind", "members", "name", "str_keys")

    def __init__(
        self, name: str, fn: Callable[[Any], Any], kind: str = "", exact: frozenset[type] = frozenset(),
    ) -> None:
        self.name = name
        self.fn = fn  # (what __call__ calls: a caller on a hot path calls it directly)
        self.kind = kind
        self.exact = exact  # the types every value of which fits as it is (a hot path skips the call for them)
        self.items: Check = self  # list/set/tuple[T, ...]: the items' check; dict: the values'
        self.key: Callable[[Any], Any] | None = None  # dict: the keys' check
        self.str_keys = True  # every text key fits (all but a dict with int keys)
        self.fields: tuple[Check, ...] = ()  # tuple[A, B]: each position's check
        self.members: tuple[Check, ...] = ()  # a union: its options

    def __call__(self, value: Any) -> Any:
        return self.fn(value)

    def at(self, key: Any) -> Check:
        """The check of what the container holds at `key` (a fixed tuple differs by position)."""
        if self.fields and isinstance(key, int) and -len(self.fields) <= key < len(self.fields):
            return self.fields[key]
        return self.items

    def of(self, container: Any) -> Check:
        """This check, or the union member that accepts this container (for a `list[int] | None` var)."""
        if not self.members:
            return self
        kind = _KINDS.get(type(container), "")
        for member in self.members:
            if member.kind == kind or member is ANY:
                return member
        return ANY

    def __repr__(self) -> str:
        return f"<Check {self.name}>"


# -- plain JSON (typing.Any) ------------------------------------------------------------------
def plain_json(value: Any) -> Any:
    """A plain JSON value (`typing.Any`): finite numbers, text keys, any depth; an IntEnum as its int."""
    kind = type(value)
    if kind is str or kind is bool or value is None or kind is int:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        raise Misfit("a finite number (JSON has no inf or NaN)", value)
    if kind is list:
        for index, item in enumerate(value):
            try:
                checked = plain_json(item)
            except Misfit as misfit:
                raise misfit.at(index) from None
            if checked is not item:
                value[index] = checked
        return value
    if kind is dict:
        for key in value:
            if type(key) is not str:
                raise Misfit("text keys (JSON object keys are strings)", key)
        for key, item in value.items():
            try:
                checked = plain_json(item)
            except Misfit as misfit:
                raise misfit.at(key) from None
            if checked is not item:
                value[key] = checked
        return value
    if kind is tuple:
        return tuple(plain_json(item) for item in value)
    if kind is set or kind is frozenset:
        for item in value:
            plain_json(item)
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):  # an IntEnum, say: stored as the number
        return int(value)
    if isinstance(value, str):
        return str(value)
    raise Misfit("plain JSON (str, int, float, bool, None, lists, dicts, sets, tuples)", value)


ANY = Check("Any", plain_json, exact=frozenset({str, int, bool, type(None)}))
_KINDS: dict[type, str] = {list: "list", dict: "dict", set: "set", frozenset: "set", tuple: "tuple"}


# -- scalars ---------------------------------------------------------------------------------
def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise Misfit("int", value)


def _float(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return value
        raise Misfit("a finite float (JSON has no inf or NaN)", value)
    if (kind is int or isinstance(value, (int, float))) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    raise Misfit("float", value)


def _str(value: Any) -> Any:
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise Misfit("str", value)


def _bool(value: Any) -> Any:
    if type(value) is bool:
        return value
    raise Misfit("bool", value)


def _none(value: Any) -> Any:
    if value is None:
        return None
    raise Misfit("None", value)


_NONE_ONLY = frozenset({type(None)})
SCALARS: dict[Any, Check] = {
    int: Check("int", _int, exact=frozenset({int})), float: Check("float", _float),
    str: Check("str", _str, exact=frozenset({str})), bool: Check("bool", _bool, exact=frozenset({bool})),
    type(None): Check("None", _none, exact=_NONE_ONLY), None: Check("None", _none, exact=_NONE_ONLY),
}
