"""Values in and out of the engine: what a tab may send, what goes on the wire and into storage.

Three directions, one set of rules keyed on a var's annotation:
- `convert(value, type_)`: an incoming event argument becomes the annotated
  type (a number input sends text) or `InvalidArgumentError` is raised.
- `to_wire(value)`: a state value becomes plain JSON (sets and tuples turn into lists).
- `check_stored(value, type_)`: a value read back from storage is rebuilt and
  verified against the annotation; anything else is refused, never executed.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Callable
from json import encoder as _json_encoder
from typing import Any

from .errors import InvalidArgumentError

__all__ = ["SCALAR_TYPES", "check_stored", "compact_json", "convert", "to_wire", "type_name", "wire_order"]

_SCALARS = (str, int, float, bool, type(None))
SCALAR_TYPES = frozenset(_SCALARS)  # for `type(value) in SCALAR_TYPES`: what to_wire() returns as it is


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _compact_json() -> Callable[[Any], str]:
    """`json.dumps(value, separators=(",", ":"), allow_nan=False)` with one C encoder made once.

    (`JSONEncoder.encode` makes its C encoder again at every call: a block that changes one item of a
    big list measures its operation's size with it.) No check for circular values: state values are
    plain JSON, detached from anything else, so they never contain themselves.
    """
    make = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:  # (a Python without the C accelerator)
        return json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    chunks = make(None, _not_json, _json_encoder.encode_basestring_ascii, None, ":", ",", False, False, False)

    def compact_json(value: Any) -> str:
        return "".join(chunks(value, 0))

    return compact_json


compact_json = _compact_json()


def type_name(type_: Any) -> str:
    """A short readable name for an annotation, for error messages."""
    if isinstance(type_, type):
        return type_.__name__
    return str(type_).replace("typing.", "")


def to_wire(value: Any) -> Any:
    """Plain JSON for the browser and for storage."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)):
        return [to_wire(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_wire(item) for item in value), key=wire_order)
    if isinstance(value, dict):
        return {str(key): to_wire(item) for key, item in value.items()}
    raise TypeError(f"{type(value).__name__} value {value!r} cannot be sent to the browser or stored")


def wire_order(value: Any) -> Any:
    """A sort key that orders any JSON values, the order a set is sent in (the browser sorts the same way).

    null < booleans < numbers < text < arrays < objects; numbers by value,
    text by code point, arrays item by item.
    """
    if value is None:
        return (0,)
    kind = type(value)
    if kind is bool:
        return (1, value)
    if kind is int or kind is float:
        return (2, value)
    if kind is str:
        return (3, value)
    if kind is list:
        return (4, tuple(wire_order(item) for item in value))
    return (5, tuple(sorted((key, wire_order(item)) for key, item in value.items())))


def convert(value: Any, type_: Any) -> Any:
    """Turn an event argument into `type_`, or raise `InvalidArgumentError` (nothing changes)."""
    return _rebuild(value, type_, lenient=True)


def check_stored(value: Any, type_: Any) -> Any:
    """Rebuild a stored JSON value as `type_`; raise `InvalidArgumentError` if it does not fit."""
    return _rebuild(value, type_, lenient=False)


def _fail(value: Any, type_: Any) -> InvalidArgumentError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidArgumentError(f"expected {type_name(type_)}, got {shown}")


def _rebuild(value: Any, type_: Any, *, lenient: bool) -> Any:
    if type_ is Any or type_ is typing.Any:
        to_wire(value)
        return value
    origin = typing.get_origin(type_)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(type_):
            return None
        for option in typing.get_args(type_):
            if option is type(None):
                continue
            try:
                return _rebuild(value, option, lenient=lenient)
            except InvalidArgumentError:
                continue
        raise _fail(value, type_)
    if origin is typing.Literal:
        if value in typing.get_args(type_):
            return value
        raise _fail(value, type_)
    if origin in (list, set, frozenset, tuple) or type_ in (list, set, frozenset, tuple):
        return _rebuild_sequence(value, type_, origin or type_, lenient=lenient)
    if origin is dict or type_ is dict:
        return _rebuild_dict(value, type_, lenient=lenient)
    if type_ is type(None) or type_ is None:
        if value is None:
            return None
        raise _fail(value, type_)
    if type_ is bool:
        return _to_bool(value, type_, lenient)
    if type_ is int:
        return _to_int(value, type_, lenient)
    if type_ is float:
        return _to_float(value, type_, lenient)
    if type_ is str:
        if isinstance(value, str):
            return value
        if lenient and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _fail(value, type_)
    raise _fail(value, type_)


def _to_bool(value: Any, type_: Any, lenient: bool) -> bool:
    if isinstance(value, bool):
        return value
    if lenient and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _fail(value, type_)


def _to_int(value: Any, type_: Any, lenient: bool) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if lenient and isinstance(value, float) and value.is_integer():
        return int(value)
    if lenient and isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise _fail(value, type_) from None
            if number.is_integer():
                return int(number)
    raise _fail(value, type_)


def _to_float(value: Any, type_: Any, lenient: bool) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif lenient and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _fail(value, type_) from None
    else:
        raise _fail(value, type_)
    if not math.isfinite(number):
        raise _fail(value, type_)
    return number


def _rebuild_sequence(value: Any, type_: Any, container: Any, *, lenient: bool) -> Any:
    if not isinstance(value, (list, tuple)):
        raise _fail(value, type_)
    args = typing.get_args(type_)
    if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(value):
            raise _fail(value, type_)
        return tuple(_rebuild(item, arg, lenient=lenient) for item, arg in zip(value, args, strict=True))
    item_type = args[0] if args else Any
    items = [_rebuild(item, item_type, lenient=lenient) for item in value]
    return container(items) if container is not list else items


def _rebuild_dict(value: Any, type_: Any, *, lenient: bool) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise _fail(value, type_)
    args = typing.get_args(type_)
    key_type, item_type = args if args else (Any, Any)
    return {
        _rebuild(key, key_type, lenient=True): _rebuild(item, item_type, lenient=lenient)
        for key, item in value.items()
    }
