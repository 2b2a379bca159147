"""The block guarantee: nothing outside `async with self` changes a tab's state, and every change inside reaches it.

Each test runs on the memory and the Redis managers, through real sockets
(TabClient), with code written the way people write it for Reflex.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

import engine as rx
from engine.testing import TabClient
from tests.engine.server_side import server_values, tasks_finished

# What tasks raised or saw, per tab token.
_raised: dict[str, list[tuple[str, BaseException | None]]] = {}
_seen: dict[str, list[Any]] = {}


def _attempt(token: str, what: str, change: Any) -> None:
    """Try one change; note what it raised (None: it went through)."""
    try:
        change()
    except BaseException as exc:
        _raised.setdefault(token, []).append((what, exc))
    else:
        _raised.setdefault(token, []).append((what, None))


class GuardParentState(rx.State):
    parent_total: int = 0


class GuardState(GuardParentState):
    count: int = 0
    rows: list[int] = []
    grid: list[list[int]] = [[1, 2], [3, 4]]
    table: dict[str, dict[str, int]] = {"a": {"b": 1}}
    tags: set[str] = {"t"}
    done: int = 0

    @rx.event(background=True)
    async def keep_references_past_the_block(self):
        token = self.get_token()
        async with self:
            rows, cell, inner, tags = self.rows, self.grid[1], self.table["a"], self.tags
            other = await self.get_state(GuardOtherState)
            sub = self.get_substate(["guard_child_state"])
            parent = self.parent_state
            other_items = other.items
        _seen[token] = [len(rows), list(cell), dict(inner), sorted(tags), other.shared, parent.parent_total]
        for what, change in [
            ("rows.append", lambda: rows.append(99)),
            ("rows +=", lambda: rows.__iadd__([99])),
            ("del rows[:]", lambda: rows.__delitem__(slice(None))),
            ("cell.append", lambda: cell.append(5)),
            ("cell[0] =", lambda: cell.__setitem__(0, 0)),
            ("inner[b] =", lambda: inner.__setitem__("b", 2)),
            ("inner.update", lambda: inner.update(c=3)),
            ("tags.add", lambda: tags.add("x")),
            ("other.shared =", lambda: setattr(other, "shared", 5)),
            ("other.items.append", lambda: other_items.append(1)),
            ("sub.note =", lambda: setattr(sub, "note", 6)),
            ("parent.parent_total =", lambda: setattr(parent, "parent_total", 7)),
            ("other.get_substate", lambda: other.get_substate(["state"])),
        ]:
            _attempt(token, what, change)
        async with self:
            self.done += 1

    @rx.event(background=True)
    async def change_through_references_inside(self, fail: bool):
        async with self:
            rows = self.rows
            rows.append(4)
            other = await self.get_state(GuardOtherState)
            other.items.append(7)
            self.grid[0].append(3)
            if fail:
                raise RuntimeError("roll it back")

    @rx.event(background=True)
    async def store_a_list_and_keep_it(self):
        mine = [1]
        async with self:
            self.rows = mine
            self.table = {"k": {"v": 1}}
            kept = self.table
        mine.append(2)  # the task's own list: what was stored is a copy
        _attempt(self.get_token(), "kept[k] =", lambda: kept.__setitem__("k", {}))
        async with self:
            self.done += 1

    @rx.event(background=True)
    async def helpers_side_by_side(self, rounds: int):
        await asyncio.gather(self._step(rounds), self._step(rounds), self._step(rounds))

    async def _step(self, rounds: int):
        for _ in range(rounds):
            async with self:
                seen = self.count
                await asyncio.sleep(0)  # another helper may run meanwhile, but not inside a block
                self.count = seen + 1
            await asyncio.sleep(0)

    @rx.event(background=True)
    async def helpers_inside_a_block(self):
        token = self.get_token()
        async with self:
            try:
                await asyncio.wait_for(asyncio.gather(self._step(1)), timeout=5)
            except BaseException as exc:
                _raised.setdefault(token, []).append(("gather inside", exc))
            self.done += 1


class GuardChildState(GuardState):
    note: int = 0


class GuardOtherState(rx.State):
    shared: int = 0
    items: list[int] = []


class GuardYieldState(rx.State):
    total: int = 0
    last: int = -1
    out_of_order: int = 0
    got: list[int] = []
    items: list[int] = [1, 2]

    def record(self, i: int):
        if i != self.last + 1:
            self.out_of_order += 1
        self.last = i
        self.total += 1

    @rx.event(background=True)
    async def yield_many(self, n: int):
        for i in range(n):
            yield GuardYieldState.record(i)

    def take(self, items: list[int]):
        items.append(9)  # its own copy: changing it changes nobody else's state
        self.got = items

    @rx.event(background=True)
    async def pass_own_list_on(self):
        yield GuardYieldState.take(self.items)  # a stale, read-only view in the task

    def pass_own_list_from_a_handler(self):
        return GuardYieldState.take(self.items)


# -- 1. references taken inside a block stay bound to it ------------------------------------------


async def test_references_kept_past_the_block_can_be_read_but_never_write(app):
    async with TabClient(app, states=[GuardState, GuardOtherState, GuardParentState]) as tab:
        await tab.send(GuardState.set_rows, [1, 2])
        await tab.send(GuardState.keep_references_past_the_block)
        await tab.wait_for(lambda t: t.state(GuardState)["done"] == 1)

        assert _seen[tab.token] == [2, [3, 4], {"b": 1}, ["t"], 0, 0]  # reads work after the block
        attempts = _raised[tab.token]
        assert len(attempts) == 13
        for what, error in attempts:
            assert isinstance(error, rx.ImmutableStateError), (what, error)
            assert "has ended" in str(error), (what, str(error))
        held = await server_values(app, tab.token, GuardState)
        assert (held["rows"], held["grid"], held["table"], held["tags"]) == (
            [1, 2], [[1, 2], [3, 4]], {"a": {"b": 1}}, {"t"},
        )
        assert (await server_values(app, tab.token, GuardOtherState)) == {"shared": 0, "items": []}
        assert (await server_values(app, tab.token, GuardParentState))["parent_total"] == 0
        assert tab.state(GuardState)["rows"] == [1, 2] and tab.state(GuardOtherState) == {"shared": 0, "items": []}
        assert tab.errors == []


@pytest.mark.parametrize("fail", [False, True], ids=["kept", "rolled back"])
async def test_changes_through_references_inside_the_block_are_sent_or_rolled_back(app, fail):
    async with TabClient(app, states=[GuardState, GuardOtherState]) as tab:
        await tab.send(GuardState.change_through_references_inside, fail)
        await tasks_finished(app, tab.token)
        expected = ([], [[1, 2], [3, 4]], []) if fail else ([4], [[1, 2, 3], [3, 4]], [7])
        held = await server_values(app, tab.token, GuardState)
        assert (held["rows"], held["grid"], (await server_values(app, tab.token, GuardOtherState))["items"]) == expected
        await tab.wait_for(lambda t: (t.state(GuardState)["rows"], t.state(GuardState)["grid"],
                                      t.state(GuardOtherState)["items"]) == expected)


async def test_what_a_task_stores_is_a_copy_of_its_own_objects(app):
    async with TabClient(app, states=[GuardState]) as tab:
        await tab.send(GuardState.store_a_list_and_keep_it)
        await tab.wait_for(lambda t: t.state(GuardState)["done"] == 1)
        assert (await server_values(app, tab.token, GuardState))["rows"] == [1]
        ((what, error),) = _raised[tab.token]
        assert isinstance(error, rx.ImmutableStateError), (what, error)
        assert (await server_values(app, tab.token, GuardState))["table"] == {"k": {"v": 1}}


async def test_an_object_kept_from_modify_state_cannot_write_after_the_block(app):
    async with TabClient(app, states=[GuardState]) as tab:
        async with app.modify_state(tab.token) as root:
            kept = root.get_substate(GuardState.get_full_name().split("."))
            kept.rows.append(1)  # inside: sent
            rows = kept.rows
        for change in (lambda: setattr(kept, "count", 5), lambda: rows.append(2), lambda: kept.grid[0].append(9),
                       lambda: root.get_substate(GuardOtherState.get_full_name().split("."))):
            with pytest.raises(rx.ImmutableStateError):
                change()
        assert kept.rows == [1] and kept.count == 0  # reading still works
        held = await server_values(app, tab.token, GuardState)
        assert (held["rows"], held["count"], held["grid"][0]) == ([1], 0, [1, 2])
        await tab.wait_for(lambda t: t.state(GuardState)["rows"] == [1])


# -- 2. several coroutines of one task each take the lock -------------------------------------------


async def test_helpers_run_side_by_side_take_turns_on_the_lock_and_every_increment_lands(app):
    async with TabClient(app, states=[GuardState]) as tab:
        await tab.send(GuardState.helpers_side_by_side, 20)
        await tasks_finished(app, tab.token, timeout=20)
        assert (await server_values(app, tab.token, GuardState))["count"] == 60
        await tab.wait_for(lambda t: t.state(GuardState)["count"] == 60)
        assert tab.errors == []


async def test_a_helper_started_inside_a_block_is_refused_at_once_not_left_waiting(app):
    async with TabClient(app, states=[GuardState]) as tab:
        await tab.send(GuardState.helpers_inside_a_block)
        await tab.wait_for(lambda t: t.state(GuardState)["done"] == 1, timeout=4)  # well before the 5 s wait
        ((what, error),) = _raised[tab.token]
        assert isinstance(error, rx.NestedBlockError), (what, error)
        assert isinstance(error, rx.ImmutableStateError) and isinstance(error, rx.StateLockError)
        assert "already open" in str(error)


# -- 3. the errors code written for Reflex expects ------------------------------------------------

# Every public attribute of rx.State, and how to use it on a task's `self`.
_STATE_API: dict[str, tuple[Any, ...] | None] = {
    "get_name": (), "get_full_name": (), "get_token": (), "get_root": (), "public_values": (), "walk": (),
    "get_state": (GuardOtherState,), "get_substate": (GuardOtherState.get_full_name().split("."),),
    "existing_substate": (GuardOtherState,), "var_fields": (), "handlers": (), "class_tree": (),
    "find_class": (GuardOtherState.get_full_name(),), "public_defaults": (),
    "parent_state": None, "substates": None,  # properties
}
_READ_ONLY_OUTSIDE = {"get_name", "get_full_name", "get_token", "var_fields", "handlers", "class_tree",
                      "find_class", "public_defaults"}
_outcomes: dict[str, dict[str, str]] = {}


class GuardApiState(rx.State):
    probed: bool = False

    @rx.event(background=True)
    async def probe_the_state_api(self):
        outcomes = _outcomes.setdefault(self.get_token(), {})
        for name, args in _STATE_API.items():
            try:
                value = getattr(self, name)
                if args is not None:
                    value = value(*args)
                    if inspect.iscoroutine(value):
                        value = await value
            except rx.ImmutableStateError as exc:
                outcomes[name] = "immutable" if "async with self" in str(exc) else f"unclear: {exc}"
            except Exception as exc:
                outcomes[name] = f"{type(exc).__name__}: {exc}"
            else:
                outcomes[name] = "works"
        async with self:
            self.probed = True


def test_the_probe_covers_every_public_attribute_of_state():
    public = {name for name in dir(rx.State) if not name.startswith("_")}
    assert public == set(_STATE_API)


async def test_outside_a_block_state_attributes_work_read_only_or_say_to_use_async_with_self(app):
    async with TabClient(app, states=[GuardApiState]) as tab:
        await tab.send(GuardApiState.probe_the_state_api)
        await tab.wait_for(lambda t: t.state(GuardApiState)["probed"])
        outcomes = _outcomes[tab.token]
        assert {name for name, outcome in outcomes.items() if outcome == "works"} == _READ_ONLY_OUTSIDE, outcomes
        assert {name for name, outcome in outcomes.items() if outcome == "immutable"} == (
            set(_STATE_API) - _READ_ONLY_OUTSIDE
        ), outcomes


# -- 4. a task that yields many events loses none -------------------------------------------------


async def test_a_task_yielding_a_thousand_events_gets_every_one_run_in_order(app):
    async with TabClient(app, states=[GuardYieldState]) as tab:
        assert app.settings.max_queued_events < 1000  # so the queue fills and the task must wait
        await tab.send(GuardYieldState.yield_many, 1000)
        await tab.wait_for(lambda t: t.state(GuardYieldState)["total"] == 1000, timeout=60)
        values = tab.state(GuardYieldState)
        assert (values["last"], values["out_of_order"]) == (999, 0)
        await tasks_finished(app, tab.token)
        assert app.tasks.counts["failed"] == 0 and tab.errors == []


# -- 5. arguments a task passes on are plain values ------------------------------------------------


@pytest.mark.parametrize("sender", ["task", "handler"])
async def test_the_receiving_handler_gets_a_detached_copy_it_may_change(app, sender):
    async with TabClient(app, states=[GuardYieldState]) as tab:
        handler = GuardYieldState.pass_own_list_on if sender == "task" else GuardYieldState.pass_own_list_from_a_handler
        await tab.send(handler)
        await tab.wait_for(lambda t: t.state(GuardYieldState)["got"] == [1, 2, 9])
        assert (await server_values(app, tab.token, GuardYieldState))["items"] == [1, 2]
        assert tab.errors == []


# -- 8. the counter demo never freezes ---------------------------------------------------------------


async def test_the_counter_moves_again_after_its_task_was_cancelled_with_its_tab(request, manager_kind):
    from demos.background_tasks import MyTaskState

    redis_url = request.getfixturevalue("redis_server").url if manager_kind == "redis" else None
    app = rx.App(redis_url=redis_url, tab_grace=0.2) if redis_url else rx.App(tab_grace=0.2)
    try:
        async with TabClient(app, states=[MyTaskState]) as tab:
            await tab.send(MyTaskState.set_max_counter, 1000)
            await tab.send(MyTaskState.toggle_running)  # Start
            await tab.wait_for(lambda t: t.state(MyTaskState)["counter"] >= 1, timeout=5)
            ticket = tab.ticket
            await tab.disconnect()  # the laptop sleeps: the tab is away longer than tab_grace
            await tasks_finished(app, tab.token, timeout=5)
            assert app.tasks.counts["cancelled"] == 1
        async with TabClient(app, states=[MyTaskState], ticket=ticket) as back:
            assert (await server_values(app, back.token, MyTaskState))["_n_tasks"] == 0  # the guard came back
            assert back.state(MyTaskState)["running"] is True
            reached = back.state(MyTaskState)["counter"]
            await back.send(MyTaskState.toggle_running)  # Stop
            await back.send(MyTaskState.toggle_running)  # Start
            await back.wait_for(lambda t: t.state(MyTaskState)["counter"] >= reached + 2, timeout=5)
            await back.send(MyTaskState.toggle_running)  # Stop
    finally:
        await app.shutdown(timeout=2)

