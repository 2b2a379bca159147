"""States, vars, backend vars, setters, names, tokens and var expressions."""

from __future__ import annotations

import json

import pytest

import engine as rx
from engine.testing import TabClient
from engine.vars import Expr
from tests.engine.server_side import server_values
from tests.support.tabs import RecordingTab


class SpecVarsState(rx.State):
    count: int = 0
    ratio: float = 0.5
    label: str = "hi"
    flag: bool = False
    items: list[int] = []
    table: dict[str, list[int]] = {}
    tags: set[str] = set()
    _secret: str = "hidden"
    _plain_backend = 0

    def append_item(self, value: int):
        self.items.append(value)

    def add_to_row(self, key: str, value: int):
        self.table.setdefault(key, []).append(value)

    def add_tag(self, name: str):
        self.tags.add(name)

    def hide_secret(self, value: str):
        self._secret = value

    def reveal_secret(self):
        self.label = self._secret

    def touch_backend(self):
        self._plain_backend += 1

    def record_token(self):
        self.label = self.get_token()


class SpecParentState(rx.State):
    parent_value: int = 1


class SpecChildState(SpecParentState):
    child_value: int = 2


DEFAULTS = {
    "count": 0,
    "ratio": 0.5,
    "label": "hi",
    "flag": False,
    "items": [],
    "table": {},
    "tags": [],
}


# -- vars declared by annotation ----------------------------------------------------


async def test_annotated_class_attributes_become_vars_with_their_defaults(app):
    assert set(SpecVarsState.var_fields()) == {*DEFAULTS, "_secret", "_plain_backend"}
    async with TabClient(app) as tab:
        assert tab.state(SpecVarsState) == DEFAULTS


async def test_each_tab_has_its_own_values(app):
    async with TabClient(app) as first, TabClient(app) as second:
        await first.send(SpecVarsState.set_count, 5)
        await first.wait_for(lambda t: t.state(SpecVarsState)["count"] == 5)

        assert second.state(SpecVarsState)["count"] == 0
        assert (await server_values(app, second.token, SpecVarsState))["count"] == 0
        assert (await server_values(app, first.token, SpecVarsState))["count"] == 5


async def test_mutable_defaults_are_copied_per_tab(app):
    async with TabClient(app) as first, TabClient(app) as second:
        await first.send(SpecVarsState.append_item, 1)
        await second.send(SpecVarsState.append_item, 2)
        await first.send(SpecVarsState.append_item, 3)
        await first.send(SpecVarsState.add_to_row, "a", 1)
        await second.send(SpecVarsState.add_tag, "x")
        await first.wait_for(lambda t: t.state(SpecVarsState)["table"] == {"a": [1]})
        await second.wait_for(lambda t: t.state(SpecVarsState)["tags"] == ["x"])

        assert first.state(SpecVarsState)["items"] == [1, 3]
        assert second.state(SpecVarsState)["items"] == [2]
        assert second.state(SpecVarsState)["table"] == {}
        assert first.state(SpecVarsState)["tags"] == []
        async with TabClient(app) as third:
            assert third.state(SpecVarsState) == DEFAULTS
    fields = SpecVarsState.var_fields()
    assert (fields["items"].default, fields["table"].default, fields["tags"].default) == ([], {}, set())


# -- backend vars -------------------------------------------------------------------------


async def test_backend_vars_stay_on_the_server_and_never_reach_the_tab(app):
    async with RecordingTab(app) as tab:
        await tab.send(SpecVarsState.hide_secret, "s3cret")
        await tab.send(SpecVarsState.touch_backend)
        await tab.send(SpecVarsState.reveal_secret)
        await tab.wait_for(lambda t: t.state(SpecVarsState)["label"] == "s3cret")

        assert not any(name.startswith("_") for name in tab.state(SpecVarsState))
        for update in tab.updates:
            for values in (update.get("full") or update.get("delta")).values():
                assert not any(name.startswith("_") for name in values), update
        held = await server_values(app, tab.token, SpecVarsState)
        assert (held["_secret"], held["_plain_backend"]) == ("s3cret", 1)


async def test_changing_only_a_backend_var_sends_no_update(app):
    async with RecordingTab(app) as tab:
        seq = tab.seq
        assert await tab.send(SpecVarsState.touch_backend) == {"ok": True}
        await tab.send(SpecVarsState.set_count, 1)
        await tab.wait_for(lambda t: t.state(SpecVarsState)["count"] == 1)

        assert tab.deltas() == [{SpecVarsState.get_full_name(): {"count": 1}}]
        assert tab.seq == seq + 1


