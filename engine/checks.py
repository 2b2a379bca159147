"""What a var may hold, checked where a value is written: its annotation, and plain finite JSON.

Every var is stored as JSON (in memory too, so the two managers agree) and
sent to the browser as JSON, so a value that cannot be both is refused at
the line that writes it, with the var's name, the value's type and what is
allowed, instead of failing later at the end of the block, at the next
worker that loads the tab, or in the browser. What is allowed:

- `str`, `int` (not `bool`), `float` (finite; an `int` is stored as a float),
  `bool`, `None`, `typing.Any` (any plain JSON);
- `list[T]`, `set[T]`, `frozenset[T]`, `tuple[T, ...]`, `tuple[A, B]`,
  `dict[str, T]` or `dict[int, T]` (JSON keys are text: other keys are refused,
  and so is a dict that mixes `1` and `"1"`), nested to any depth;
- `X | Y`, `Optional[X]`, `Literal[...]`.

`check_for(annotation)` compiles a `Check` once per var; a container view
asks it for the check of what it holds (`items`, `value`, `at`).
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable
from typing import Any

from .codec import type_name

__all__ = ["ANY", "Check", "Misfit", "check_for", "describe"]


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

    __slots__ = ("fields", "fn", "items", "key", "kind", "members", "name")

    def __init__(self, name: str, fn: Callable[[Any], Any], kind: str = "") -> None:
        self.name = name
        self.fn = fn  # (what __call__ calls: a caller on a hot path calls it directly)
        self.kind = kind
        self.items: Check = self  # list/set/tuple[T, ...]: the items' check; dict: the values'
        self.key: Callable[[Any], Any] | None = None  # dict: the keys' check
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
def _json(value: Any) -> Any:
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
                checked = _json(item)
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
                checked = _json(item)
            except Misfit as misfit:
                raise misfit.at(key) from None
            if checked is not item:
                value[key] = checked
        return value
    if kind is tuple:
        return tuple(_json(item) for item in value)
    if kind is set or kind is frozenset:
        for item in value:
            _json(item)
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):  # an IntEnum, say: stored as the number
        return int(value)
    if isinstance(value, str):
        return str(value)
    raise Misfit("plain JSON (str, int, float, bool, None, lists, dicts, sets, tuples)", value)


ANY = Check("Any", _json)
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


_SCALARS: dict[Any, Check] = {
    int: Check("int", _int), float: Check("float", _float), str: Check("str", _str), bool: Check("bool", _bool),
    type(None): Check("None", _none), None: Check("None", _none),
}


# -- compiling an annotation ---------------------------------------------------------------------
def check_for(annotation: Any) -> Check:
    """The check of an annotation; `TypeError` (with what is allowed) for one no var can hold."""
    if annotation is Any or annotation is typing.Any or annotation is object or isinstance(annotation, str):
        return ANY  # (an annotation left as text could not be resolved: any plain JSON)
    if isinstance(annotation, typing.ForwardRef):
        return ANY
    scalar = _SCALARS.get(annotation) if _hashable(annotation) else None
    if scalar is not None:
        return scalar
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return _union(annotation, [check_for(arg) for arg in args])
    if origin is typing.Literal:
        return _literal(annotation, args)
    container = origin or annotation
    if container in (list, set, frozenset):
        return _sequence(annotation, container, check_for(args[0]) if args else ANY)
    if container is tuple:
        if args and not (len(args) == 2 and args[1] is Ellipsis):
            return _fixed_tuple(annotation, tuple(check_for(arg) for arg in args))
        return _sequence(annotation, tuple, check_for(args[0]) if args else ANY)
    if container is dict:
        key, value = (args[0], args[1]) if args else (Any, Any)
        return _dict(annotation, key, check_for(value))
    raise TypeError(
        f"{type_name(annotation)} is not a type a var can hold; vars hold JSON values: str, int, float, bool, "
        "None, Any, list[...], dict[str, ...], set[...], tuple[...], unions and Literal. Keep other objects "
        "outside the state (a module-level value, or a ClassVar)"
    )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _union(annotation: Any, members: list[Check]) -> Check:
    def check(value: Any) -> Any:
        for member in members:
            try:
                return member(value)
            except Misfit:
                continue
        raise Misfit(type_name(annotation), value)

    result = Check(type_name(annotation), check)
    result.members = tuple(members)
    return result


def _literal(annotation: Any, options: tuple[Any, ...]) -> Check:
    def check(value: Any) -> Any:
        for option in options:
            if type(value) is type(option) and value == option:
                return value
        raise Misfit(type_name(annotation), value)

    return Check(type_name(annotation), check)


def _sequence(annotation: Any, container: type, items: Check) -> Check:
    kind = "tuple" if container is tuple else "set" if container in (set, frozenset) else "list"

    def check(value: Any) -> Any:
        if type(value) is not container and not (kind == "set" and type(value) in (set, frozenset)):
            raise Misfit(type_name(annotation), value)
        if items is ANY:
            return _json(value)
        if kind == "list":
            for index, item in enumerate(value):
                try:
                    checked = items(item)
                except Misfit as misfit:
                    raise misfit.at(index) from None
                if checked is not item:
                    value[index] = checked
            return value
        checked_items = []
        for index, item in enumerate(value):
            try:
                checked_items.append(items(item))
            except Misfit as misfit:
                raise misfit.at(index) from None
        return type(value)(checked_items)

    result = Check(type_name(annotation), check, kind)
    result.items = items
    return result


def _fixed_tuple(annotation: Any, fields: tuple[Check, ...]) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not tuple or len(value) != len(fields):
            raise Misfit(type_name(annotation), value)
        out = []
        for index, (field, item) in enumerate(zip(fields, value, strict=True)):
            try:
                out.append(field(item))
            except Misfit as misfit:
                raise misfit.at(index) from None
        return tuple(out)

    result = Check(type_name(annotation), check, "tuple")
    result.fields = fields
    result.items = ANY
    return result


def _dict(annotation: Any, key_type: Any, values: Check) -> Check:
    if key_type is int:
        key_ok, keys_are = _int_key, "int keys"
    elif key_type in (str, Any, typing.Any) or isinstance(key_type, str):
        key_ok, keys_are = _str_key, "text keys (JSON object keys are strings)"
    else:
        raise TypeError(
            f"{type_name(annotation)}: a dict var's keys must be str or int (JSON object keys are text)"
        )

    def check(value: Any) -> Any:
        if type(value) is not dict:
            raise Misfit(type_name(annotation), value)
        for key in value:
            if not key_ok(key):
                raise Misfit(keys_are, key)
        for key, item in value.items():
            try:
                checked = values(item)
            except Misfit as misfit:
                raise misfit.at(key) from None
            if checked is not item:
                value[key] = checked
        return value

    result = Check(type_name(annotation), check, "dict")
    result.items = values
    result.key = lambda key: key if key_ok(key) else _raise(Misfit(keys_are, key))
    return result


def _str_key(key: Any) -> bool:
    return type(key) is str


def _int_key(key: Any) -> bool:
    return type(key) is int


def _raise(misfit: Misfit) -> Any:
    raise misfit
