"""Cancellation injected at every await point: all or nothing, and no orphaned lock.

A task is cancelled after k turns of the event loop, for k = 0, 1, 2, ...
until it completes before the cancellation comes three times in a row, so
the cancellation lands once at each place the task can be suspended: taking
the lock, inside `async with self` (between the two changes), committing and
sending the update, and leaving. Afterwards `a == b == len(applied)` (both
changes or neither), the lock is free (a following regular event runs), and
the ledger's checks hold.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.testing import TabClient
from tests.hardening.ledger import Ledger, task_counts_balance
from tests.hardening.states import HANDLER_TASKS, HardLedgerState

LEDGER = [HardLedgerState]
MAX_TURNS = 400

async def _turns(k: int) -> None:
    for _ in range(k):
        await asyncio.sleep(0)


async def _check_all_or_nothing(app: Any, ledger: Ledger, tab: TabClient, *, pairs_only: bool = True) -> dict:
    await ledger.lock_released(tab.token)
    values = await ledger.server_values(tab.token)
    assert values["a"] == values["b"], values
    if pairs_only:  # every operation so far was a pair: each applied one moved a and b once
        assert values["a"] == len(values["applied"]), values
    return values


def _outcome(task: asyncio.Task[Any]) -> str:
    if task.cancelled():
        return "cancelled"
    return "failed" if task.exception() is not None else "done"


async def _sweep(app, ledger: Ledger, tab: TabClient, start) -> dict[str, int]:
    """Run `start(op_id)` -> task, cancelling it after k turns for each k; count the outcomes."""
    outcomes = {"cancelled": 0, "done": 0}
    done_in_a_row = 0
    k = 0
    while done_in_a_row < 3:
        assert k < MAX_TURNS, "the task never completed on its own"
        op = ledger.new_op(tab)
        before = await _check_all_or_nothing(app, ledger, tab)
        task = start(op)
        await _turns(k)
        if task.done():
            done_in_a_row += 1
        else:
            done_in_a_row = 0
            task.cancel()
        await asyncio.wait([task], timeout=10)
        outcome = _outcome(task)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        after = await _check_all_or_nothing(app, ledger, tab)
        applied = op in after["applied"]
        # All or nothing: the operation was applied completely, or not at all.
        assert after["a"] == before["a"] + applied
        # Record it: applied counts as acknowledged; not applied is an explicit failure (cancelled).
        ledger.record(op, {"ok": True} if applied else {"ok": False, "error": f"{outcome} at turn {k}"})
        if outcome == "done":
            assert applied
        k += 1
    return outcomes


async def test_cancelling_async_with_self_at_every_await_point(make_app):
    app = make_app()
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as tab:
        outcomes = await _sweep(
            app, ledger, tab, lambda op: app.start_background(tab.token, HardLedgerState.pair_in_task(op)).task
        )
        assert outcomes["cancelled"] >= 3  # at least: before it ran, waiting inside the block, at the end
        last = await ledger.send(tab)  # the lock is free: a regular event runs
        assert last in ledger.acknowledged
        await ledger.verify([tab])
    task_counts_balance(app)


async def test_cancelling_while_waiting_for_the_lock(make_app):
    """The task waits for a lock another holder has; cancelled at each turn, it never takes it."""
    app = make_app()
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as tab:
        for k in range(6):
            release = asyncio.Event()
            held = asyncio.Event()

            async def holder(held: asyncio.Event, release: asyncio.Event) -> None:
                async with app.modify_state(tab.token):
                    held.set()
                    await release.wait()

            holding = asyncio.create_task(holder(held, release))
            await held.wait()
            op = ledger.new_op(tab)
            task = app.start_background(tab.token, HardLedgerState.pair_in_task(op)).task
            await _turns(k)
            task.cancel()
            release.set()
            await asyncio.wait([task, holding], timeout=10)
            assert task.cancelled()
            ledger.record(op, {"ok": False, "error": "cancelled while waiting for the lock"})
            values = await _check_all_or_nothing(app, ledger, tab)
            assert op not in values["applied"]
        await ledger.send(tab)  # the lock is free: a regular event runs
        await ledger.verify([tab])


async def test_cancelling_a_regular_handler_at_every_await_point(make_app):
    """The task running a handler is cancelled mid-handler: rolled back, and the tab is told."""
    app = make_app()
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as tab:
        outcomes = {"rolled back": 0, "applied": 0}
        for k in range(12):
            op = ledger.new_op(tab)
            sending = asyncio.create_task(tab.send(HardLedgerState.pair, op, timeout=10))
            # Until the handler has started (it notes its task) or is done. Bounded by time, not by turns
            # of the loop: on Redis the handler starts after a round trip, which a busy machine can make
            # longer than any fixed number of turns (the handler then ran uncancelled).
            deadline = asyncio.get_running_loop().time() + 5
            while HANDLER_TASKS.get(op) is None and not sending.done():
                assert asyncio.get_running_loop().time() < deadline, "the handler never started"
                await asyncio.sleep(0)
            running = HANDLER_TASKS.pop(op, None)
            if running is not None:
                await _turns(k)
                running.cancel()
            ack = await sending
            ledger.record(op, ack)
            values = await _check_all_or_nothing(app, ledger, tab)
            if ack["ok"]:
                outcomes["applied"] += 1
                assert op in values["applied"]
            else:
                outcomes["rolled back"] += 1
                assert "was cancelled" in ack["error"] and op not in values["applied"], ack
        assert outcomes["rolled back"] >= 2 and outcomes["applied"] >= 1, outcomes
        await ledger.send(tab)
        await ledger.verify([tab])


@pytest.mark.parametrize("handler", ["pair_then_fail", "apply_then_fail"])
async def test_an_exception_mid_block_rolls_back(make_app, handler):
    app = make_app()
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as tab:
        await ledger.send(tab)
        op = await ledger.send(tab, getattr(HardLedgerState, handler))
        if handler == "pair_then_fail":  # a background task: it fails after its ack
            await tab.wait_for(lambda t: any(op in e for e in t.errors))
            ledger.record(op, {"ok": False, "error": tab.errors[-1]})
            for _ in range(100):
                if not app.background_tasks:
                    break
                await asyncio.sleep(0.01)
        assert op in ledger.failed and op in tab.errors[-1]
        values = await _check_all_or_nothing(app, ledger, tab, pairs_only=False)
        assert op not in values["applied"] and values["count"] == 1 and values["a"] == 0
        await ledger.send(tab)  # no lock left behind
        await ledger.verify([tab])
    counts = task_counts_balance(app)
    assert counts["failed"] == (1 if handler == "pair_then_fail" else 0)
