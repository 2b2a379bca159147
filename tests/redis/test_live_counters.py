"""Live counter tabs on two workers sharing Redis: no failed event, no dead task, no lost update.

CI runs 40 tabs; `nox -s soak` runs LOAD_SCALE times more (1,000 at the default 25).
"""

from __future__ import annotations

import asyncio

import pytest

from demos.background_tasks import MyTaskState
from engine.testing import TabClient
from tests.support.env import load

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.load]

TICKS = 4  # each counter counts to 4: four of the counter demo's ticks


@pytest.mark.parametrize("mode", ["confirm", "pipelined"])
async def test_live_counters_on_two_workers_lose_nothing(redis_server, start_worker, mode):
    limits = {"ENGINE_MAX_CONNECTIONS_PER_CLIENT": "100000", "ENGINE_NEW_TABS_PER_CLIENT_PER_MINUTE": "100000",
              "ENGINE_CLIENT_EVENTS_PER_SECOND": "100000", "ENGINE_REDIS_COMMIT_MODE": mode}
    workers = [start_worker(redis_server.url, **limits), start_worker(redis_server.url, **limits)]
    tabs = [TabClient(url=workers[i % 2].url, states=[MyTaskState]) for i in range(load(40))]
    await asyncio.gather(*(tab.__aenter__() for tab in tabs))
    try:
        acks = await asyncio.gather(*(tab.send(MyTaskState.set_max_counter, TICKS) for tab in tabs))
        acks += await asyncio.gather(*(tab.send(MyTaskState.toggle_running) for tab in tabs))
        assert all(ack == {"ok": True} for ack in acks), [ack for ack in acks if not ack["ok"]][:3]
        await asyncio.gather(*(tab.wait_for(lambda t: t.state(MyTaskState)["counter"] == TICKS, timeout=60)
                               for tab in tabs))
        await asyncio.gather(*(tab.settle(timeout=30) for tab in tabs))
        for tab in tabs:
            assert tab.task(MyTaskState.my_task)["status"] == "done"  # no task died
            assert tab.errors == [] and tab.resyncs == 0  # no failed event, no update missing
            assert tab.state(MyTaskState)["running"] is False
    finally:
        await asyncio.gather(*(tab.__aexit__(None, None, None) for tab in tabs))
