"""After a restart, a killed worker or an emptied Redis, a reader can start the counter again.

Worker processes on one Redis run the counter demo; the reader's tab is a
TabClient that reconnects with its ticket, as the page's runtime does.
"""

from __future__ import annotations

import asyncio

import pytest

from demos.background_tasks import MyTaskState
from engine.testing import TabClient
from tests.redis.worker import Worker
from tests.redis.worker_states import ResumeMarkState

pytestmark = [pytest.mark.redis, pytest.mark.slow]

STATES = [MyTaskState]
QUICK = {"ENGINE_LOCK_LEASE": "1.0", "ENGINE_SHUTDOWN_TIMEOUT": "0.5"}


def counter(tab: TabClient) -> int:
    return int(tab.state(MyTaskState)["counter"])


async def start_counting(tab: TabClient) -> None:
    await tab.send(MyTaskState.set_max_counter, 1000)
    if not tab.state(MyTaskState)["running"]:
        await tab.send(MyTaskState.toggle_running)
    await tab.wait_for(lambda t: counter(t) >= 2, timeout=10)


async def press_stop_then_start_and_see_it_count(tab: TabClient) -> None:
    """What a reader does with a frozen counter: Stop, Start; then it must move."""
    if tab.state(MyTaskState)["running"]:
        await tab.send(MyTaskState.toggle_running)  # Stop
    reached = counter(tab)
    await tab.send(MyTaskState.toggle_running)  # Start
    await tab.wait_for(lambda t: counter(t) >= reached + 2, timeout=10)
    await tab.send(MyTaskState.toggle_running)  # Stop


async def test_after_a_sigterm_restart_the_counter_carries_on_by_itself(redis_server, start_worker):
    worker: Worker = start_worker(redis_server.url, **QUICK)
    async with TabClient(url=worker.url, states=STATES) as tab:
        await start_counting(tab)
        ticket = tab.ticket
        worker.stop()  # SIGTERM: the task is cancelled, its finally gives the guard back
    again = start_worker(redis_server.url, **QUICK)
    async with TabClient(url=again.url, states=STATES, ticket=ticket) as back:
        reached = counter(back)
        # The demo's task is resume=True: the new server runs it again, nobody presses Start.
        await back.wait_for(lambda t: counter(t) >= reached + 2, timeout=10)
        assert back.task(MyTaskState.my_task)["status"] == "running"
        await press_stop_then_start_and_see_it_count(back)


async def test_after_its_worker_is_killed_the_counter_starts_again_on_another(redis_server, start_worker):
    first = start_worker(redis_server.url, **QUICK)
    second = start_worker(redis_server.url, **QUICK)
    async with TabClient(url=first.url, states=STATES) as tab:
        await start_counting(tab)
        ticket = tab.ticket
        first.kill()  # SIGKILL: no finally runs; the guard stays taken in Redis
    await asyncio.sleep(1.5)  # the other worker stops hearing it (three beats) and its lease runs out
    async with TabClient(url=second.url, states=STATES, ticket=ticket) as back:
        # The status the engine keeps knows the copy died with its worker; the demo trusts it.
        assert back.task(MyTaskState.my_task)["running"] is False
        assert back.task(MyTaskState.my_task)["status"] == "cancelled"
        # resume=True: the task starts again here, finds the guard the killed copy kept, and ends.
        await back.wait_for(lambda t: t.task(MyTaskState.my_task)["status"] == "done", timeout=10)
        await press_stop_then_start_and_see_it_count(back)


async def test_after_its_worker_is_killed_a_resumable_task_starts_again_on_another(redis_server, start_worker):
    first = start_worker(redis_server.url, **QUICK)
    second = start_worker(redis_server.url, **QUICK)
    async with TabClient(url=first.url, states=[ResumeMarkState]) as tab:
        await tab.send(ResumeMarkState.mark_on, 0.05)
        await tab.wait_for(lambda t: len(t.state(ResumeMarkState)["marks"]) >= 3, timeout=10)
        ticket = tab.ticket
        first.kill()
        shown = list(tab.state(ResumeMarkState)["marks"])
    await asyncio.sleep(1.5)  # the other worker stops hearing it (three beats) and its lease runs out
    async with TabClient(url=second.url, states=[ResumeMarkState], ticket=ticket) as back:
        # Nobody presses anything: the copy that died with its worker starts again here, once.
        await back.wait_for(lambda t: len(t.state(ResumeMarkState)["marks"]) >= len(shown) + 5, timeout=10)
        log = back.state(ResumeMarkState)["marks"]
        assert log[:len(shown)] == shown
        assert len(set(log[len(shown):]) - set(shown)) == 1, log
        assert back.task(ResumeMarkState.mark_on)["status"] == "running"


async def test_after_redis_restarts_empty_the_counter_starts_again(private_redis_server, start_worker):
    worker = start_worker(private_redis_server.url, **QUICK)
    async with TabClient(url=worker.url, states=STATES) as tab:
        await start_counting(tab)
        private_redis_server.stop()
        private_redis_server.start()  # the same port, nothing stored
        await tab.wait_for(lambda t: not t.state(MyTaskState)["running"], timeout=15)  # told: defaults again
        await tab.send(MyTaskState.set_max_counter, 1000)
        await press_stop_then_start_and_see_it_count(tab)
