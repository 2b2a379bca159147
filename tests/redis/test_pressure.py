"""Redis under pressure: the engine queues instead of failing, and no fault of the pool or the relay loses an update."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

import engine as rx
from engine.redis import relay as relay_module
from engine.testing import TabClient
from tests.redis.store import lock_key, raw_redis, redis_app, stored_tree
from tests.support.env import load

pytestmark = pytest.mark.redis


class PressureState(rx.State):
    count: int = 0

    def add(self):
        self.count += 1

    @rx.event(background=True)
    async def linger(self):
        await asyncio.sleep(30)


@pytest.mark.load
async def test_two_hundred_events_at_once_on_a_small_pool_all_succeed(redis_server):
    async with redis_app(redis_server.url, redis_pool_size=4, events_per_second=1000,
                         client_events_per_second=10_000) as app:
        tabs = [TabClient(app, states=[PressureState]) for _ in range(min(load(20), 500))]
        for tab in tabs:
            await tab.__aenter__()
        try:
            acks = await asyncio.gather(*(tab.send(PressureState.add) for tab in tabs for _ in range(10)))
            assert all(ack == {"ok": True} for ack in acks), [ack for ack in acks if not ack["ok"]][:3]
            for tab in tabs:
                await tab.wait_for(lambda t: t.state(PressureState)["count"] == 10)
            stats = app.state_manager.stats()
            assert (stats["store_errors"], stats["store_busy"]) == (0, 0)
        finally:
            for tab in tabs:
                await tab.__aexit__(None, None, None)


async def test_a_pool_that_stays_busy_is_reported_as_busy_and_never_holds_up_a_tab(redis_server):
    """Blocks, locks and commits have their own pipelined connection: a pool taken up by slow commands
    (here a BLPOP) cannot stall a tab; a command that does need the pool says it was busy, not Redis down."""
    async with redis_app(redis_server.url, redis_pool_size=1, redis_pool_timeout=0.1) as app:
        manager = app.state_manager
        holding = asyncio.create_task(manager.redis.blpop(["pressure-nothing-comes"], timeout=2))
        await asyncio.sleep(0.05)  # the pool's one connection is taken
        async with asyncio.timeout(1):
            async with app.modify_state("pressure-busy") as root:
                root.get_substate(PressureState.get_full_name().split(".")).count = 5
        with pytest.raises(rx.StateStoreError) as raised:
            await manager.is_locked("pressure-busy")
        message = str(raised.value)
        assert "were all busy" in message and "settings redis_pool_size, redis_pool_timeout" in message
        assert "reachable: try again" in message and "once Redis is reachable" not in message
        assert manager.stats()["store_busy"] == 1
        await holding
        async with raw_redis(redis_server.url) as raw:
            stored = await stored_tree(raw, "pressure-busy")
            assert any(values.get("count") == 5 for values in stored.values())


async def test_a_lock_release_that_fails_keeps_the_lock_here_and_frees_it_soon_after(redis_server):
    async with redis_app(redis_server.url, lock_lease=10.0) as app:
        locks = app.state_manager.locks
        real_release = locks._release_script
        failures = [1]

        async def release_once_failing(**kwargs: Any) -> Any:
            if failures[0]:
                failures[0] -= 1
                raise RedisConnectionError("the connection broke mid-release")
            return await real_release(**kwargs)

        locks._release_script = release_once_failing
        async with app.modify_state("pressure-release") as root:
            root.get_substate(PressureState.get_full_name().split(".")).count = 1
        await asyncio.sleep(0.05)  # the release ran and failed
        loop = asyncio.get_running_loop()
        began = loop.time()
        async with app.modify_state("pressure-release") as root:  # this worker still holds it: no wait
            root.get_substate(PressureState.get_full_name().split(".")).count = 2
        assert loop.time() - began < 1.0
        async with raw_redis(redis_server.url) as raw:
            for _ in range(60):  # the retried release lands long before the 10 s lease
                if not await raw.exists(lock_key("pressure-release")):
                    break
                await asyncio.sleep(0.05)
            assert not await raw.exists(lock_key("pressure-release"))


async def test_an_update_published_while_the_relay_was_away_reaches_the_tab(redis_server, monkeypatch):
    resubscribe = relay_module._Subscription.on_connect

    async def slowly(self: Any, connection: Any) -> None:  # the reconnect takes a while: a publish slips by
        if self.channels:
            await asyncio.sleep(0.6)
        await resubscribe(self, connection)

    monkeypatch.setattr(relay_module._Subscription, "on_connect", slowly)
    async with redis_app(redis_server.url) as serving, redis_app(redis_server.url) as other:
        async with TabClient(serving, states=[PressureState]) as tab:
            relay = serving.sio.manager
            await tab.send(PressureState.add)
            async with raw_redis(redis_server.url) as raw:
                await raw.client_kill_filter(_type="pubsub")  # every subscription drops, this worker's too
            await asyncio.sleep(0.2)
            async with other.modify_state(tab.token) as root:  # published while `serving` is not listening
                root.get_substate(PressureState.get_full_name().split(".")).count = 42
            await tab.wait_for(lambda t: t.state(PressureState)["count"] == 42, timeout=5)
            assert relay.resubscriptions >= 1


async def test_a_closed_tabs_tasks_stop_on_the_worker_it_left(redis_server):
    secret = "pressure-shared-ticket-key"
    async with redis_app(redis_server.url, tab_grace=0.5, token_secret=secret) as first, \
            redis_app(redis_server.url, tab_grace=0.5, token_secret=secret) as second:
        async with TabClient(first, states=[PressureState]) as tab:
            await tab.send(PressureState.linger)
            (handle,) = first.tasks.for_tab(tab.token)
            ticket, token = tab.ticket, tab.token
        async with TabClient(second, states=[PressureState], ticket=ticket) as moved:
            assert moved.token == token  # the same tab, now served by the other worker
            await asyncio.sleep(0.8)  # `first` gives up its own wait: the tab is connected elsewhere
            assert not handle.done()
        await asyncio.wait([handle.task], timeout=5)  # closed there: `second` tells `first`
        assert handle.cancelled()
