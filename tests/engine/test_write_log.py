"""A block learns of each var before it changes (delta.Writes): what it must then send, store and undo.

Blocks that hand out views (`async with self`, `modify_state`) no longer
copy the whole tree when they start: the views log a var's old value before
a write, or before handing out a container that could be changed in place.
These tests pin what that log has to get right, on both managers, through
real sockets: in-place changes at any depth are sent and stored, a block
that raises leaves every value as it was, and a block that changes nothing
(or changes a value and back) sends nothing.
"""

from __future__ import annotations

import pytest

import engine as rx
from engine.testing import TabClient
from tests.engine.server_side import server_values


class LogState(rx.State):
    count: int = 0
    rows: list[int] = []
    grid: list[list[int]] = [[1, 2], [3, 4]]
    table: dict[str, dict[str, int]] = {"a": {"b": 1}}
    tags: set[str] = {"t"}
    _hidden: list[int] = []


class LogChildState(LogState):
    leaf: int = 0


PATH = LogState.get_full_name().split(".")
CHILD = LogChildState.get_full_name().split(".")


async def _change(app: rx.App, token: str, change) -> None:  # type: ignore[no-untyped-def]
    async with app.modify_state(token) as root:
        change(root.get_substate(PATH))


async def test_changes_made_in_place_at_any_depth_reach_the_tab_and_storage(app):
    async with TabClient(app, states=[LogState, LogChildState]) as tab:

        def in_place(state) -> None:  # type: ignore[no-untyped-def]
            rows = state.rows  # a reference taken inside the block, changed later in it
            state.grid[1].append(5)
            state.table["a"]["b"] = 2
            state.table.setdefault("c", {})["d"] = 3
            state.tags.add("u")
            state._hidden.append(7)
            rows.extend([1, 2])

        await _change(app, tab.token, in_place)
        expected = {"rows": [1, 2], "grid": [[1, 2], [3, 4, 5]], "table": {"a": {"b": 2}, "c": {"d": 3}}}
        await tab.wait_for(lambda t: all(t.state(LogState)[k] == v for k, v in expected.items()))
        assert sorted(tab.state(LogState)["tags"]) == ["t", "u"]
        stored = await server_values(app, tab.token, LogState)
        assert {k: stored[k] for k in expected} == expected
        assert stored["tags"] == {"t", "u"} and stored["_hidden"] == [7]


async def test_a_block_that_raises_leaves_every_value_as_it_was(app):
    async with TabClient(app, states=[LogState, LogChildState]) as tab:
        await _change(app, tab.token, lambda s: s.rows.append(1))
        await tab.wait_for(lambda t: t.state(LogState)["rows"] == [1])
        before_server = await server_values(app, tab.token, LogState)
        before_tab, seq = tab.state(LogState), tab.seq

        with pytest.raises(RuntimeError, match="changed my mind"):
            async with app.modify_state(tab.token) as root:
                state = root.get_substate(PATH)
                state.count = 5
                state.rows.append(2)
                state.grid[0][0] = 9
                state.table["a"]["b"] = 7
                state.tags.discard("t")
                state._hidden.append(3)
                root.get_substate(CHILD).leaf = 4  # a substate the block creates
                raise RuntimeError("changed my mind")

        assert await server_values(app, tab.token, LogState) == before_server
        assert (await server_values(app, tab.token, LogChildState))["leaf"] == 0
        # A change after it is the next update the tab gets: the failed block sent nothing.
        await _change(app, tab.token, lambda s: setattr(s, "count", 1))
        await tab.wait_for(lambda t: t.state(LogState)["count"] == 1)
        assert tab.seq == seq + 1
        assert {**tab.state(LogState), "count": 0} == before_tab


async def test_a_block_that_reads_or_changes_a_value_and_back_sends_and_stores_nothing(app):
    async with TabClient(app, states=[LogState]) as tab:
        await _change(app, tab.token, lambda s: s.rows.append(1))
        await tab.wait_for(lambda t: t.state(LogState)["rows"] == [1])
        seq = tab.seq

        def read_only(state) -> None:  # type: ignore[no-untyped-def]
            assert list(state.rows) == [1] and state.grid[1][0] == 3 and "t" in state.tags
            assert dict(state.table["a"]) == {"b": 1}

        def there_and_back(state) -> None:  # type: ignore[no-untyped-def]
            state.count = 3
            state.count = 0
            state.rows.append(2)
            state.rows.pop()
            state.table["a"]["b"] = 1  # the value it already had

        await _change(app, tab.token, read_only)
        await _change(app, tab.token, there_and_back)
        await _change(app, tab.token, lambda s: setattr(s, "count", 2))
        await tab.wait_for(lambda t: t.state(LogState)["count"] == 2)
        assert tab.seq == seq + 1  # only the last block sent an update
        assert (await server_values(app, tab.token, LogState))["rows"] == [1]
