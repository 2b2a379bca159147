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
asks it for the check of what it holds (`items`, `value`, `at`). The
`Check` itself, the plain JSON rule and the scalars are in `jsonchecks.py`.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from .codec import type_name
from .jsonchecks import ANY, SCALARS, Check, Misfit, describe, plain_json

__all__ = ["ANY", "Check", "Misfit", "check_for", "describe"]


# -- compiling an annotation ---------------------------------------------------------------------
def check_for(annotation: Any) -> Check:
    """The check of an annotation; `TypeError` (with what is allowed) for one no var can hold."""
    if annotation is Any or annotation is typing.Any or annotation is object or isinstance(annotation, str):
        return ANY  # (an annotation left as text could not be resolved: any plain JSON)
    if isinstance(annotation, typing.ForwardRef):
        return ANY
    scalar = SCALARS.get(annotation) if _hashable(annotation) else None
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
            return plain_json(value)
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
    result.str_keys = key_ok is _str_key
    return result


def _str_key(key: Any) -> bool:
    return type(key) is str


def _int_key(key: Any) -> bool:
    return type(key) is int


def _raise(misfit: Misfit) -> Any:
    raise misfit
