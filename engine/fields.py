"""How a var is declared: its descriptor, its default, and the setter event made for it."""

from __future__ import annotations

import copy
import types
import typing
from typing import Any, ClassVar

from .checks import ANY, Check
from .codec import convert, type_name
from .errors import InvalidArgumentError, StateDefinitionError
from .vars import Var

__all__ = ["VarField", "implicit_default", "is_classvar", "make_setter", "resolve_hints"]

_MUTABLE_TYPES = (list, dict, set)
_SCALAR_TYPES = (int, float, str, bool, type(None), None)


class VarField:
    """Descriptor for one declared var: a `Var` on the class, the tab's value on an instance."""

    __slots__ = ("backend", "check", "default", "internal", "mutable", "name", "owner", "type_", "var")

    def __init__(
        self, name: str, owner: Any, type_: Any, default: Any, check: Check = ANY, *, internal: bool = False
    ) -> None:
        self.name = name
        self.check = check  # what a value written to it must be (checks.py)
        self.owner = owner
        self.type_ = type_
        self.default = default
        self.backend = name.startswith("_")
        self.internal = internal  # kept by the engine (a task's status): no setter, a tab cannot set it
        # A value that can hold a container is deep-copied for snapshots and per tab,
        # so in-place changes are seen (delta, rollback); `list[int] | None` included.
        self.mutable = isinstance(default, _MUTABLE_TYPES) or _may_hold_container(type_)
        self.var = Var(owner.get_full_name(), name, type_)

    def fresh_default(self) -> Any:
        return copy.deepcopy(self.default) if self.mutable else self.default

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self.var
        if type(obj) is not self.owner:
            obj = obj._rx_ancestor(self.owner)
        return obj._rx_values[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        if type(obj) is not self.owner:
            obj = obj._rx_ancestor(self.owner)
        obj._rx_values[self.name] = value

    def __delete__(self, obj: Any) -> None:
        raise AttributeError(
            f"var {self.owner.__name__}.{self.name} cannot be deleted; assign a value instead"
        )


def _may_hold_container(type_: Any) -> bool:
    """Whether a var with this annotation can hold a list, dict or set: all but plain scalars."""
    origin = typing.get_origin(type_)
    if origin in (typing.Union, types.UnionType):
        return any(_may_hold_container(arg) for arg in typing.get_args(type_))
    if origin is typing.Literal:
        return False
    return type_ not in _SCALAR_TYPES


def resolve_hints(cls: type, annotations: dict[str, Any]) -> dict[str, Any]:
    if not annotations:
        return {}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        hints = {}
    return {name: hints.get(name, value) for name, value in annotations.items()}


def implicit_default(cls: type, name: str, type_: Any) -> Any:
    origin = typing.get_origin(type_) or type_
    if origin in (list, dict, set):
        return origin()
    if type(None) in typing.get_args(type_):
        return None
    raise StateDefinitionError(
        f"var {cls.__name__}.{name}: {type_name(type_)} has no natural default; "
        f"give one, e.g. `{name}: {type_name(type_)} = ...`"
    )


def make_setter(cls: type, field: VarField) -> Any:
    name, type_ = field.name, field.type_

    def setter(self: Any, value: Any) -> None:
        try:
            converted = convert(value, type_)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"{cls.__name__}.set_{name}: {exc}; {name} is unchanged"
            ) from None
        setattr(self, name, converted)

    setter.__name__ = f"set_{name}"
    setter.__qualname__ = f"{cls.__qualname__}.set_{name}"
    setter.__doc__ = f"Set `{name}` from a tab, converting the value to {type_name(type_)}."
    return setter


def is_classvar(annotation: Any) -> bool:
    """Whether an annotation declares a class variable (not a var of each tab)."""
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return typing.get_origin(annotation) is ClassVar or annotation is ClassVar
