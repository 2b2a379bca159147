"""Components render their bindings and, before any script runs, their state's defaults.

The browser side of the same bindings (the runtime keeping them in step) is
tested in Chromium by tests/browser/test_controls.py.
"""

from __future__ import annotations

import html
import json
import re

import pytest

import engine as rx
from engine.components import progress

NAME = "state.component_probe_state"


class ComponentProbeState(rx.State):
    ready: bool = False
    loading: bool = True
    fraction: float | None = None
    count: int = 0

    def go(self):
        self.count += 1


def _defaults(**changes: object) -> dict[str, dict[str, object]]:
    return {NAME: {**ComponentProbeState.public_defaults(), **changes}}


def _attrs(markup: str, tag: str) -> dict[str, str | None]:
    """The attributes of the first `tag` element (a valueless attribute maps to None)."""
    match = re.search(rf"<{tag}\b([^>]*)>", markup)
    assert match, f"no <{tag}> in {markup}"
    return {
        attr.group(1): None if attr.group(2) is None else html.unescape(attr.group(2))
        for attr in re.finditer(r'([\w-]+)(?:="([^"]*)")?', match.group(1))
    }


def test_the_probe_state_has_the_name_these_tests_use():
    assert ComponentProbeState.get_full_name() == NAME


# -- buttons: disabled= and busy= --------------------------------------------------------------------


def test_disabled_binds_any_expression_and_renders_its_default():
    button = rx.button("Go", disabled=~ComponentProbeState.ready)
    markup = button.render(_defaults())
    attrs = _attrs(markup, "button")
    assert json.loads(attrs["data-rx-disabled"] or "") == {"op": "not", "args": [{"var": f"{NAME}.ready"}]}
    assert "disabled" in attrs  # ready is False by default, so ~ready holds
    assert "disabled" not in _attrs(button.render(_defaults(ready=True)), "button")
    assert button.state_names() == {NAME}


def test_disabled_true_is_a_constant_and_false_adds_nothing():
    assert "disabled" in _attrs(rx.button("Go", disabled=True).render({}), "button")
    plain = _attrs(rx.button("Go", disabled=False).render({}), "button")
    assert "disabled" not in plain and "data-rx-disabled" not in plain


def test_busy_renders_aria_busy_and_aria_disabled_while_its_default_holds():
    button = rx.button("Fetch", busy=ComponentProbeState.loading)
    attrs = _attrs(button.render(_defaults()), "button")
    assert json.loads(attrs["data-rx-busy"] or "") == {"var": f"{NAME}.loading"}
    assert attrs["aria-busy"] == "true" and attrs["aria-disabled"] == "true"
    idle = _attrs(button.render(_defaults(loading=False)), "button")
    assert "aria-busy" not in idle and "aria-disabled" not in idle


def test_a_control_with_an_action_starts_disabled_until_the_runtime_is_live():
    attrs = _attrs(rx.button("Go", on_click=ComponentProbeState.go).render(_defaults()), "button")
    assert "disabled" in attrs and attrs["data-rx-on-click"]
    field = rx.number_input(value=ComponentProbeState.count, on_change=ComponentProbeState.set_count)
    assert "disabled" in _attrs(field.render(_defaults()), "input")
    # A button without an action is not a control: nothing to wait for.
    assert "disabled" not in _attrs(rx.button("Nothing").render({}), "button")


def test_bindings_whose_values_are_missing_render_their_resting_state():
    button = rx.button("Go", disabled=ComponentProbeState.ready, busy=ComponentProbeState.loading)
    attrs = _attrs(button.render({NAME: {}}), "button")
    assert "disabled" not in attrs and "aria-busy" not in attrs
    assert "value" not in _attrs(progress(value=ComponentProbeState.fraction).render({}), "progress")


def test_other_props_still_refuse_a_var():
    with pytest.raises(TypeError, match="cannot be bound to a var"):
        rx.text("x", color=ComponentProbeState.ready)


# -- progress ---------------------------------------------------------------------------------------


def test_progress_is_a_progress_element_from_0_to_1_named_by_aria_label():
    bar = progress(value=ComponentProbeState.fraction, aria_label="Upload")
    attrs = _attrs(bar.render(_defaults(fraction=0.25)), "progress")
    assert attrs["max"] == "1" and attrs["value"] == "0.25" and attrs["aria-label"] == "Upload"
    assert json.loads(attrs["data-rx-progress"] or "") == {"var": f"{NAME}.fraction"}
    assert bar.state_names() == {NAME}


@pytest.mark.parametrize(("value", "shown"), [(None, None), (-1, "0.0"), (0, "0.0"), (1, "1.0"), (7.5, "1.0"),
                                              (float("nan"), None), ("half", None), (True, None)])
def test_progress_clamps_to_0_1_and_is_indeterminate_without_a_number(value: object, shown: str | None):
    bound = _attrs(progress(value=ComponentProbeState.fraction).render(_defaults(fraction=value)), "progress")
    constant = _attrs(progress(value=value).render({}), "progress")
    for attrs in (bound, constant):
        assert attrs.get("value") == shown


# -- text and fields ------------------------------------------------------------------------------


def test_text_can_be_a_live_region():
    live = rx.text(ComponentProbeState.count, aria_live="polite")
    assert _attrs(live.render(_defaults()), "p")["aria-live"] == "polite"


def test_number_input_carries_its_name_and_bounds():
    field = rx.number_input(value=ComponentProbeState.count, min=1, max=100, aria_label="Limit")
    attrs = _attrs(field.render(_defaults(count=7)), "input")
    assert (attrs["min"], attrs["max"], attrs["aria-label"], attrs["value"]) == ("1", "100", "Limit", "7")


def test_heading_is_a_level_3_heading_and_text_is_not():
    assert _attrs(rx.heading("Title").render({}), "div")["role"] == "heading"
    assert "role" not in _attrs(rx.text("7 /").render({}), "p")
