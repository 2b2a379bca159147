"""The markdown side: a fenced `demo` block becomes a live demo box.

In mkdocs.yml, pymdownx.superfences gets a custom fence named `demo` whose
formatter is `docsite.fences.demo_fence`. The fence body names a function that
returns a component, `module:function`. The box is rendered here, at build
time, with every state's default values; a missing demo fails the build.

Every box also gets the lab's toggle, *Show what the server does*, in its
status line, and the panel it opens, right after the box (a sibling, so
nothing inside the box changes); lab.js fills and drives it, lab.css
styles it. The toggle is rendered hidden: it only appears once lab.js runs,
since without scripts it could do nothing.
"""

from __future__ import annotations

import html
import importlib
import json
from typing import Any

from pymdownx.superfences import SuperFencesException

from engine.components import Component
from engine.state import State

__all__ = ["DemoError", "demo_fence", "render_demo", "render_panel"]


class DemoError(SuperFencesException):  # type: ignore[misc]
    """A demo fence names something that is not a demo; the build stops."""


def _load(target: str) -> Component:
    module_name, _, func_name = target.partition(":")
    if not module_name or not func_name:
        raise DemoError(f"demo fence {target!r}: write it as `package.module:function`")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DemoError(f"demo fence {target!r}: cannot import {module_name}: {exc}") from exc
    func = getattr(module, func_name, None)
    if not callable(func):
        raise DemoError(f"demo fence {target!r}: {module_name} has no function {func_name}")
    component = func()
    if not isinstance(component, Component):
        raise DemoError(f"demo fence {target!r}: {func_name}() returned {component!r}, not a component")
    return component


def _defaults(names: set[str]) -> dict[str, dict[str, Any]]:
    values = {}
    for name in names:
        values[name] = State.find_class(name).public_defaults()
    return values


# The box as it reads before the runtime runs, and for good without JavaScript:
# offline, controls disabled, and a note that says why.
NO_SCRIPT_NOTE = "This demo runs on the server: it needs JavaScript to connect."

TOGGLE_LABEL = "Show what the server does"

# Status and note on one line, with the lab's toggle at its end; the error
# below them, on its own, with a close button.
FOOTER = (
    '<div class="rx-demo__footer">'
    '<div class="rx-demo__line">'
    '<span class="rx-demo__status" data-rx-status>offline</span>'
    f'<span class="rx-demo__note" data-rx-note>{html.escape(NO_SCRIPT_NOTE)}</span>'
    f'<button type="button" class="lab-toggle" data-lab-toggle aria-expanded="false" hidden>{TOGGLE_LABEL}</button>'
    "</div>"
    '<div class="rx-demo__error" data-rx-error hidden>'
    '<span class="rx-demo__error-message" data-rx-error-message role="alert"></span>'
    '<button type="button" class="rx-demo__dismiss" data-rx-dismiss aria-label="Dismiss this message">'
    "\u00d7</button>"
    "</div>"
    "</div>"
)


# The legend of the timeline: one small picture per mark, drawn like the timeline draws it.
_KEYS = (
    ('<rect class="lab-hold" x="1" y="3" width="20" height="10"/>', "holds the lock"),
    ('<rect class="lab-wait" x="1.5" y="4.5" width="19" height="7"/>', "waits for the lock"),
    ('<line class="lab-run" x1="1" y1="8" x2="21" y2="8"/>', "runs outside a block"),
    ('<circle class="lab-update" cx="11" cy="8" r="4"/>', "update sent to the tab, with its seq"),
    ('<path class="lab-error" d="M7 4 L15 12 M15 4 L7 12"/>', "error"),
    ('<path class="lab-cancel" d="M11 3 L15 8 L11 13 L7 8 Z"/>', "cancel asked"),
    ('<line class="lab-end" x1="11" y1="2" x2="11" y2="14"/>', "the copy ended"),
)
_LEGEND = "".join(
    f'<li><svg class="lab-key" viewBox="0 0 22 16" width="22" height="16" aria-hidden="true" '
    f'focusable="false">{shape}</svg>{html.escape(text)}</li>'
    for shape, text in _KEYS
)


def render_panel(names: list[str]) -> str:
    """The lab panel of a box showing the states `names`: empty, hidden until its toggle opens it."""
    classes = {name: State.find_class(name).__name__ for name in names}
    return (
        f"<div class=\"lab-panel\" data-lab-panel data-lab-classes='{html.escape(json.dumps(classes), quote=True)}' "
        'hidden>'
        '<div class="lab-panel__title">What the server does for this tab, since you opened this panel. '
        "One lane per task copy, one for the tab's regular events; time runs to the right.</div>"
        f'<ul class="lab-legend" aria-label="Legend">{_LEGEND}</ul>'
        '<div class="lab-timeline" data-lab-timeline role="region" tabindex="0" '
        'aria-label="Timeline, scrolls sideways">'
        '<svg class="lab-svg" data-lab-svg role="img" aria-label="Timeline: nothing has happened yet" '
        'width="300" height="40"></svg>'
        "</div>"
        '<div class="lab-panel__empty" data-lab-empty>Nothing yet: use the demo above and watch it here.</div>'
        '<table class="lab-table" data-lab-table>'
        "<caption>The box's states as the server holds them</caption>"
        '<thead><tr><th scope="col">Var</th><th scope="col">Value</th></tr></thead>'
        '<tbody data-lab-rows><tr><td colspan="2">Not read yet.</td></tr></tbody>'
        "</table>"
        "</div>"
    )


def render_demo(target: str) -> str:
    """The HTML of one demo box, with default values in place, and its lab panel."""
    component = _load(target)
    names = sorted(component.state_names())
    body = component.render(_defaults(set(names)))
    return (
        f'<div class="rx-demo" data-rx-demo="{html.escape(target)}" '
        f"data-rx-states='{html.escape(json.dumps(names), quote=True)}' data-state=\"offline\">"
        f'<div class="rx-demo__body">{body}</div>'
        f"{FOOTER}</div>{render_panel(names)}"
    )


def demo_fence(src: str, language: str, class_name: str, options: Any, md: Any, **kwargs: Any) -> str:
    """pymdownx.superfences formatter for ```demo fences."""
    return render_demo(src.strip())
