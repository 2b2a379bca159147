"""A tab over its task budget waits for a slot instead of losing work.

A tab runs at most `max_tasks_per_tab` background tasks at once. One more
waits for a slot, first come first served, and its trigger is answered at
once; at most `max_queued_events` wait per tab, and past that bound a start
is refused. A refused start that a task yielded is raised inside that task,
at its `yield`, where the task may catch it. Through real sockets, on both
managers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import engine as rx
from engine.testing import TabClient

pytestmark = pytest.mark.redis

_gates: dict[tuple[str, Any], asyncio.Event] = {}


def gate(token: str, name: Any) -> asyncio.Event:
    """An event a task waits on and the test sets (one per tab, so both managers' runs never share one)."""
    return _gates.setdefault((token, name), asyncio.Event())


class BudgetState(rx.State):
    started: list[int] = []
    finished: list[int] = []
    caught: str = ""
    _at_once: int = 0
    most_at_once: int = 0

    @rx.event(background=True)
    async def work(self, i: int):
        async with self:
            self.started.append(i)
            self._at_once += 1
            self.most_at_once = max(self.most_at_once, self._at_once)
        try:
            await gate(self.get_token(), i).wait()
        finally:
            async with self:
                self._at_once -= 1
                self.finished.append(i)

    @rx.event(background=True)
    async def other_work(self):
        async with self:
            self.started.append(-1)

    @rx.event(background=True)
    async def start_two_helpers(self):
        async with self:
            self.started.append(0)
        for i in (1, 2):
            try:
                yield BudgetState.work(i)
            except rx.LimitExceededError as refusal:  # raised here, at the yield: the task carries on
                async with self:
                    self.caught = str(refusal)
        await gate(self.get_token(), "parent").wait()


def seen(tab: TabClient, var: str) -> list[int]:
    return list(tab.state(BudgetState)[var])


async def test_a_tab_over_its_task_budget_waits_for_slots_first_come_first_served(make_app):
    app = make_app(max_tasks_per_tab=2)
    async with TabClient(app, states=[BudgetState]) as tab:
        for i in range(5):
            assert (await tab.send(BudgetState.work, i)) == {"ok": True}  # answered at once, none lost
        await tab.wait_for(lambda t: seen(t, "started") == [0, 1])
        assert len(app.tasks.for_tab(tab.token)) == 5  # two run, three wait for a slot
        for i in range(5):  # each task that ends gives its slot to the oldest waiting one
            gate(tab.token, i).set()
            expected = list(range(min(i + 3, 5)))
            await tab.wait_for(lambda t, expected=expected: seen(t, "started") == expected, timeout=5)
        await tab.settle(timeout=5)
        assert seen(tab, "finished") == [0, 1, 2, 3, 4]
        assert tab.state(BudgetState)["most_at_once"] == 2
        assert tab.task(BudgetState.work)["status"] == "done"


async def test_a_task_waiting_for_a_slot_shows_as_running_and_settle_waits_for_it(make_app):
    app = make_app(max_tasks_per_tab=1)
    async with TabClient(app, states=[BudgetState]) as tab:
        assert (await tab.send(BudgetState.work, 0))["ok"]
        assert (await tab.send(BudgetState.other_work))["ok"]  # another handler: it waits for the slot
        await tab.wait_for(lambda t: t.task(BudgetState.other_work)["running"], timeout=5)
        assert tab.task(BudgetState.other_work)["status"] == "running"
        assert -1 not in seen(tab, "started")  # it has not begun
        settled = asyncio.ensure_future(tab.settle(timeout=5))
        await asyncio.sleep(0.2)
        assert not settled.done()  # something of the tab still runs or waits
        gate(tab.token, 0).set()
        await settled
        assert seen(tab, "started") == [0, -1]
        assert tab.task(BudgetState.other_work)["status"] == "done"


async def test_a_cancelled_waiting_task_gives_its_place_back(make_app):
    app = make_app(max_tasks_per_tab=1)
    async with TabClient(app, states=[BudgetState]) as tab:
        assert (await tab.send(BudgetState.work, 0))["ok"]
        assert (await tab.send(BudgetState.other_work))["ok"]
        assert (await tab.send(BudgetState.other_work.cancel))["ok"]  # cancels the waiting copy too
        await tab.wait_for(lambda t: t.task(BudgetState.other_work)["status"] == "cancelled", timeout=5)
        assert tab.task(BudgetState.other_work)["running"] is False
        gate(tab.token, 0).set()
        await tab.settle(timeout=5)
        assert seen(tab, "started") == [0]  # the cancelled one never ran
        assert not app.tasks.for_tab(tab.token)


async def test_past_the_bound_a_click_is_refused_naming_both_settings(make_app):
    app = make_app(max_tasks_per_tab=1, max_queued_events=2)
    async with TabClient(app, states=[BudgetState]) as tab:
        for i in range(3):  # one runs, two wait
            assert (await tab.send(BudgetState.work, i))["ok"]
        refused = await tab.send(BudgetState.work, 3)
        assert refused["ok"] is False
        assert "max_tasks_per_tab=1" in refused["error"] and "max_queued_events=2" in refused["error"]
        assert "BudgetState.work was not started" in refused["error"]
        for i in range(3):
            gate(tab.token, i).set()
        await tab.settle(timeout=5)
        assert seen(tab, "finished") == [0, 1, 2]


async def test_past_the_bound_a_yielded_task_is_refused_at_the_yield_where_the_task_may_catch_it(make_app):
    app = make_app(max_tasks_per_tab=1, max_queued_events=1)
    async with TabClient(app, states=[BudgetState]) as tab:
        assert (await tab.send(BudgetState.start_two_helpers))["ok"]
        # The parent holds the only slot; helper 1 waits for it, helper 2 is one too many.
        await tab.wait_for(lambda t: t.state(BudgetState)["caught"] != "", timeout=5)
        caught = tab.state(BudgetState)["caught"]
        assert "max_tasks_per_tab=1" in caught and "max_queued_events=1" in caught, caught
        assert "BudgetState.work was not started" in caught
        gate(tab.token, "parent").set()
        gate(tab.token, 1).set()
        await tab.settle(timeout=5)
        assert seen(tab, "started") == [0, 1] and seen(tab, "finished") == [1]
        assert tab.task(BudgetState.start_two_helpers)["status"] == "done"  # it caught the refusal