@pytest.mark.parametrize("setter", ["set__secret", "set__plain_backend"])
async def test_backend_vars_have_no_setter_a_tab_could_call(app, setter):
    assert setter not in SpecVarsState.handlers()
    assert not hasattr(SpecVarsState, setter)
    async with TabClient(app) as tab:
        ack = await tab.send_raw(
            {"id": "x1", "name": f"{SpecVarsState.get_full_name()}.{setter}", "args": ["pwned"]}
        )
        assert ack["ok"] is False
        assert setter in ack["error"]
        assert tab.errors == [ack["error"]]
        assert (await server_values(app, tab.token, SpecVarsState))["_secret"] == "hidden"


# -- setters ------------------------------------------------------------------------------


def test_every_public_var_gets_a_setter_handler():
    handlers = SpecVarsState.handlers()
    for name in DEFAULTS:
        assert isinstance(getattr(SpecVarsState, f"set_{name}"), rx.EventHandler)
        assert f"set_{name}" in handlers


@pytest.mark.parametrize(
    ("setter", "sent", "expected"),
    [
        ("set_count", "12", 12),
        ("set_count", " 7 ", 7),
        ("set_count", 3.0, 3),
        ("set_ratio", "2.5", 2.5),
        ("set_ratio", 4, 4.0),
        ("set_flag", "true", True),
        ("set_label", 42, "42"),
        ("set_items", ["1", "2"], [1, 2]),
    ],
)
async def test_setter_converts_the_sent_value_to_the_annotated_type(app, setter, sent, expected):
    var = setter.removeprefix("set_")
    async with TabClient(app) as tab:
        assert await tab.send(getattr(SpecVarsState, setter), sent) == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecVarsState)[var] == expected)

        held = (await server_values(app, tab.token, SpecVarsState))[var]
        assert held == expected
        assert type(held) is type(expected)


@pytest.mark.parametrize(
    ("setter", "sent", "type_name"),
    [
        ("set_count", "abc", "int"),
        ("set_count", "1.5", "int"),
        ("set_count", "", "int"),
        ("set_ratio", "fast", "float"),
        ("set_flag", "maybe", "bool"),
        ("set_items", "not a list", "list"),
    ],
)
async def test_setter_refuses_a_value_it_cannot_convert_and_changes_nothing(app, setter, sent, type_name):
    async with RecordingTab(app) as tab:
        await tab.send(SpecVarsState.set_label, "before")
        await tab.wait_for(lambda t: t.state(SpecVarsState)["label"] == "before")
        before_values = await server_values(app, tab.token, SpecVarsState)
        updates = len(tab.updates)

        ack = await tab.send(getattr(SpecVarsState, setter), sent)

        assert ack["ok"] is False
        assert f"SpecVarsState.{setter}" in ack["error"]
        assert type_name in ack["error"]
        assert repr(sent) in ack["error"]
        assert tab.errors == [ack["error"]]
        assert await server_values(app, tab.token, SpecVarsState) == before_values
        await tab.send(SpecVarsState.touch_backend)  # a round trip: any update would be here by now
        assert len(tab.updates) == updates


# -- names, substates and tokens ------------------------------------------------------------


def test_get_full_name_is_a_stable_dotted_name_from_the_root():
    assert rx.State.get_full_name() == "state"
    assert SpecVarsState.get_name() == "spec_vars_state"
    assert SpecVarsState.get_full_name() == "state.spec_vars_state"
    assert SpecVarsState.get_full_name() == SpecVarsState.get_full_name()
    assert SpecChildState.get_full_name() == "state.spec_parent_state.spec_child_state"
    assert rx.State.find_class("state.spec_parent_state.spec_child_state") is SpecChildState


async def test_root_get_substate_with_the_full_name_returns_that_tabs_instance(app):
    async with TabClient(app) as tab:
        await tab.send(SpecVarsState.set_count, 4)
        await tab.send(SpecChildState.set_child_value, 9)
        async with app.modify_state(tab.token) as root:
            state = root.get_substate(SpecVarsState.get_full_name().split("."))
            child = root.get_substate(SpecChildState.get_full_name().split("."))

            assert isinstance(state, SpecVarsState)
            assert state.count == 4
            assert state.get_token() == tab.token
            assert root.get_substate(SpecVarsState.get_full_name().split(".")) is state
            assert isinstance(child, SpecChildState)
            assert (child.child_value, child.parent_value) == (9, 1)
            assert isinstance(child.parent_state, SpecParentState)


