"""A background task's `self`: outside and inside `async with self`."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

import engine as rx
from engine.testing import TabClient
from tests.engine.gates import gate
from tests.engine.server_side import server_values, tasks_finished
from tests.support.tabs import RecordingTab

# What tasks saw or raised, per tab token.
_seen: dict[str, list[Any]] = {}
_raised: dict[str, BaseException | None] = {}


def _note(token: str, *item: Any) -> None:
    _seen.setdefault(token, []).append(item if len(item) > 1 else item[0])


def _assign(s):
    s.count = 5


def _augmented_assign(s):
    s.count += 1


def _delete(s):
    del s.count


def _list_append(s):
    s.items.append(4)


def _list_extend(s):
    s.items.extend([4])


def _list_pop(s):
    s.items.pop()


def _list_sort(s):
    s.items.sort(reverse=True)


def _list_item(s):
    s.items[0] = 9


def _list_slice(s):
    s.items[0:2] = [9]


def _list_del_item(s):
    del s.items[0]


def _list_iadd(s):
    s.items += [4]


def _list_imul(s):
    s.items *= 2


def _nested_list_append(s):
    s.grid[0].append(5)


def _nested_list_item(s):
    s.grid[1][0] = 0


def _list_of_dicts_item(s):
    s.rows[0]["x"] = 2


def _iterated_dict_item(s):
    for row in s.rows:
        row["x"] = 0


def _dict_item(s):
    s.table["c"] = {}


def _nested_dict_item(s):
    s.table["a"]["b"] = 2


def _dict_del_item(s):
    del s.table["a"]


def _dict_update(s):
    s.table.update({"c": {}})


def _dict_setdefault(s):
    s.table.setdefault("c", {})


def _dict_pop(s):
    s.table.pop("a")


def _dict_ior(s):
    s.table |= {"c": {}}


def _set_add(s):
    s.tags.add("u")


def _set_discard(s):
    s.tags.discard("t")


def _set_ior(s):
    s.tags |= {"u"}


async def _get_other_state(s):
    await s.get_state(SpecOtherState)


def _get_substate(s):
    s.get_substate(SpecOtherState.get_full_name().split("."))


MUTATIONS: dict[str, Callable[[Any], Any]] = {
    fn.__name__.lstrip("_"): fn
    for fn in [
        _assign, _augmented_assign, _delete,
        _list_append, _list_extend, _list_pop, _list_sort, _list_item, _list_slice, _list_del_item,
        _list_iadd, _list_imul, _nested_list_append, _nested_list_item, _list_of_dicts_item,
        _iterated_dict_item,
        _dict_item, _nested_dict_item, _dict_del_item, _dict_update, _dict_setdefault, _dict_pop,
        _dict_ior,
        _set_add, _set_discard, _set_ior,
        _get_other_state, _get_substate,
    ]
}


class SpecOtherState(rx.State):
    shared: int = 0


class SpecSelfState(rx.State):
    count: int = 0
    items: list[int] = [1, 2, 3]
    grid: list[list[int]] = [[1, 2], [3, 4]]
    rows: list[dict[str, int]] = [{"x": 1}]
    table: dict[str, dict[str, int]] = {"a": {"b": 1}}
    tags: set[str] = {"t"}
    log: list[int] = []
    step: int = 0
    attempts: int = 0
    copied: list[int] = []
    copied_rows: list[dict[str, int]] = []

    @rx.event(background=True)
    async def mutate_outside(self, kind: str):
        token = self.get_token()
        try:
            result = MUTATIONS[kind](self)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            _raised[token] = exc
        else:
            _raised[token] = None
        async with self:
            self.attempts += 1

    @rx.event(background=True)
    async def use_values_read_outside(self):
        items, rows, tags = self.items, [row for row in self.rows], self.tags
        _note(
            self.get_token(),
            {
                "len": len(items),
                "concatenated": items + [4],  # noqa: RUF005 (the operator is what is tested)
                "prefixed": [0] + items,  # noqa: RUF005
                "repeated": items * 2,
                "union": sorted(tags | {"u"}),
                "difference": sorted(tags - {"t"}),
                "nested": rows[0]["x"],
                "equal": items == [1, 2, 3],
            },
        )
        async with self:
            self.copied = items
            self.copied_rows = rows
        async with self:
            self.copied.append(4)  # what was stored is the state's own, changeable value
            self.copied_rows[0]["x"] = 5

    @rx.event(background=True)
    async def observe(self):
        token = self.get_token()
        _note(token, "start", self.count)
        await gate(token, "observe").wait_here()
        _note(token, "outside, after another handler changed it", self.count)
        async with self:
            _note(token, "inside", self.count)
            self.count += 1
        _note(token, "after the block", self.count)

    @rx.event(background=True)
    async def hold_inside_block(self):
        async with self:
            self.log.append(1)
            await gate(self.get_token(), "inside").wait_here()
            self.log.append(2)

    @rx.event(background=True)
    async def wait_between_blocks(self):
        async with self:
            self.log.append(1)
        await gate(self.get_token(), "between").wait_here()
        async with self:
            self.log.append(3)

    @rx.event(background=True)
    async def three_blocks(self):
        for step in (1, 2, 3):
            async with self:
                self.step = step
            await asyncio.sleep(0.001)

    @rx.event(background=True)
    async def failing_block(self):
        try:
            async with self:
                self.count = 99
                self.items.append(99)
                await self.get_state(SpecOtherState)
                raise ValueError("discard me")
        except ValueError:
            pass
        _note(self.get_token(), self.count)
        async with self:
            self.step = 1

    @rx.event(background=True)
    async def nested_blocks(self):
        async with self:
            self.step = 1
            try:
                async with self:
                    self.step = 2
            except rx.StateLockError as exc:
                _raised[self.get_token()] = exc
        async with self:
            self.count += 1

    @rx.event(background=True)
    async def cancelled_inside_block(self):
        async with self:
            self.count = 50
            await gate(self.get_token(), "cancel").wait_here()

    @rx.event(background=True)
    async def change_other_state(self):
        async with self:
            other = await self.get_state(SpecOtherState)
            other.shared += 5

    def note(self, value: int):
        self.log.append(value)


DEFAULTS = {
    "count": 0,
    "items": [1, 2, 3],
    "grid": [[1, 2], [3, 4]],
    "rows": [{"x": 1}],
    "table": {"a": {"b": 1}},
    "tags": ["t"],
    "log": [],
    "step": 0,
    "copied": [],
    "copied_rows": [],
}


# -- outside `async with self` -----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MUTATIONS))
async def test_changing_state_outside_async_with_self_raises_immutable_state_error(app, kind):
    async with TabClient(app) as tab:
        await tab.send(SpecSelfState.mutate_outside, kind)
        await tab.wait_for(lambda t: t.state(SpecSelfState)["attempts"] == 1)

        error = _raised[tab.token]
        assert isinstance(error, rx.ImmutableStateError), error
        assert "async with self" in str(error)
        if not kind.startswith("get_"):  # the message names the var changed, also for in-place changes
            assert re.search(r"SpecSelfState\.(count|items|grid|rows|table|tags)\b", str(error)), error
        values = tab.state(SpecSelfState)
        assert {name: values[name] for name in DEFAULTS} == DEFAULTS
        assert tab.state(SpecOtherState) == {"shared": 0}
        assert tab.errors == []


async def test_reads_outside_async_with_self_may_be_stale_and_blocks_see_the_latest(app):
    async with TabClient(app) as tab:
        await tab.send(SpecSelfState.set_count, 1)
        await tab.send(SpecSelfState.observe)
        await gate(tab.token, "observe").reached()
        await tab.send(SpecSelfState.set_count, 10)  # runs while the task waits

        gate(tab.token, "observe").open()
        await tab.wait_for(lambda t: t.state(SpecSelfState)["count"] == 11)
        await tasks_finished(app, tab.token)
        assert _seen[tab.token] == [
            ("start", 1),
            ("outside, after another handler changed it", 1),
            ("inside", 10),
            ("after the block", 11),
        ]


async def test_reads_outside_async_with_self_are_read_only_copies(app):
    async with TabClient(app) as tab:
        await tab.send(SpecSelfState.mutate_outside, "list_append")
        await tab.wait_for(lambda t: t.state(SpecSelfState)["attempts"] == 1)
        async with app.modify_state(tab.token) as root:
            assert root.get_substate(SpecSelfState.get_full_name().split(".")).items == [1, 2, 3]


async def test_values_read_outside_async_with_self_can_be_used_and_stored_inside(app):
    async with TabClient(app) as tab:
        await tab.send(SpecSelfState.use_values_read_outside)
        await tab.wait_for(lambda t: t.state(SpecSelfState)["copied"] == [1, 2, 3, 4])

        assert tab.state(SpecSelfState)["copied_rows"] == [{"x": 5}]
        assert tab.state(SpecSelfState)["items"] == [1, 2, 3]
        assert tab.state(SpecSelfState)["rows"] == [{"x": 1}]
        assert tab.errors == []
        assert _seen[tab.token] == [
            {
                "len": 3,
                "concatenated": [1, 2, 3, 4],
                "prefixed": [0, 1, 2, 3],
                "repeated": [1, 2, 3, 1, 2, 3],
                "union": ["t", "u"],
                "difference": [],
                "nested": 1,
                "equal": True,
            }
        ]


# -- inside `async with self` ------------------------------------------------------------------


async def test_async_with_self_takes_the_tabs_lock_and_sends_the_delta_on_exit(app):
    async with RecordingTab(app) as tab:
        inside = gate(tab.token, "inside")
        await tab.send(SpecSelfState.hold_inside_block)
        await inside.reached()

        queued = asyncio.create_task(tab.send(SpecSelfState.note, 3))
        await asyncio.sleep(0.05)
        assert not queued.done()  # the regular event waits for the lock
        assert tab.state(SpecSelfState)["log"] == []  # nothing is sent before the block ends

        inside.open()
        assert await queued == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecSelfState)["log"] == [1, 2, 3])
        assert tab.values_of(SpecSelfState, "log") == [[1, 2], [1, 2, 3]]


async def test_the_lock_is_not_held_between_blocks(app):
    async with TabClient(app) as tab:
        between = gate(tab.token, "between")
        await tab.send(SpecSelfState.wait_between_blocks)
        await between.reached()

        assert await asyncio.wait_for(tab.send(SpecSelfState.note, 2), 5) == {"ok": True}
        async with asyncio.timeout(5):
            assert (await server_values(app, tab.token, SpecSelfState))["log"] == [1, 2]

        between.open()
        await tab.wait_for(lambda t: t.state(SpecSelfState)["log"] == [1, 2, 3])


async def test_each_block_sends_its_delta_in_the_order_the_state_changed(app):
    async with RecordingTab(app) as tab:
        await tab.send(SpecSelfState.three_blocks)
        await tab.wait_for(lambda t: t.state(SpecSelfState)["step"] == 3)

        assert tab.values_of(SpecSelfState, "step") == [1, 2, 3]
        seqs = [update["seq"] for update in tab.updates]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert tab.resyncs == 0


async def test_a_block_that_raises_discards_its_changes_and_sends_nothing(app):
    async with RecordingTab(app) as tab:
        seq = tab.seq
        await tab.send(SpecSelfState.failing_block)
        await tab.wait_for(lambda t: t.task(SpecSelfState.failing_block)["status"] == "done")

        assert tab.deltas() == [{SpecSelfState.get_full_name(): {"step": 1}}]
        statuses = [part for part in tab.deltas(SpecSelfState, task_status=True) if "step" not in part]
        assert [part["failing_block@status"] for part in statuses] == ["running", "done"]
        assert tab.seq == seq + 3  # the task's start, the block that did not raise, the task's end
        assert _seen[tab.token] == [0]  # the discarded value is not read back either
        held = await server_values(app, tab.token, SpecSelfState)
        assert (held["count"], held["items"]) == (0, [1, 2, 3])


async def test_nesting_async_with_self_raises_state_lock_error(app):
    async with TabClient(app) as tab:
        await tab.send(SpecSelfState.nested_blocks)
        await tab.wait_for(lambda t: t.state(SpecSelfState)["count"] == 1)

        error = _raised[tab.token]
        assert isinstance(error, rx.StateLockError)
        assert "already open" in str(error) and "nested" in str(error)
        assert tab.state(SpecSelfState)["step"] == 1
        assert await tab.send(SpecSelfState.note, 7) == {"ok": True}  # the lock was released


async def test_a_task_cancelled_inside_a_block_discards_its_changes_and_releases_the_lock(app):
    async with TabClient(app) as tab:
        await tab.send(SpecSelfState.cancelled_inside_block)
        await gate(tab.token, "cancel").reached()
        (handle,) = app.tasks.for_tab(tab.token)
        task = handle.task

        task.cancel()
        assert await asyncio.wait_for(tab.send(SpecSelfState.note, 1), 5) == {"ok": True}
        # The event got the lock; the task may still be recording its end (its own short block, which
        # can queue behind that event's), so it is given a moment to finish before it is looked at.
        await asyncio.wait([task], timeout=5)
        assert task.cancelled()
        assert (await server_values(app, tab.token, SpecSelfState))["count"] == 0
        assert tab.state(SpecSelfState)["count"] == 0


async def test_inside_a_block_the_task_may_change_other_states_of_its_tab(app):
    async with TabClient(app) as tab:
        await tab.send(SpecSelfState.change_other_state)
        await tab.wait_for(lambda t: t.state(SpecOtherState)["shared"] == 5)
