"""A handful of components that render to HTML with live bindings.

Components are rendered once, on the server, with the states' default values
in place, so a box reads right before any script runs. Bindings are
`data-rx-*` attributes holding JSON expressions and actions (see the
protocol page); the browser runtime keeps them in step with the tab's state.
State values always reach the page as escaped text, never as markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from .event import EventHandler, EventSpec
from .vars import Expr, Var, to_text

__all__ = [
    "Component",
    "button",
    "cond",
    "heading",
    "hstack",
    "number_input",
    "text",
    "vstack",
]

Values = Mapping[str, Mapping[str, Any]]

_ATTRIBUTES = {"id", "placeholder", "min", "max", "step", "title", "aria_label"}
_STYLE_ALIASES = {"spacing": "gap"}


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
            raise TypeError(f"prop {name!r} cannot be bound to a var; only value= and children can")
        else:
            self.style[_STYLE_ALIASES.get(name, name).replace("_", "-")] = str(value)

    def state_names(self) -> set[str]:
        """The states whose vars this component (and its children) shows or sends to."""
        names: set[str] = set()
        for child in self.children:
            if isinstance(child, Component):
                names |= child.state_names()
            elif isinstance(child, Expr):
                names |= {path.rpartition(".")[0] for path in child.var_paths()}
        for key, value in self.bindings.items():
            if key == "data-rx-value":
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
                if name == "data-rx-value":
                    parts.append(_attr("value", to_text(value.evaluate(values))))
            else:
                parts.append(_attr(name, value))
        parts.append(">")
        if self.void:
            return "".join(parts)
        parts.extend(_render_child(child, values) for child in self.children)
        parts.append(f"</{self.tag}>")
        return "".join(parts)


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
    """A heading line inside a demo (not part of the page outline)."""
    component = Component("div", children, css_class="rx-heading", props=props)
    component.attrs.update({"role": "heading", "aria-level": "3"})
    return component


def text(*children: Any, **props: Any) -> Component:
    """A paragraph of text."""
    return Component("p", children, css_class="rx-text", props=props)


def button(*children: Any, **props: Any) -> Component:
    """A button; `on_click=MyState.handler` sends that event."""
    component = Component("button", children, css_class="rx-button md-button", props=props)
    component.attrs["type"] = "button"
    return component


def cond(condition: Any, when_true: Any, when_false: Any = None) -> Component:
    """`when_true` while `condition` holds in the tab's state, otherwise `when_false`."""
    return Cond(condition, when_true, when_false)


def number_input(*, value: Var | Any = None, on_change: Any = None, **props: Any) -> Component:
    """A number field; `on_change` receives the typed text, which the setter converts."""
    component = Component("input", css_class="rx-number-input", props=props, void=True)
    component.attrs["type"] = "number"
    if isinstance(value, Expr):
        component.bindings["data-rx-value"] = value
    elif value is not None:
        component.attrs["value"] = to_text(value)
    if on_change is not None:
        component._prop("on_change", on_change)
    return component
