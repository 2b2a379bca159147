"""A handful of components that render to HTML with live bindings.

Components are rendered once, on the server, with the states' default values
in place, so a box reads right before any script runs. Bindings are
`data-rx-*` attributes holding JSON expressions and actions (see the
protocol page); the browser runtime keeps them in step with the tab's state.
State values always reach the page as escaped text, never as markup.

A control (an element with an action) is rendered disabled: its box is
offline until the runtime has connected, and without JavaScript it stays so.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import Any

from .handler import EventHandler, EventSpec
from .vars import Expr, Literal, Var, to_text

__all__ = [
    "Component",
    "button",
    "cond",
    "heading",
    "hstack",
    "input",
    "number_input",
    "progress",
    "text",
    "vstack",
]

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


def _fraction(value: Any) -> float | None:
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
            self._prop(name, value)

    def _prop(self, name: str, value: Any) -> None:
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

    def _bind_flag(self, attribute: str, value: Any) -> None:
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
            fraction = _fraction(_value_or(expr, values, None))
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


def hstack(*children: Any, **props: Any) -> Component:
    """Children side by side."""
    return Component("div", children, css_class="rx-hstack", props=props)


def vstack(*children: Any, **props: Any) -> Component:
    """Children one below the other."""
    return Component("div", children, css_class="rx-vstack", props=props)


def heading(*children: Any, **props: Any) -> Component:
    """A level-3 heading inside a demo; it joins the page's outline, so use it for titles, not figures."""
    component = Component("div", children, css_class="rx-heading", props=props)
    component.attrs.update({"role": "heading", "aria-level": "3"})
    return component


def text(*children: Any, **props: Any) -> Component:
    """A paragraph of text; `aria_live="polite"` has screen readers read out its changes."""
    return Component("p", children, css_class="rx-text", props=props)


def button(*children: Any, disabled: Any = False, busy: Any = None, **props: Any) -> Component:
    """A button; `on_click=MyState.handler` sends that event.

    `disabled=` and `busy=` take a bool or a var expression such as
    `MyState.loading`. A busy button shows a spinner, says `aria-busy`, and
    ignores clicks while keeping the keyboard focus. A button that starts a
    background task is busy while that task runs (`busy=MyState.task.running`),
    unless `busy=` says otherwise.
    """
    component = Component("button", children, css_class="rx-button", props=props)
    component.attrs["type"] = "button"
    if busy is None:
        busy = _running(props.get("on_click"))
    component._bind_flag("data-rx-disabled", disabled)
    component._bind_flag("data-rx-busy", busy)
    return component


def _running(action: Any) -> Any:
    """`Handler.running` of the background handler an action starts, else False."""
    handler = action.handler if isinstance(action, EventSpec) else action
    if isinstance(handler, EventHandler) and handler.background and handler.state_cls is not None:
        return handler.running
    return False


def cond(condition: Any, when_true: Any, when_false: Any = None) -> Component:
    """`when_true` while `condition` holds in the tab's state, otherwise `when_false`."""
    return Cond(condition, when_true, when_false)


def number_input(*, value: Var | Any = None, on_change: Any = None, **props: Any) -> Component:
    """A number field; `on_change` receives the typed text, which the setter converts.

    With `min=`/`max=` (and `step=`, 1 by default) the browser refuses what is
    out of range and says why instead of sending it. Name the field with
    `aria_label=` when no visible text does.
    """
    component = Component("input", css_class="rx-number-input", props=props, void=True)
    component.attrs["type"] = "number"
    return _field(component, value, on_change)


def input(*, value: Var | Any = None, on_change: Any = None, type: str = "text", **props: Any) -> Component:
    """A text field; `on_change` receives its text a moment after the reader stops typing.

    `on_change=MyState.search` with a background handler that has
    `concurrency="replace"` gives search-as-you-type: each new text cancels
    the search still running for the old one. Name the field with
    `aria_label=` when no visible text does.
    """
    if type not in ("text", "search"):
        raise ValueError(f"rx.input type must be 'text' or 'search', got {type!r}; use rx.number_input for numbers")
    component = Component("input", css_class="rx-input", props=props, void=True)
    component.attrs["type"] = type
    component.attrs["autocomplete"] = "off"
    return _field(component, value, on_change)


def _field(component: Component, value: Var | Any, on_change: Any) -> Component:
    """An input's value (bound to a var, or fixed) and the handler its changes go to."""
    if isinstance(value, Expr):
        component.bindings["data-rx-value"] = value
    elif value is not None:
        component.attrs["value"] = to_text(value)
    if on_change is not None:
        component._prop("on_change", on_change)
    return component


def progress(*, value: Any = None, **props: Any) -> Component:
    """A progress bar from 0 to 1; None (or a var holding None) shows work of unknown length.

    Values outside [0, 1] are clamped. Name the bar with `aria_label=`.
    """
    component = Component("progress", css_class="rx-progress", props=props)
    component.attrs["max"] = "1"
    if isinstance(value, Expr):
        component.bindings["data-rx-progress"] = value
    else:
        fraction = _fraction(value)
        if fraction is not None:
            component.attrs["value"] = repr(fraction)
    return component
