"""Class-level var references and the small expression language built on them.

`MyTaskState.counter` is a `Var`; `~MyTaskState.running` or
`MyTaskState.counter >= 3` build `Op` trees. An expression is data: it turns
into JSON for the browser (`to_json`) and is evaluated by a fixed table of
operators on both sides. No string is ever executed.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Expr", "Literal", "Op", "Var", "as_expr", "to_text"]

Values = Mapping[str, Mapping[str, Any]]


def _truthy(value: Any) -> bool:
    return bool(value)


_FIELD = re.compile(r"\{(\w*)\}", re.ASCII)


def _join(items: Any, template: Any, sep: Any) -> str:
    """Each item of a list written into `template` (`{key}`: that key of a dict item, `{}`: the item), joined
    by `sep`; anything but a list reads as no text. The runtime's `join` (core.js) follows the same rules."""
    if not isinstance(items, list) or not isinstance(template, str) or not isinstance(sep, str):
        return ""

    def fill(item: Any) -> str:
        def field(match: re.Match[str]) -> str:
            key = match.group(1)
            if not key:
                return to_text(item)
            return to_text(item.get(key)) if isinstance(item, dict) else ""

        return _FIELD.sub(field, template)

    return sep.join(fill(item) for item in items)


_OPERATORS: dict[str, Callable[..., Any]] = {
    "not": lambda a: not _truthy(a),
    # Like Python and like the runtime (core.js): the operand itself, not a bool (`name | "anonymous"`).
    "and": lambda a, b: b if _truthy(a) else a,
    "or": lambda a, b: a if _truthy(a) else b,
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "join": _join,
}


class Expr:
    """A value the browser computes from state: a var, a literal or an operation."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def evaluate(self, values: Values) -> Any:
        """The expression's value given `{state_name: {var: value}}`."""
        raise NotImplementedError

    def var_paths(self) -> set[str]:
        """Every var path the expression reads."""
        return set()

    def join(self, template: str = "{}", sep: str = "\n") -> Op:
        """A list shown as text: each item written into `template` (`"{who}: {text}"` takes those keys of a
        dict item, `"{}"` the item itself), joined by `sep`. A list that changes by one item is sent as that
        item (an operation), and the page writes the text again from its copy."""
        return Op("join", self, template, sep)

    def __invert__(self) -> Op:
        return Op("not", self)

    def __and__(self, other: Any) -> Op:
        return Op("and", self, other)

    def __or__(self, other: Any) -> Op:
        return Op("or", self, other)

    def __eq__(self, other: Any) -> Op:  # type: ignore[override]
        return Op("eq", self, other)

    def __ne__(self, other: Any) -> Op:  # type: ignore[override]
        return Op("ne", self, other)

    def __lt__(self, other: Any) -> Op:
        return Op("lt", self, other)

    def __le__(self, other: Any) -> Op:
        return Op("le", self, other)

    def __gt__(self, other: Any) -> Op:
        return Op("gt", self, other)

    def __ge__(self, other: Any) -> Op:
        return Op("ge", self, other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError(
            f"{self!r} is computed in the browser and has no truth value in Python; "
            "use rx.cond(...) to choose between components, or read the value on a state instance"
        )


class Var(Expr):
    """A reference to one var of one state class, e.g. `MyTaskState.counter`."""

    __slots__ = ("state_name", "name", "type_")

    def __init__(self, state_name: str, name: str, type_: Any) -> None:
        self.state_name = state_name
        self.name = name
        self.type_ = type_

    @property
    def path(self) -> str:
        return f"{self.state_name}.{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {"var": self.path}

    def evaluate(self, values: Values) -> Any:
        return values[self.state_name][self.name]

    def var_paths(self) -> set[str]:
        return {self.path}

    def __repr__(self) -> str:
        return f"Var({self.path})"


class Literal(Expr):
    """A constant inside an expression."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        json.dumps(value)  # refuse what the browser could not receive
        self.value = value

    def to_json(self) -> dict[str, Any]:
        return {"lit": self.value}

    def evaluate(self, values: Values) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"Literal({self.value!r})"


class Op(Expr):
    """An operator applied to expressions; the operator set is fixed (see `_OPERATORS`)."""

    __slots__ = ("op", "args")

    def __init__(self, op: str, *args: Any) -> None:
        if op not in _OPERATORS:
            raise ValueError(f"unknown operator {op!r}; known: {sorted(_OPERATORS)}")
        self.op = op
        self.args = tuple(as_expr(arg) for arg in args)

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "args": [arg.to_json() for arg in self.args]}

    def evaluate(self, values: Values) -> Any:
        return _OPERATORS[self.op](*(arg.evaluate(values) for arg in self.args))

    def var_paths(self) -> set[str]:
        return set().union(*(arg.var_paths() for arg in self.args))

    def __repr__(self) -> str:
        return f"Op({self.op}, {', '.join(map(repr, self.args))})"


def as_expr(value: Any) -> Expr:
    """Wrap a plain value as a `Literal`; expressions pass through."""
    return value if isinstance(value, Expr) else Literal(value)


def to_text(value: Any) -> str:
    """How a value reads on the page; the browser runtime follows the same rules."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return json.dumps(value, separators=(",", ":"))