async def test_get_substate_with_an_unknown_name_raises_unknown_state_error(app):
    async with app.modify_state("spec-unknown-substate-token") as root:
        with pytest.raises(rx.UnknownStateError, match="no_such_state"):
            root.get_substate(["state", "no_such_state"])


async def test_get_token_returns_the_tabs_token(app):
    async with TabClient(app) as tab:
        await tab.send(SpecVarsState.record_token)
        await tab.wait_for(lambda t: t.state(SpecVarsState)["label"] == tab.token)


def test_state_instances_belong_to_tabs_and_cannot_be_created_directly():
    with pytest.raises(TypeError, match="modify_state"):
        SpecVarsState()


def test_a_state_name_taken_by_another_module_is_refused():
    with pytest.raises(rx.StateDefinitionError, match="spec_vars_state"):
        namespace = {"__module__": "another.module", "__annotations__": {"x": int}, "x": 1}
        type("SpecVarsState", (rx.State,), namespace)
    assert rx.State.find_class("state.spec_vars_state") is SpecVarsState


# -- class access: vars and expressions --------------------------------------------------------


def test_class_attribute_access_gives_a_var():
    var = SpecVarsState.count
    assert isinstance(var, rx.Var)
    assert (var.state_name, var.name) == ("state.spec_vars_state", "count")
    assert var.to_json() == {"var": "state.spec_vars_state.count"}


def test_operators_on_vars_build_json_expression_data():
    running = {"var": "state.spec_vars_state.flag"}
    count = {"var": "state.spec_vars_state.count"}
    assert (~SpecVarsState.flag).to_json() == {"op": "not", "args": [running]}
    cases = {
        "eq": SpecVarsState.count == 3,
        "ne": SpecVarsState.count != 3,
        "lt": SpecVarsState.count < 3,
        "le": SpecVarsState.count <= 3,
        "gt": SpecVarsState.count > 3,
        "ge": SpecVarsState.count >= 3,
    }
    for op, expr in cases.items():
        assert expr.to_json() == {"op": op, "args": [count, {"lit": 3}]}
    both = (SpecVarsState.count >= 3) & ~SpecVarsState.flag
    assert both.to_json() == {"op": "and", "args": [cases["ge"].to_json(), {"op": "not", "args": [running]}]}
    assert json.loads(json.dumps(both.to_json())) == both.to_json()


def test_expressions_are_evaluated_from_values_never_from_strings():
    values = {"state.spec_vars_state": {"count": 4, "flag": False}}
    assert ((SpecVarsState.count >= 3) & ~SpecVarsState.flag).evaluate(values) is True
    assert (SpecVarsState.count < 3).evaluate(values) is False
    sneaky = SpecVarsState.label == "__import__('os').system('false')"
    assert sneaky.to_json()["args"][1] == {"lit": "__import__('os').system('false')"}
    assert sneaky.evaluate({"state.spec_vars_state": {"label": "hi"}}) is False


def test_and_or_give_an_operand_as_python_and_the_browser_runtime_do():
    """The server's first render and the page (core.js, tests/site/js/core.test.js) agree: `label | "anonymous"`."""
    values = {"state.spec_vars_state": {"count": 0, "label": "hi", "items": []}}
    assert (SpecVarsState.label & SpecVarsState.count).evaluate(values) == 0  # the first false operand
    assert (SpecVarsState.label & 5).evaluate(values) == 5  # else the last
    assert (SpecVarsState.count | SpecVarsState.label).evaluate(values) == "hi"  # the first true one
    assert (SpecVarsState.count | SpecVarsState.items).evaluate(values) == []  # else the last
    assert (SpecVarsState.label | "anonymous").evaluate({"state.spec_vars_state": {"label": ""}}) == "anonymous"


def test_a_var_has_no_truth_value_in_python():
    with pytest.raises(TypeError, match=r"rx\.cond"):
        bool(SpecVarsState.flag)
    with pytest.raises(TypeError):
        if ~SpecVarsState.flag:
            pass
    assert isinstance(SpecVarsState.count == 3, Expr)  # an expression, not a bool

