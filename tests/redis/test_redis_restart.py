"""A Redis restart of a few seconds, under running tasks on two worker processes, fails none of them.

Redis is shut down as an operator does it (SHUTDOWN SAVE, so it keeps every
key), or killed (`kill -9`) with an append-only file (`appendfsync always`:
Redis writes each change to the file before it replies; with `everysec`,
Redis's default, a write is postponed while a slow fsync runs, up to two
seconds of replied changes can be lost, and a task whose change Redis lost
fails saying so, as docs/scaling.md states), refuses connections for two
seconds, and starts again on its port.
Blocks that wanted to start or commit meanwhile wait (within `lock_timeout`
and the lease) and go on: every counter keeps ticking, no task fails, and
each tab's log of ticks has no gap (a commit lost) and no repeat (a commit
applied twice).
"""

from __future__ import annotations

import asyncio

import pytest

from demos.background_tasks import MyTaskState
from engine.testing import TabClient
from tests.redis.worker_states import TickState
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

TABS = 12  # per kind (counter demo, tick log), spread over two workers
DOWN_FOR = 2.0  # seconds Redis refuses connections
LIMITS = {"ENGINE_MAX_CONNECTIONS_PER_CLIENT": "1000", "ENGINE_NEW_TABS_PER_CLIENT_PER_MINUTE": "1000",
          "ENGINE_CLIENT_EVENTS_PER_SECOND": "1000", "ENGINE_LOCK_LEASE": "6", "ENGINE_SHUTDOWN_TIMEOUT": "0.5"}


def counter(tab: TabClient) -> int:
    return int(tab.state(MyTaskState)["counter"])


def ticks(tab: TabClient) -> list[int]:
    return list(tab.state(TickState)["ticks"])


@pytest.mark.parametrize("mode", ["confirm", "pipelined"])
@pytest.mark.parametrize("fault", ["SHUTDOWN SAVE", "kill -9, AOF"])
async def test_a_redis_restart_fails_no_task_and_loses_or_repeats_no_commit(start_worker, mode, fault):
    with RedisServer(aof="always" if fault == "kill -9, AOF" else None) as redis:
        workers = [start_worker(redis.url, ENGINE_REDIS_COMMIT_MODE=mode, **LIMITS) for _ in range(2)]
        counters = [TabClient(url=workers[i % 2].url, states=[MyTaskState]) for i in range(TABS)]
        loggers = [TabClient(url=workers[i % 2].url, states=[TickState]) for i in range(TABS)]
        tabs = counters + loggers
        await asyncio.gather(*(tab.__aenter__() for tab in tabs))
        try:
            await asyncio.gather(*(tab.send(MyTaskState.set_max_counter, 100_000) for tab in counters))
            await asyncio.gather(*(tab.send(MyTaskState.toggle_running) for tab in counters))
            await asyncio.gather(*(tab.send(TickState.tick_on, 0.05) for tab in loggers))
            await asyncio.gather(*(tab.wait_for(lambda t: counter(t) >= 2, timeout=20) for tab in counters))
            await asyncio.gather(*(tab.wait_for(lambda t: len(ticks(t)) >= 5, timeout=20) for tab in loggers))

            if fault == "kill -9, AOF":
                await asyncio.to_thread(redis.crash, DOWN_FOR)
            else:
                await asyncio.to_thread(redis.restart, DOWN_FOR, keep=True)
            before = [counter(tab) for tab in counters]
            shown = [len(ticks(tab)) for tab in loggers]

            # Every task carries on by itself: no visitor presses anything.
            await asyncio.gather(*(tab.wait_for(lambda t, b=b: counter(t) >= b + 3, timeout=20)
                                   for tab, b in zip(counters, before, strict=True)))
            await asyncio.gather(*(tab.wait_for(lambda t, n=n: len(ticks(t)) >= n + 10, timeout=20)
                                   for tab, n in zip(loggers, shown, strict=True)))
            for tab in counters:
                assert tab.task(MyTaskState.my_task)["status"] == "running", tab.task(MyTaskState.my_task)
                assert tab.errors == [], tab.errors
            for tab in loggers:
                log = ticks(tab)
                assert log == list(range(len(log))), f"a gap or a repeat in {log}"
                assert tab.task(TickState.tick_on)["status"] == "running", tab.task(TickState.tick_on)
                assert tab.errors == [], tab.errors
        finally:
            await asyncio.gather(*(tab.__aexit__(None, None, None) for tab in tabs))
            await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in workers))  # while Redis is up
