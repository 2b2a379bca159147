"""The pacer (engine/runner/pacing.py): a busy task is not slowed, and a crowd takes turns in order."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from engine.runner.pacing import Pacer


async def _engaged(lag: float = 0.01) -> Pacer:
    """A pacer whose heartbeat has seen the loop fall behind."""
    pacer = Pacer(lag)
    await pacer.turn()  # (starts the heartbeat on this loop)
    time.sleep(lag * 3)  # the loop is blocked: the next beat comes late
    for _ in range(50):
        await asyncio.sleep(lag / 2)
        if pacer.engaged:
            return pacer
    raise AssertionError("the heartbeat never saw the loop fall behind")


async def test_one_busy_task_passes_at_once_while_the_pacer_is_engaged():
    pacer = await _engaged()
    try:
        for _ in range(300):
            await pacer.turn()
            await asyncio.sleep(0)
        assert pacer.waited == 0
    finally:
        pacer.stop()


@pytest.mark.parametrize("times_the_budget", [1.5, 2, 6])
async def test_a_crowd_larger_than_the_budget_is_admitted_first_come_first_served(times_the_budget: float):
    """Blocks run in the order they asked for their turn: none passes one that queued before it.

    (A block that finds room goes at once, but not ahead of blocks already let
    go that have not run yet.)
    """
    pacer = await _engaged()
    crowd = int(pacer.budget * times_the_budget)
    arrived = 0
    ran: list[int] = []

    async def work() -> None:
        nonlocal arrived
        for _ in range(20):
            mine, arrived = arrived, arrived + 1
            await pacer.turn()
            ran.append(mine)
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(work() for _ in range(crowd)))
        assert pacer.waited > crowd  # (the crowd really queued, again and again)
        passed = [(earlier, later) for earlier, later in itertools.pairwise(ran) if later < earlier]
        assert not passed, f"{len(passed)} blocks ran before one that had asked earlier, e.g. {passed[:3]}"
    finally:
        pacer.stop()


async def test_pacing_ends_when_the_loop_keeps_up_though_a_steady_crowd_always_has_someone_queued():
    """One late beat (a pause) engages pacing; a crowd of 100 quick blocks then never empties the queue at
    a beat, yet the loop is on time and every waiter fits in a turn: pacing ends, and the crowd runs free."""
    pacer = await _engaged()
    stop = asyncio.Event()
    blocks = 0

    async def work() -> None:
        nonlocal blocks
        while not stop.is_set():
            await pacer.turn()
            blocks += 1
            await asyncio.sleep(0)

    crowd = [asyncio.ensure_future(work()) for _ in range(100)]
    try:
        for _ in range(400):  # (2 s at most)
            await asyncio.sleep(0.005)
            if not pacer.engaged:
                break
        assert not pacer.engaged and pacer.waited > 0, (pacer.engaged, pacer.budget, pacer.waited)
        waited, ran = pacer.waited, blocks
        await asyncio.sleep(0.05)  # the crowd goes on at once, no longer queueing
        assert blocks > ran and pacer.waited == waited and not pacer.engaged
    finally:
        stop.set()
        await asyncio.gather(*crowd)
        pacer.stop()


async def test_blocks_cancelled_while_waiting_or_just_let_go_do_not_hold_the_others_back():
    pacer = await _engaged()
    try:
        crowd = [asyncio.ensure_future(pacer.turn()) for _ in range(pacer.budget * 3)]
        await asyncio.sleep(0)  # they all queue
        assert pacer.waited >= len(crowd) - pacer.budget
        for future in crowd[::2]:
            future.cancel()  # some before the admission, some after it has let them go
        await asyncio.sleep(0)
        for future in crowd[1::4]:
            future.cancel()
        await asyncio.gather(*crowd, return_exceptions=True)
        waited = pacer.waited
        for _ in range(100):  # one busy task afterwards passes at once again
            await pacer.turn()
            await asyncio.sleep(0)
        assert pacer.waited == waited
    finally:
        pacer.stop()


async def test_a_platform_without_a_thread_clock_still_admits_the_crowd(monkeypatch: pytest.MonkeyPatch):
    """Pyodide's `time` has no `thread_time`: the pacer measures turns in the process's CPU time there."""
    monkeypatch.delattr(time, "thread_time", raising=False)  # (on Pyodide there is none to take away)
    pacer = await _engaged()
    try:
        crowd = [asyncio.ensure_future(pacer.turn()) for _ in range(pacer.budget * 3)]
        await asyncio.wait_for(asyncio.gather(*crowd), timeout=5)
        assert pacer.waited >= len(crowd) - pacer.budget
    finally:
        pacer.stop()
