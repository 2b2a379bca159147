"""A task's status covers the runs that wait, and `settle()` waits for them.

With `concurrency="queue"` the triggers run one after another. From the first
trigger until the last queued run has ended the tab sees `running=True` and
`status="running"`: never "done" between two queued runs (a busy button
would stop looking busy), and `TabClient.settle()` returns only when nothing
of the tab runs or waits. Through real sockets, on both managers.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

import engine as rx
from engine.testing import TabClient

pytestmark = pytest.mark.redis

_gates: dict[tuple[str, Any], asyncio.Event] = {}


def gate(token: str, name: Any) -> asyncio.Event:
    return _gates.setdefault((token, name), asyncio.Event())


class WatchingTab(TabClient):
    """A tab that keeps every value each var took in the updates it was sent, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.history: dict[str, list[Any]] = {}

    async def _on_update(self, data: dict[str, Any]) -> None:
        for values in data.get("delta", {}).values():  # (not the full copy a tab gets on connecting)
            for name, value in values.items():
                self.history.setdefault(name, []).append(copy.deepcopy(value))
        await super()._on_update(data)


class TruthQueueState(rx.State):
    runs: list[int] = []
    _at_once: int = 0
    most_at_once: int = 0

    @rx.event(background=True, concurrency="queue")
    async def save(self, i: int):
        async with self:
            self._at_once += 1
            self.most_at_once = max(self.most_at_once, self._at_once)
        try:
            await gate(self.get_token(), i).wait()
        finally:
            async with self:
                self._at_once -= 1
                self.runs.append(i)

    @rx.event(background=True, concurrency="replace")
    async def search(self, i: int):
        await gate(self.get_token(), ("search", i)).wait()
        async with self:
            self.runs.append(i)


def runs(tab: TabClient) -> list[int]:
    return list(tab.state(TruthQueueState)["runs"])


async def test_queued_runs_keep_the_status_running_until_the_last_one_ends(make_app):
    app = make_app()
    job = TruthQueueState.save
    async with WatchingTab(app, states=[TruthQueueState]) as tab:
        for i in range(3):
            assert (await tab.send(job, i))["ok"]
        for i in range(3):
            gate(tab.token, i).set()
            await tab.wait_for(lambda t, i=i: runs(t) == list(range(i + 1)), timeout=5)
            if i < 2:  # a run has ended and others wait: still running, as a busy button should look
                assert tab.task(job)["running"] is True and tab.task(job)["status"] == "running", tab.task(job)
        await tab.wait_for(lambda t: t.task(job)["status"] == "done", timeout=5)
        running = [value for value in tab.history["save@running"]]
        status = tab.history["save@status"]
        assert running[-1] is False and False not in running[:-1], running  # False only at the very end
        assert "done" not in status[:-1] and status[-1] == "done", status
        assert tab.state(TruthQueueState)["most_at_once"] == 1


async def test_settle_waits_for_every_queued_run(make_app):
    app = make_app()
    async with TabClient(app, states=[TruthQueueState]) as tab:
        for i in range(3):
            assert (await tab.send(TruthQueueState.save, i))["ok"]
        settled = asyncio.ensure_future(tab.settle(timeout=10))
        for i in range(3):
            gate(tab.token, i).set()
            await tab.wait_for(lambda t, i=i: len(runs(t)) == i + 1, timeout=5)
            await asyncio.sleep(0.1)  # time enough for settle() to return early, if it would
            assert settled.done() is (i == 2), f"settle() after {i + 1} of 3 runs"
        await settled
        assert runs(tab) == [0, 1, 2]


async def test_a_queued_trigger_cancelled_while_it_waits_lets_the_others_keep_their_order(make_app):
    app = make_app()
    job = TruthQueueState.save
    async with TabClient(app, states=[TruthQueueState]) as tab:
        for i in range(3):
            assert (await tab.send(job, i))["ok"]
        second = app.tasks.for_tab(tab.token)[1]
        second.cancel()  # the one waiting behind the running first
        await asyncio.wait([second.task], timeout=5)
        await asyncio.sleep(0.1)
        assert tab.state(TruthQueueState)["most_at_once"] == 1  # the third did not start beside the first
        assert tab.task(job)["running"] is True
        gate(tab.token, 0).set()
        gate(tab.token, 2).set()
        await tab.settle(timeout=5)
        assert runs(tab) == [0, 2] and tab.state(TruthQueueState)["most_at_once"] == 1
        assert tab.task(job)["status"] == "done"


async def test_cancelling_queued_runs_ends_the_status_as_cancelled(make_app):
    app = make_app()
    job = TruthQueueState.save
    async with TabClient(app, states=[TruthQueueState]) as tab:
        for i in range(3):
            assert (await tab.send(job, i))["ok"]
        assert (await tab.send(job.cancel))["ok"]  # the running copy and the waiting ones
        await tab.settle(timeout=5)
        assert tab.task(job)["status"] == "cancelled" and tab.task(job)["running"] is False
        assert not app.tasks.for_tab(tab.token)


async def test_a_replacing_trigger_keeps_the_status_running_while_the_old_copy_stops(make_app):
    app = make_app()
    job = TruthQueueState.search
    async with WatchingTab(app, states=[TruthQueueState]) as tab:
        assert (await tab.send(job, 1))["ok"]
        assert (await tab.send(job, 2))["ok"]  # cancels the first and waits for it to end
        gate(tab.token, ("search", 2)).set()
        await tab.settle(timeout=5)
        assert runs(tab) == [2]
        running = tab.history["search@running"]
        assert running[-1] is False and False not in running[:-1], running
        assert tab.history["search@status"][-1] == "done"


class TruthChainState(rx.State):
    done: bool = False

    @rx.event(background=True)
    async def job(self):
        await gate(self.get_token(), "job").wait()
        async with self:
            self.done = True

    def start_it(self):
        # A task started by a regular event's chain (not by the click itself), and a regular event
        # after it that holds the tab's lock a while, before the tab hears back.
        return [TruthChainState.job, TruthChainState.slowly]

    async def slowly(self):
        await asyncio.sleep(0.1)


async def test_a_task_a_regular_event_starts_is_running_when_the_tab_hears_back(make_app):
    app = make_app()
    async with TabClient(app, states=[TruthChainState]) as tab:
        assert (await tab.send(TruthChainState.start_it))["ok"]
        assert tab.task(TruthChainState.job)["running"] is True  # already: settle() cannot miss it
        settled = asyncio.ensure_future(tab.settle(timeout=5))
        await asyncio.sleep(0.2)
        assert not settled.done()
        gate(tab.token, "job").set()
        await settled
        assert tab.state(TruthChainState)["done"] is True
