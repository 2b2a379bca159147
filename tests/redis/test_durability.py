"""Nothing a tab was shown is lost when its worker dies, in either commit mode.

Two worker processes on one Redis, many tabs with running counters on both.
One worker is killed with SIGKILL while its counters run (in pipelined mode
with commits in flight). Every count any tab was shown must be in Redis, and
the surviving worker must serve the dead worker's tabs once their lease ran out.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from engine.testing import TabClient
from tests.redis.store import raw_redis, stored_var
from tests.redis.worker_states import ScaleState
from tests.support.tabs import RecordingTab

pytestmark = [pytest.mark.redis, pytest.mark.slow]

NAME = ScaleState.get_full_name()
STATES = [ScaleState]
LEASE = 2.5  # s: longer than the stall below, so no lease runs out while Redis is stopped
TABS_ON_EACH = 12
STALL = 1.0  # s: well under the engine's COMMAND_TIMEOUT and the lease


def shown(tab: RecordingTab) -> list[int]:
    """Every count the tab was sent, in the order it was sent."""
    return tab.shown(NAME, "count")


async def stored_count(url: str, token: str) -> int:
    async with raw_redis(url) as raw:
        return int(await stored_var(raw, token, NAME, "count"))


@pytest.mark.parametrize("mode", ["confirm", "pipelined"])
async def test_a_killed_worker_loses_nothing_its_tabs_were_shown(redis_server, start_worker, mode):
    redis_server.flush()
    env = {"ENGINE_REDIS_COMMIT_MODE": mode, "ENGINE_LOCK_LEASE": str(LEASE), "ENGINE_SHUTDOWN_TIMEOUT": "0.5"}
    doomed, survivor = start_worker(redis_server.url, **env), start_worker(redis_server.url, **env)
    on_doomed = [RecordingTab(url=doomed.url, states=STATES) for _ in range(TABS_ON_EACH)]
    on_survivor = [RecordingTab(url=survivor.url, states=STATES) for _ in range(TABS_ON_EACH)]
    for tab in on_doomed + on_survivor:
        await tab.connect()
        await tab.send(ScaleState.count_on, 0.005)
    for tab in on_doomed + on_survivor:
        await tab.wait_for(lambda t: t.state(ScaleState).get("count", 0) >= 20, timeout=20)

    # Redis stalls for a moment, so commits pile up on their way (pipelined mode goes on without
    # replies, up to redis_pipeline_depth), and the worker dies before Redis answers any of them.
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        await asyncio.sleep(STALL)
        doomed.kill()  # SIGKILL mid-run: no finally, no flush, no release
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    for tab in on_doomed:
        await tab.disconnect()

    for tab in on_doomed + on_survivor:
        counts = shown(tab)
        assert counts == sorted(counts) and len(set(counts)) == len(counts), "updates out of order or repeated"
        assert counts[-1] <= await stored_count(redis_server.url, tab.token), (
            f"{tab.token[:8]} was shown {counts[-1]}, which Redis does not hold ({mode} mode)")
    # The survivor's own counters never stopped.
    for tab in on_survivor:
        reached = tab.state(ScaleState)["count"]
        await tab.wait_for(lambda t, reached=reached: t.state(ScaleState)["count"] >= reached + 5, timeout=10)

    # Once the dead worker's leases ran out, the survivor serves its tabs: they come back with
    # the stored count, and an event changes it.
    await asyncio.sleep(LEASE + 0.5)
    for tab in on_doomed:
        before = await stored_count(redis_server.url, tab.token)
        async with TabClient(url=survivor.url, states=STATES, ticket=tab.ticket) as back:
            assert back.state(ScaleState)["count"] == before >= shown(tab)[-1]
            assert await back.send(ScaleState.add, 1000) == {"ok": True}
            assert back.state(ScaleState)["count"] == before + 1000
        assert await stored_count(redis_server.url, tab.token) == before + 1000
    for tab in on_survivor:
        await tab.disconnect()


@pytest.mark.parametrize("mode", ["confirm", "pipelined"])
async def test_a_tab_that_hops_between_workers_never_sees_its_count_go_back(redis_server, start_worker, mode):
    """One page reconnecting in a loop, to one worker then the other, while its counter runs on the first.

    (The same page: its client id goes with it. A new page with the same ticket, while the old one's
    socket is still known, is a duplicated tab and gets a token of its own.)
    """
    redis_server.flush()
    env = {"ENGINE_REDIS_COMMIT_MODE": mode, "ENGINE_NEW_TABS_PER_CLIENT_PER_MINUTE": "100000",
           "ENGINE_CLIENT_EVENTS_PER_SECOND": "100000", "ENGINE_SHUTDOWN_TIMEOUT": "0.5"}  # its counter runs on
    workers = [start_worker(redis_server.url, **env), start_worker(redis_server.url, **env)]
    tab = RecordingTab(url=workers[0].url, states=STATES)
    await tab.connect()
    token = tab.token
    await tab.send(ScaleState.count_on, 0.005)
    await tab.wait_for(lambda t: t.state(ScaleState).get("count", 0) >= 10, timeout=10)
    for hop in range(10):
        await tab.disconnect()
        seen = shown(tab)
        tab.url = workers[(hop + 1) % 2].url
        await tab.connect()
        assert tab.token == token
        await tab.wait_for(lambda t, at=seen[-1]: t.state(ScaleState)["count"] > at, timeout=10)  # still counting
        counts = shown(tab)[len(seen):]  # since this hop
        assert counts[0] >= seen[-1], f"hop {hop}: came back at {counts[:1]} after being shown {seen[-1]}"
        assert counts == sorted(counts)
        assert shown(tab)[-1] <= await stored_count(redis_server.url, token)
    await tab.disconnect()
