"""A deploy keeps every visitor: worker processes restarted (SIGTERM, then started again) on one Redis.

No `ENGINE_TOKEN_SECRET` is set, as the README's commands do not set one:
the ticket key lives in Redis, so every tab comes back to its own state.
The counter demo's task opts in to `resume=True` and ticks again with no
visitor pressing Start; a task that did not opt in ends "cancelled" with an
error saying a restart stopped it, and its busy status clears.
"""

from __future__ import annotations

import asyncio

import pytest

from demos.background_tasks import MyTaskState
from engine.testing import TabClient
from tests.redis.worker_states import TickState
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

TABS = 3  # per kind
NO_SECRET = {"ENGINE_TOKEN_SECRET": "", "ENGINE_SHUTDOWN_TIMEOUT": "0.5"}


def counter(tab: TabClient) -> int:
    return int(tab.state(MyTaskState)["counter"])


async def test_a_restart_of_every_worker_gives_each_tab_its_state_and_resumes_its_counter(start_worker):
    with RedisServer() as redis:
        workers = [start_worker(redis.url, **NO_SECRET) for _ in range(2)]
        counters = [TabClient(url=workers[i % 2].url, states=[MyTaskState]) for i in range(TABS)]
        loggers = [TabClient(url=workers[i % 2].url, states=[TickState]) for i in range(TABS)]
        back: list[TabClient] = []
        await asyncio.gather(*(tab.__aenter__() for tab in counters + loggers))
        try:
            for n, tab in enumerate(counters):
                await tab.send(MyTaskState.set_max_counter, 1000 + n)
                await tab.send(MyTaskState.toggle_running)
            for tab in loggers:
                await tab.send(TickState.tick_on, 0.05)
            await asyncio.gather(*(tab.wait_for(lambda t: counter(t) >= 2, timeout=20) for tab in counters))
            await asyncio.gather(*(tab.wait_for(lambda t: len(t.state(TickState)["ticks"]) >= 3, timeout=20)
                                   for tab in loggers))

            await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in workers))  # the deploy
            before = {tab.token: (tab.state(MyTaskState), tab.ticket) for tab in counters}
            ticks = {tab.token: (list(tab.state(TickState)["ticks"]), tab.ticket) for tab in loggers}
            workers = [start_worker(redis.url, **NO_SECRET) for _ in range(2)]

            for n, (token, (values, ticket)) in enumerate(before.items()):
                tab = TabClient(url=workers[(n + 1) % 2].url, states=[MyTaskState], ticket=ticket)
                back.append(await tab.__aenter__())
                assert tab.token == token  # its own tab, not a fresh one
                now = tab.state(MyTaskState)
                assert now["max_counter"] == values["max_counter"] and now["counter"] >= values["counter"]
                assert now["running"] is True
                # Nobody presses anything: the task runs again.
                await tab.wait_for(lambda t, c=now["counter"]: counter(t) >= c + 2, timeout=20)
                assert tab.task(MyTaskState.my_task)["status"] == "running"
                assert tab.task(MyTaskState.my_task)["error"] == ""
            for n, (token, (log, ticket)) in enumerate(ticks.items()):
                tab = TabClient(url=workers[n % 2].url, states=[TickState], ticket=ticket)
                back.append(await tab.__aenter__())
                assert tab.token == token
                assert tab.state(TickState)["ticks"][:len(log)] == log  # nothing it was shown is lost
                status = tab.task(TickState.tick_on)
                assert status["running"] is False and status["status"] == "cancelled", status
                assert "stopped by a restart" in status["error"], status
            assert "signed with the key kept in Redis" in workers[0].log_text()
        finally:
            await asyncio.gather(*(tab.__aexit__(None, None, None) for tab in counters + loggers + back))
            await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in workers))


async def test_a_rolling_restart_resumes_the_counter_of_a_tab_that_moved_to_another_worker(start_worker):
    with RedisServer() as redis:
        slow_drain = {**NO_SECRET, "ENGINE_SHUTDOWN_TIMEOUT": "1.5"}  # its tabs move while it drains
        old, other = start_worker(redis.url, **slow_drain), start_worker(redis.url, **NO_SECRET)
        tabs = [TabClient(url=old.url, states=[MyTaskState]) for _ in range(TABS)]
        moved: list[TabClient] = []
        await asyncio.gather(*(tab.__aenter__() for tab in tabs))
        try:
            for tab in tabs:
                await tab.send(MyTaskState.set_max_counter, 1000)
                await tab.send(MyTaskState.toggle_running)
            await asyncio.gather(*(tab.wait_for(lambda t: counter(t) >= 2, timeout=20) for tab in tabs))
            stopping = asyncio.create_task(asyncio.to_thread(old.stop))  # SIGTERM: it drains for 1.5 s
            for tab in tabs:  # the page reconnects to the other worker at once (its tasks still run on the old)
                again = TabClient(url=other.url, states=[MyTaskState], ticket=tab.ticket)
                again._client_id = tab._client_id  # the same page
                moved.append(await again.__aenter__())
                assert again.token == tab.token
            await stopping
            for tab in moved:
                reached = counter(tab)
                await tab.wait_for(lambda t, r=reached: counter(t) >= r + 2, timeout=20)  # nobody pressed Start
                assert tab.task(MyTaskState.my_task)["status"] == "running"
        finally:
            await asyncio.gather(*(tab.__aexit__(None, None, None) for tab in tabs + moved))
            await asyncio.to_thread(other.stop)
