"""What a component is: an element, its props and bindings, and its rendering to HTML.

A component renders once, on the server, with the states' default values in
place, so a box reads right before any script runs; its bindings are
`data-rx-*` attributes holding JSON expressions and actions (see the
protocol page). State values always reach the page as escaped text, never as
markup, and a control (an element with an action) is rendered disabled until
the runtime has connected. The builders (`rx.button`, `rx.vstack`...) are in
`components.py`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import Any

from .handler import EventHandler, EventSpec
from .vars import Expr, Literal, to_text

__all__ = ["Component", "Cond", "Values", "progress_fraction"]

Values = Mapping[str, Mapping[str, Any]]

_ATTRIBUTES = {"id", "placeholder", "min", "max", "step", "title", "aria_label", "aria_live", "role", "tabindex"}
_STYLE_ALIASES = {"spacing": "gap"}
_ACTIONS = ("data-rx-on-click", "data-rx-on-change")


def _attr(name: str, value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return f' {name}="{html.escape(text, quote=True)}"'


def _action(handler: Any, pass_value: bool) -> dict[str, Any]:
    if isinstance(handler, EventSpec):
        return {"event": handler.handler.full_name, "args": [{"lit": a} for a in handler.args]}
    if isinstance(handler, EventHandler):
        return {"event": handler.full_name, "args": [{"from": "value"}] if pass_value else []}
    raise TypeError(
        f"an event prop takes a handler such as `MyState.handler` or `MyState.handler(args)`, got {handler!r}"
    )


def _value_or(expr: Expr, values: Values, missing: Any) -> Any:
    """The expression's value, or `missing` when `values` lacks a var it reads.

    Attribute bindings then render their resting state (enabled, not busy,
    indeterminate); the runtime sets them once the tab's values arrive.
    """
    try:
        return expr.evaluate(values)
    except KeyError:
        return missing


def progress_fraction(value: Any) -> float | None:
    """A progress value clamped to [0, 1]; None (indeterminate) for anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return min(max(float(value), 0.0), 1.0)


class Component:
    """An element with children, style, attributes and event bindings."""

    def __init__(
        self,
        tag: str,
        children: tuple[Any, ...] = (),
        *,
        css_class: str = "",
        props: dict[str, Any] | None = None,
        void: bool = False,
    ) -> None:
        self.tag = tag
        self.children = children
        self.css_class = css_class
        self.void = void
        self.attrs: dict[str, Any] = {}
        self.bindings: dict[str, Any] = {}
        self.style: dict[str, str] = {}
        for name, value in (props or {}).items():
            self.set_prop(name, value)

    def set_prop(self, name: str, value: Any) -> None:
        """Set one prop as `Component(props=...)` does: an event binding, a class, an attribute or a style."""
        if name in ("on_click", "on_change"):
            self.bindings[f"data-rx-{name.replace('_', '-')}"] = _action(value, name == "on_change")
        elif name == "class_name":
            self.css_class = f"{self.css_class} {value}".strip()
        elif name in _ATTRIBUTES:
            self.attrs[name.replace("_", "-")] = value
        elif isinstance(value, Expr):
            raise TypeError(
                f"prop {name!r} cannot be bound to a var; only children, value= (inputs, progress) "
                "and disabled=/busy= (buttons) can"
            )
        else:
            self.style[_STYLE_ALIASES.get(name, name).replace("_", "-")] = str(value)

    def bind_flag(self, attribute: str, value: Any) -> None:
        """Bind an on/off attribute to an expression; a plain True is a constant, False nothing."""
        if isinstance(value, Expr):
            self.bindings[attribute] = value
        elif value:
            self.bindings[attribute] = Literal(True)

    def state_names(self) -> set[str]:
        """The states whose vars this component (and its children) shows or sends to."""
        names: set[str] = set()
        for child in self.children:
            if isinstance(child, Component):
                names |= child.state_names()
            elif isinstance(child, Expr):
                names |= {path.rpartition(".")[0] for path in child.var_paths()}
        for value in self.bindings.values():
            if isinstance(value, Expr):
                names |= {path.rpartition(".")[0] for path in value.var_paths()}
            elif isinstance(value, dict) and "event" in value:
                names.add(value["event"].rpartition(".")[0])
        return names

    def render(self, values: Values) -> str:
        parts = [f"<{self.tag}"]
        if self.css_class:
            parts.append(_attr("class", self.css_class))
        for name, value in self.attrs.items():
            parts.append(_attr(name, value))
        if self.style:
            parts.append(_attr("style", "; ".join(f"{k}: {v}" for k, v in self.style.items())))
        for name, value in self.bindings.items():
            if isinstance(value, Expr):
                parts.append(_attr(name, value.to_json()))
                parts.append(self._initial(name, value, values))
            else:
                parts.append(_attr(name, value))
        if any(name in self.bindings for name in _ACTIONS) or self._initial_flag("data-rx-disabled", values):
            parts.append(" disabled")
        parts.append(">")
        if self.void:
            return "".join(parts)
        parts.extend(_render_child(child, values) for child in self.children)
        parts.append(f"</{self.tag}>")
        return "".join(parts)

    def _initial_flag(self, name: str, values: Values) -> bool:
        expr = self.bindings.get(name)
        return isinstance(expr, Expr) and bool(_value_or(expr, values, False))

    def _initial(self, name: str, expr: Expr, values: Values) -> str:
        """The plain attributes that show a binding's value before any script runs."""
        if name == "data-rx-value":
            return _attr("value", to_text(expr.evaluate(values)))
        if name == "data-rx-progress":
            fraction = progress_fraction(_value_or(expr, values, None))
            return "" if fraction is None else _attr("value", repr(fraction))
        if name == "data-rx-busy" and _value_or(expr, values, False):
            return _attr("aria-busy", "true") + _attr("aria-disabled", "true")
        return ""


def _render_child(child: Any, values: Values) -> str:
    if isinstance(child, Component):
        return child.render(values)
    if isinstance(child, Expr):
        text = html.escape(to_text(child.evaluate(values)))
        return f'<span{_attr("data-rx-text", child.to_json())}>{text}</span>'
    return html.escape(to_text(child))


class Cond(Component):
    """Shows one of two children depending on an expression, switched in the browser."""

    def __init__(self, condition: Any, when_true: Any, when_false: Any = None) -> None:
        if not isinstance(condition, Expr):
            raise TypeError(f"rx.cond needs a var expression as its condition, got {condition!r}")
        super().__init__("span", (when_true, when_false), css_class="rx-cond")
        self.condition = condition

    def state_names(self) -> set[str]:
        return super().state_names() | {p.rpartition(".")[0] for p in self.condition.var_paths()}

    def render(self, values: Values) -> str:
        branches = []
        for branch, expr in ((self.children[0], self.condition), (self.children[1], ~self.condition)):
            if branch is None:
                continue
            hidden = "" if expr.evaluate(values) else " hidden"
            branches.append(
                f'<span{_attr("data-rx-show", expr.to_json())}{hidden}>{_render_child(branch, values)}</span>'
            )
        return f'<span class="rx-cond">{"".join(branches)}</span>'
