"""A worker paused past its lease (SIGSTOP: a GC pause, a swap storm, a frozen VM) never leaves a tab
running two copies of a task.

While worker A is stopped, its tab reconnects to worker B, which no longer
hears A, drops A's copy from the tab's status and starts the task again (as
the counter demo's Start does). When A wakes, its copy's next block finds its
place gone and stops before changing anything; A says it was paused instead
of declaring the healthy B dead.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from engine.testing import TabClient
from tests.redis.worker_states import MarkState

pytestmark = [pytest.mark.redis, pytest.mark.slow]

TABS = 4
QUICK = {"ENGINE_LOCK_LEASE": "1.0", "ENGINE_SHUTDOWN_TIMEOUT": "0.5", "ENGINE_LOOP_LAG_WARN": "0.5"}
PAUSE = 3.0  # seconds A is stopped: past its lease (1 s) and three heartbeats (0.9 s)


def marks(tab: TabClient) -> list[str]:
    return list(tab.state(MarkState)["marks"])


async def test_a_paused_worker_wakes_to_find_its_copies_replaced_and_stops_them(redis_server, start_worker):
    a, b = start_worker(redis_server.url, **QUICK), start_worker(redis_server.url, **QUICK)
    on_a = [TabClient(url=a.url, states=[MarkState]) for _ in range(TABS)]
    await asyncio.gather(*(tab.__aenter__() for tab in on_a))
    on_b: list[TabClient] = []
    assert a.process is not None
    try:
        await asyncio.gather(*(tab.send(MarkState.mark_on, 0.05) for tab in on_a))
        await asyncio.gather(*(tab.wait_for(lambda t: len(marks(t)) >= 3, timeout=10) for tab in on_a))
        old = {tab.token: marks(tab)[-1] for tab in on_a}

        a.process.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(PAUSE / 2)  # B stops hearing A
            on_b = [TabClient(url=b.url, states=[MarkState], ticket=tab.ticket) for tab in on_a]
            await asyncio.gather(*(tab.__aenter__() for tab in on_b))
            for tab in on_b:
                assert tab.task(MarkState.mark_on)["running"] is False  # A's copy is taken for dead
                await tab.send(MarkState.mark_on, 0.05)  # and started again, as a visitor's Start does
            await asyncio.gather(*(tab.wait_for(lambda t: len(set(marks(t))) >= 2, timeout=10) for tab in on_b))
            await asyncio.sleep(PAUSE / 2)
        finally:
            a.process.send_signal(signal.SIGCONT)

        await asyncio.sleep(2.0)  # A runs again: its copies would have ticked forty times by now
        for tab in on_b:
            await tab.wait_for(lambda t: len(marks(t)) >= 10, timeout=10)
            log = marks(tab)
            new = next(mark for mark in log if mark != old[tab.token])
            after = log[log.index(new):]
            assert old[tab.token] not in after, f"two copies ran at once: {after}"
            assert set(after) == {new} and tab.task(MarkState.mark_on)["running"] is True
        text = a.log_text()
        assert "was stopped on worker" in text, text[-3000:]
        assert "this process was paused" in text
        assert "went silent" not in text  # A did not take the healthy B for dead
    finally:
        await asyncio.gather(*(tab.__aexit__(None, None, None) for tab in on_b + on_a))
