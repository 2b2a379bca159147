"""The markdown side: a fenced `demo` block becomes a live demo box.

In mkdocs.yml, pymdownx.superfences gets a custom fence named `demo` whose
formatter is `docsite.fences.demo_fence`. The fence body names a function that
returns a component, `module:function`. The box is rendered here, at build
time, with every state's default values; a missing demo fails the build.
"""

from __future__ import annotations

import html
import importlib
import json
from typing import Any

from pymdownx.superfences import SuperFencesException

from engine.components import Component
from engine.state import State

__all__ = ["DemoError", "demo_fence", "render_demo"]


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

# Status and note on one line; the error below them, on its own, with a close button.
FOOTER = (
    '<div class="rx-demo__footer">'
    '<div class="rx-demo__line">'
    '<span class="rx-demo__status" data-rx-status>offline</span>'
    f'<span class="rx-demo__note" data-rx-note>{html.escape(NO_SCRIPT_NOTE)}</span>'
    "</div>"
    '<div class="rx-demo__error" data-rx-error hidden>'
    '<span class="rx-demo__error-message" data-rx-error-message role="alert"></span>'
    '<button type="button" class="rx-demo__dismiss" data-rx-dismiss aria-label="Dismiss this message">'
    "\u00d7</button>"
    "</div>"
    "</div>"
)


def render_demo(target: str) -> str:
    """The HTML of one demo box, with default values in place."""
    component = _load(target)
    names = sorted(component.state_names())
    body = component.render(_defaults(set(names)))
    return (
        f'<div class="rx-demo" data-rx-demo="{html.escape(target)}" '
        f"data-rx-states='{html.escape(json.dumps(names), quote=True)}' data-state=\"offline\">"
        f'<div class="rx-demo__body">{body}</div>'
        f"{FOOTER}</div>"
    )


def demo_fence(src: str, language: str, class_name: str, options: Any, md: Any, **kwargs: Any) -> str:
    """pymdownx.superfences formatter for ```demo fences."""
    return render_demo(src.strip())
