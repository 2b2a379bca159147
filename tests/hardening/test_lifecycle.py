"""Defence 5: a gone tab's tasks are cancelled after tab_grace; every task ends, counted."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from engine.protocol import NAMESPACE
from engine.runner.tasks import RECANCEL_AFTER
from engine.testing import TabClient
from tests.hardening.ledger import Ledger, stop_tasks, task_counts_balance
from tests.hardening.states import FINALLY_RAN, GATES, HardFloodState, HardLoopState

LOOP = [HardLoopState]


async def _ticks(app, token: str) -> int:
    async with app.modify_state(token) as root:
        return int(root.get_substate(HardLoopState.get_full_name().split(".")).ticks)


def _count_emits(app, token: str) -> list[Any]:
    """Record every update the server emits to a tab's room from now on."""
    sent: list[Any] = []
    original = app.sio.emit

    async def emit(event, data=None, *args, **kwargs):
        if event == "update" and kwargs.get("room") == token:
            sent.append(data)
        return await original(event, data, *args, **kwargs)

    app.sio.emit = emit
    return sent


async def test_a_closed_tabs_looping_task_is_cancelled_after_the_grace_period(make_app):
    grace = 0.4
    app = make_app(tab_grace=grace)
    ledger = Ledger(app)
    loop = asyncio.get_running_loop()
    async with TabClient(app, states=LOOP) as tab:
        token = tab.token
        assert (await tab.send(HardLoopState.spin, 0.02))["ok"]
        await tab.wait_for(lambda t: t.state(HardLoopState)["ticks"] >= 3)
        (handle,) = app.tasks.for_tab(token)
        task = handle.task
        await tab.disconnect()
        gone_at = loop.time()
        emits = _count_emits(app, token)
        ticks_at_close = await _ticks(app, token)
        await asyncio.sleep(grace / 2)
        assert not task.done(), "cancelled before the grace period ended"
        assert await _ticks(app, token) > ticks_at_close, "the task kept running during the grace period"
        await asyncio.wait([task], timeout=grace + 2)
        assert task.cancelled(), "the task outlived the grace period"
        assert loop.time() - gone_at < grace + 1
        assert token in FINALLY_RAN  # its finally block ran
        # No update loop continues: the state stops changing, and the closed tab is sent nothing.
        ticks = await _ticks(app, token)
        await asyncio.sleep(0.2)
        assert await _ticks(app, token) == ticks
        if not app.settings.redis_url:  # one process: nobody else could be showing this tab
            assert emits == []
        assert not app.state_manager.locked(token)
    counts = task_counts_balance(app)
    assert counts["started"] == counts["done"] + counts["failed"] + counts["cancelled"] == 1
    assert counts["cancelled"] == 1
    await app.shutdown()
    await ledger.assert_no_leaked_tasks()


async def test_a_tab_back_within_the_grace_period_keeps_its_tasks(make_app):
    grace = 0.4
    app = make_app(tab_grace=grace)
    async with TabClient(app, states=LOOP) as tab:
        assert (await tab.send(HardLoopState.spin, 0.02))["ok"]
        (handle,) = app.tasks.for_tab(tab.token)
        task = handle.task
        await tab.disconnect()
        await asyncio.sleep(grace / 2)
        await tab.connect()  # a reload: the same page, the same ticket
        await asyncio.sleep(grace * 1.5)
        assert not task.done()
        before = tab.state(HardLoopState)["ticks"]
        await tab.wait_for(lambda t: t.state(HardLoopState)["ticks"] > before + 2)  # still live
        await stop_tasks([task])


async def test_a_busy_task_of_a_closed_tab_is_cancelled_too(make_app, request):
    """A task that spends its time in `async with self` (in the state store), not asleep."""
    grace = 0.2
    app = make_app(tab_grace=grace)
    async with TabClient(app, states=[HardFloodState]) as tab:
        assert (await tab.send(HardFloodState.flood, 10**6, 10))["ok"]
        (handle,) = app.tasks.for_tab(tab.token)
        task = handle.task
        await tab.disconnect()
        await asyncio.wait([task], timeout=grace + 1.5)
        if not task.done():
            task.cancel()  # (clean up before failing)
            await asyncio.wait([task], timeout=10)
            pytest.fail("the busy task outlived tab_grace by more than a second")
        assert task.cancelled()
    task_counts_balance(app)


async def test_a_lost_cancellation_is_repeated(make_app, caplog):
    app = make_app(tab_grace=0.1)
    async with TabClient(app, states=LOOP) as tab:
        token = tab.token
        assert (await tab.send(HardLoopState.stubborn))["ok"]
        (handle,) = app.tasks.for_tab(token)
        task = handle.task
        with caplog.at_level(logging.WARNING, logger="engine.tasks"):
            await tab.disconnect()
            await asyncio.wait([task], timeout=RECANCEL_AFTER + 2)
        assert task.cancelled() and token in FINALLY_RAN
        assert any("cancelling again" in r.getMessage() for r in caplog.records)
    task_counts_balance(app)


async def test_every_task_ends_in_a_terminal_state_and_is_counted(make_app):
    app = make_app(tab_grace=0.2)
    GATES["lifecycle"] = asyncio.Event()
    try:
        async with TabClient(app, states=LOOP) as one, TabClient(app, states=LOOP) as two:
            assert (await one.send(HardLoopState.finish, 0.01))["ok"]  # done
            assert (await one.send(HardLoopState.fail))["ok"]  # failed (reported to the tab)
            assert (await one.send(HardLoopState.wait_gate, "lifecycle"))["ok"]  # ends when the gate opens
            assert (await two.send(HardLoopState.spin, 0.02))["ok"]  # cancelled after tab two leaves
            assert (await two.send(HardLoopState.wait_gate, "lifecycle"))["ok"]  # cancelled as well
            await one.wait_for(lambda t: any("ZeroDivisionError" in e for e in t.errors))
            await two.disconnect()
            await asyncio.sleep(0.5)
            GATES["lifecycle"].set()
            for _ in range(200):
                if not app.background_tasks:
                    break
                await asyncio.sleep(0.01)
        counts = task_counts_balance(app)
        assert not app.background_tasks
        assert counts == {"started": 5, "done": 2, "failed": 1, "cancelled": 2}
        assert two.errors == []  # tab two never heard of tab one's failure
    finally:
        GATES.pop("lifecycle", None)


async def test_shutdown_cancels_what_is_left_and_starts_nothing_new(make_app):
    app = make_app()
    async with TabClient(app, states=LOOP) as tab:
        assert (await tab.send(HardLoopState.spin, 0.02))["ok"]
        assert (await tab.send(HardLoopState.finish, 0.05))["ok"]
        assert (await tab.send(HardLoopState.stubborn))["ok"]  # loses the first cancellation
        loop = asyncio.get_running_loop()
        began = loop.time()
        counts = await app.shutdown(timeout=0.3)
        assert loop.time() - began < 0.3 + 1.0
        assert counts["started"] == 3 and counts["done"] == 1 and counts["cancelled"] == 2
        assert counts["running"] == 0 and not app.background_tasks
        assert tab.token in FINALLY_RAN
        # Stopped: events and new tasks are refused with a clear error.
        ack = await tab.send(HardLoopState.spin, 0.02)
        assert ack["ok"] is False and "shutting down" in ack["error"]
        assert tab._sio is not None
        again = await tab._sio.call("event", {"name": HardLoopState.finish.full_name, "args": [0]},
                                    namespace=NAMESPACE)
        assert again["ok"] is False
        assert await app.shutdown() == counts  # a second call returns the same counts
