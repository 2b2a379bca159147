"""The handful of components demo boxes are made of: stacks, text, buttons, inputs, progress, cond.

Each builder makes a `Component` (`element.py`: props, bindings and
rendering) with the class, attributes and bindings that the browser runtime
and the site's styles expect of it, so a demo writes `rx.button("Start",
on_click=MyState.start)` and not markup. A control is rendered disabled: its
box is offline until the runtime has connected, and without JavaScript it
stays so.
"""

from __future__ import annotations

from typing import Any

from .element import Component, Cond, progress_fraction
from .handler import EventHandler, EventSpec
from .vars import Expr, Var, to_text

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
    component.bind_flag("data-rx-disabled", disabled)
    component.bind_flag("data-rx-busy", busy)
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
        component.set_prop("on_change", on_change)
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
        fraction = progress_fraction(value)
        if fraction is not None:
            component.attrs["value"] = repr(fraction)
    return component
