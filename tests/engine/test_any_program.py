"""Whatever a user writes: no ordinary Python reaches the live state without the lock, and every value is checked.

Each test is a program a user could write, run through a real socket on
both state managers: a copy taken with `copy.copy`, a sort key that keeps
what it was given, an object kept from one block and changed after it, a
handler's `self` kept and written later, `vars(self)`; and values that
cannot be stored (a wrong type, inf, a key that would collide, an object).
A mistake is refused where it is made, names what and where, and the tab
and the store keep what they had.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import math
import re
from typing import Any

import pytest

import engine as rx
from engine.testing import TabClient
from tests.engine.server_side import server_values, tasks_finished

_kept: dict[str, Any] = {}  # what handlers keep past their end, per tab
_raised: dict[str, BaseException | None] = {}


class AnyProgramState(rx.State):
    rows: list[list[int]] = [[1], [2]]
    table: dict[str, dict[str, int]] = {"a": {"n": 1}}
    count: int = 0
    ratio: float = 0.5
    by_number: dict[int, str] = {}
    anything: dict = {}
    _notes: dict[str, list[int]] = {"seen": []}

    def keep_self(self):
        _kept[self.get_token()] = self  # a regular handler's `self`, kept past the event

    @rx.event(background=True)
    async def copy_then_change(self):
        async with self:
            shallow = copy.copy(self.rows)
            deep = copy.deepcopy(self.table)
        shallow[0].append(99)  # plain copies: changing them changes nothing in the state
        deep["a"]["n"] = 99

    @rx.event(background=True)
    async def sort_with_a_key_that_keeps(self):
        given: list[Any] = []

        def key(row: Any) -> int:
            given.append(row)
            return -row[0]

        async with self:
            self.rows.sort(key=key)
        try:
            given[0].append(7)  # what the key was given, written to after the block
        except BaseException as error:
            _raised[self.get_token()] = error
        else:
            _raised[self.get_token()] = None

    @rx.event(background=True)
    async def keep_a_backend_container(self):
        async with self:
            notes = self._notes
        try:
            notes["seen"].append(1)  # read in a block, changed after it
        except BaseException as error:
            _raised[self.get_token()] = error
        else:
            _raised[self.get_token()] = None

    @rx.event(background=True)
    async def write_through_a_kept_self(self):
        kept = _kept[self.get_token()]
        try:
            kept.count = 5  # the regular handler ended long ago
        except BaseException as error:
            _raised[self.get_token()] = error
        else:
            _raised[self.get_token()] = None

    @rx.event(background=True)
    async def read_vars(self):
        outside = dict(vars(self))
        async with self:
            inside = dict(self.__dict__)
            self.count = len(inside) + len(outside)
        _kept[f"vars:{self.get_token()}"] = (outside, inside)

    @rx.event(background=True)
    async def store(self, var: str, which: str):
        value = BAD_VALUES[which]
        try:
            async with self:
                self.count = 41  # in the same block: rolled back with it
                setattr(self, var, value)
        except BaseException as error:
            _raised[self.get_token()] = error
        else:
            _raised[self.get_token()] = None

    @rx.event(background=True)
    async def append_a_string_to_an_int_list(self):
        try:
            async with self:
                self.rows[1].append("x")
        except BaseException as error:
            _raised[self.get_token()] = error


BAD_VALUES: dict[str, Any] = {
    "text": "seven",
    "inf": math.inf,
    "nan": math.nan,
    "colliding keys": {1: "a", "1": "b"},
    "text key": {"1": "b"},
    "object": {"x": object()},
    "bytes": b"raw",
    "datetime": datetime.datetime(2026, 12, 3),
}
NAME = AnyProgramState.get_full_name()


async def _ran(app: rx.App, tab: TabClient, handler: Any, *args: Any) -> None:
    await tab.send(handler, *args)
    await tasks_finished(app, tab.token)
    await tab.settle()


# -- no ordinary Python reaches the live state without the lock -------------------------------------------------


async def test_copy_copy_of_a_view_shares_nothing_with_the_state(app: rx.App) -> None:
    async with TabClient(app, states=[AnyProgramState]) as tab:
        await _ran(app, tab, AnyProgramState.copy_then_change)
        values = await server_values(app, tab.token, AnyProgramState)
        assert values["rows"] == [[1], [2]] and values["table"] == {"a": {"n": 1}}
        assert tab.state(AnyProgramState)["rows"] == [[1], [2]]


async def test_a_sort_key_is_given_read_only_views(app: rx.App) -> None:
    async with TabClient(app, states=[AnyProgramState]) as tab:
        await _ran(app, tab, AnyProgramState.sort_with_a_key_that_keeps)
        assert isinstance(_raised[tab.token], rx.ImmutableStateError), _raised[tab.token]
        assert "sort key" in str(_raised[tab.token])
        values = await server_values(app, tab.token, AnyProgramState)
        assert values["rows"] == [[2], [1]]  # sorted, nothing else
        assert tab.state(AnyProgramState)["rows"] == [[2], [1]]


async def test_a_backend_container_read_in_a_block_cannot_be_changed_after_it(app: rx.App) -> None:
    async with TabClient(app, states=[AnyProgramState]) as tab:
        await _ran(app, tab, AnyProgramState.keep_a_backend_container)
        assert isinstance(_raised[tab.token], rx.ImmutableStateError), _raised[tab.token]
        assert (await server_values(app, tab.token, AnyProgramState))["_notes"] == {"seen": []}


async def test_a_regular_handlers_self_kept_and_written_from_a_task_is_refused(app: rx.App) -> None:
    async with TabClient(app, states=[AnyProgramState]) as tab:
        await tab.send(AnyProgramState.keep_self)
        await _ran(app, tab, AnyProgramState.write_through_a_kept_self)
        error = _raised[tab.token]
        assert isinstance(error, rx.ImmutableStateError), error
        assert "an event handler, which has ended" in str(error)
        assert (await server_values(app, tab.token, AnyProgramState))["count"] == 0
        async with app.modify_state(tab.token):  # and a later block on this worker stores nothing of it
            pass
        assert (await server_values(app, tab.token, AnyProgramState))["count"] == 0
        assert tab.state(AnyProgramState)["count"] == 0


async def test_vars_of_a_tasks_self_lists_its_vars_inside_and_outside_a_block(app: rx.App) -> None:
    async with TabClient(app, states=[AnyProgramState]) as tab:
        await _ran(app, tab, AnyProgramState.read_vars)
        outside, inside = _kept[f"vars:{tab.token}"]
        assert sorted(outside) == sorted(inside) == sorted(AnyProgramState.var_fields())  # the vars, nothing else
        assert outside["count"] == 0 and outside["ratio"] == 0.5 and outside["rows"] == [[1], [2]]
        assert inside["table"] == {"a": {"n": 1}}
        assert tab.state(AnyProgramState)["count"] == 2 * len(inside)


# -- every value is checked where it is written ------------------------------------------------------------------


@pytest.mark.parametrize(
    "var,which,expected",
    [
        ("count", "text", "AnyProgramState.count must be int, got str 'seven'"),
        ("ratio", "inf", "AnyProgramState.ratio must be a finite float"),
        ("ratio", "nan", "AnyProgramState.ratio must be a finite float"),
        ("anything", "colliding keys", "AnyProgramState.anything must be text keys"),
        ("by_number", "text key", "AnyProgramState.by_number must be int keys, got str '1'"),
        ("anything", "object", "AnyProgramState.anything['x'] must be plain JSON"),
        ("_notes", "bytes", "AnyProgramState._notes must be dict[str, list[int]], got bytes"),
        ("count", "datetime", "AnyProgramState.count must be int, got datetime"),
    ],
)
async def test_a_value_that_does_not_fit_fails_its_block_naming_the_var_and_nothing_is_kept(
    app: rx.App, var: str, which: str, expected: str
) -> None:
    async with TabClient(app, states=[AnyProgramState]) as tab:
        before = await server_values(app, tab.token, AnyProgramState)
        await _ran(app, tab, AnyProgramState.store, var, which)
        error = _raised[tab.token]
        assert isinstance(error, rx.InvalidValueError), error
        assert expected in str(error) and "nothing was stored" in str(error)
        assert await server_values(app, tab.token, AnyProgramState) == before  # count=41 was rolled back too
        assert tab.state(AnyProgramState)["count"] == 0


async def test_an_item_that_does_not_fit_says_where_it_was_put(app: rx.App) -> None:
    async with TabClient(app, states=[AnyProgramState]) as tab:
        await _ran(app, tab, AnyProgramState.append_a_string_to_an_int_list)
        error = _raised[tab.token]
        assert isinstance(error, rx.InvalidValueError), error
        assert "AnyProgramState.rows[1][1] must be int, got str 'x'" in str(error)
        assert (await server_values(app, tab.token, AnyProgramState))["rows"] == [[1], [2]]


async def test_an_int_written_to_a_float_var_is_stored_as_a_float(app: rx.App) -> None:
    async with app.modify_state("float-tab") as root:
        state = root.get_substate(NAME.split("."))
        state.ratio = 2
        assert type(state.ratio) is float
    async with app.modify_state("float-tab") as root:
        assert root.get_substate(NAME.split(".")).ratio == 2.0


class Client:
    """Something a user might want to keep in a backend var: a connection, a client."""


def test_an_annotation_no_var_can_hold_is_refused_when_the_class_is_made() -> None:
    with pytest.raises(rx.StateDefinitionError, match=r"Client is not a type a var can hold.*ClassVar"):
        class KeepsAClient(rx.State):
            _client: Client | None = None

    with pytest.raises(rx.StateDefinitionError, match="its default does not fit"):
        class WrongDefault(rx.State):
            count: int = "zero"  # type: ignore[assignment]


async def test_a_view_is_not_a_list_but_copy_gives_one_json_can_take(app: rx.App) -> None:
    import json

    async with app.modify_state("json-tab") as root:
        rows = root.get_substate(NAME.split(".")).rows
        assert not isinstance(rows, list)
        with pytest.raises(TypeError):
            json.dumps(rows)
        assert json.dumps(rows.copy()) == "[[1], [2]]"


async def test_a_task_reads_its_old_values_between_blocks_while_others_change_them_in_place(app: rx.App) -> None:
    seen: list[Any] = []
    release = asyncio.Event()

    class StaleBigState(rx.State):
        rows: list[int] = []

        @rx.event(background=True)
        async def watch(self):
            async with self:
                self.rows.append(1)
            await release.wait()
            seen.append(list(self.rows))  # outside: what it saw when its block ended
            async with self:
                seen.append(list(self.rows))

        def add(self, n: int):
            self.rows.append(n)

    async with TabClient(app, states=[StaleBigState]) as tab:
        await tab.send(StaleBigState.watch)
        await tab.wait_for(lambda t: t.state(StaleBigState)["rows"] == [1])
        await tab.send(StaleBigState.add, 2)  # changes the list the task's copy shares, in place
        release.set()
        await tasks_finished(app, tab.token)
        assert seen == [[1], [1, 2]]


class ItemWritesState(rx.State):
    scores: dict[str, int] = {"a": 1}
    ratios: dict[str, float] = {"a": 0.5}
    names: list[str] = ["x"]
    loose: dict = {}


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda s: s.scores.__setitem__("a", "one"), "ItemWritesState.scores['a'] must be int, got str 'one'"),
        (lambda s: s.scores.__setitem__("b", True), "ItemWritesState.scores['b'] must be int, got bool True"),
        (lambda s: s.ratios.__setitem__("a", math.nan), "ItemWritesState.ratios['a'] must be a finite float"),
        (lambda s: s.names.append(3), "ItemWritesState.names[2] must be str, got int 3"),
        (lambda s: s.loose.__setitem__("x", math.inf), "ItemWritesState.loose['x'] must be a finite number"),
    ],
)
async def test_one_item_of_the_wrong_type_is_refused_where_it_is_written_and_the_block_changes_nothing(
    app: rx.App, write: Any, expected: str,
) -> None:
    path = ItemWritesState.get_full_name().split(".")
    with pytest.raises(rx.InvalidValueError, match=re.escape(expected)):
        async with app.modify_state("item-writes") as root:
            state = root.get_substate(path)
            state.names.append("kept only if the block commits")
            write(state)
    async with app.modify_state("item-writes") as root:
        state = root.get_substate(path)
        assert (state.scores.copy(), state.ratios.copy(), state.names.copy(), state.loose.copy()) == (
            {"a": 1}, {"a": 0.5}, ["x"], {})


async def test_one_item_written_the_ordinary_way_is_stored_converted_and_reaches_the_tab(app: rx.App) -> None:
    async with TabClient(app, states=[ItemWritesState]) as tab:
        async with app.modify_state(tab.token) as root:
            state = root.get_substate(ItemWritesState.get_full_name().split("."))
            state.ratios["b"] = 2  # an int where a float goes: stored as a float
            state.names.append("y")
            state.loose["k"] = None
        await tab.wait_for(lambda t: t.state(ItemWritesState)["names"] == ["x", "y"])
        shown = tab.state(ItemWritesState)
        assert shown["ratios"] == {"a": 0.5, "b": 2.0} and shown["loose"] == {"k": None}
        async with app.modify_state(tab.token) as root:
            assert type(root.get_substate(ItemWritesState.get_full_name().split(".")).ratios["b"]) is float
