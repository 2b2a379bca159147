"""The Redis state manager in one process: storage, TTLs, the leased lock, faults.

Two Apps on one Redis stand in for two workers where a test needs another
holder; tests/redis/test_workers.py does the same with real processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any

import pytest

import engine as rx
from engine.redis import RedisStateManager
from engine.testing import TabClient
from tests.redis.store import lock_key, log_key, raw_redis, redis_app, state_key, stored_tree
from tests.support.polling import eventually
from tests.support.redis_server import RedisServer
from tests.support.tabs import RecordingTab

pytestmark = pytest.mark.redis


class RedisSpecState(rx.State):
    count: int = 0
    ratio: float = 0.5
    items: list[str] = []
    tags: set[str] = set()
    pair: tuple[int, str] = (0, "")
    _secret: str = ""
    _hits: int = 0
    _thing: Any = None

    def add(self, n: int):
        self.count += n
        self._hits += 1

    def remember(self, word: str):
        self._secret = word
        self.items.append(word)
        self.tags.add(word)
        self.pair = (len(self.items), word)

    def keep_an_object(self):
        self._thing = object()

    def keep_a_set_where_an_int_goes(self):
        self._hits = {1, 2}  # type: ignore[assignment]  (a scalar var goes to JSON as it is: the encoder refuses it)

    @rx.event(background=True)
    async def hold(self, seconds: float):
        async with self:
            self.count += 100
            await asyncio.sleep(seconds)


class RedisOtherState(rx.State):
    label: str = "default"


PATH = RedisSpecState.get_full_name().split(".")
NAME = RedisSpecState.get_full_name()


def spec(root: rx.State) -> Any:
    return root.get_substate(PATH)


# -- selection -------------------------------------------------------------------------------------


async def test_redis_url_or_the_environment_selects_the_redis_manager(redis_server, monkeypatch):
    async with redis_app(redis_server.url) as app:
        assert isinstance(app.state_manager, RedisStateManager)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    app = rx.App()
    try:
        assert isinstance(app.state_manager, RedisStateManager)
    finally:
        await app.shutdown(timeout=1)


# -- storage ---------------------------------------------------------------------------------------


async def test_a_tab_is_stored_as_json_with_its_backend_vars_and_a_ttl(redis_server):
    async with redis_app(redis_server.url, state_ttl=60.0) as app, raw_redis(redis_server.url) as r:
        async with TabClient(app, states=[RedisSpecState]) as tab:
            await tab.send(RedisSpecState.add, 2)
            await tab.send(RedisSpecState.remember, "x")
            stored = await r.hgetall(state_key(tab.token))
            ttl = await r.pttl(state_key(tab.token))
            log_ttl = await r.pttl(log_key(tab.token))
            values = (await stored_tree(r, tab.token))[NAME]
        assert stored[b"format"] == b"2"
        assert json.loads(stored[f"v:{NAME}:count".encode()]) == 2  # one field per var, its JSON
        assert values["count"] == 2 and values["_hits"] == 1 and values["_secret"] == "x"
        assert values["tags"] == ["x"] and values["pair"] == [1, "x"] and values["items"] == ["x"]
        assert int(stored[b"seq"]) == tab.seq
        assert 50_000 < ttl <= 60_000 and (log_ttl == -2 or 50_000 < log_ttl <= 60_000)

        other = RedisStateManager(app.settings)  # a second worker reads it back with the declared types
        try:
            root = await other.peek(tab.token)
        finally:
            await other.close()
        assert root is not None
        state = spec(root)
        assert state.tags == {"x"} and state.pair == (1, "x") and state._secret == "x"
        assert isinstance(state.ratio, float) and state.count == 2


async def test_using_a_tab_refreshes_its_ttl(redis_server):
    async with redis_app(redis_server.url, state_ttl=3.0) as app, raw_redis(redis_server.url) as r:
        async with TabClient(app, states=[RedisSpecState]) as tab:
            await tab.send(RedisSpecState.add, 1)
            await asyncio.sleep(1.2)
            assert await r.pttl(state_key(tab.token)) <= 1_900
            async with app.modify_state(tab.token):
                pass  # a use that changes nothing
            assert await r.pttl(state_key(tab.token)) > 2_500


async def test_the_lock_key_has_the_lease_and_is_released_right_after_the_block(redis_server):
    async with redis_app(redis_server.url, lock_lease=4.0) as app, raw_redis(redis_server.url) as r:
        async with app.modify_state("lease-tab") as root:
            spec(root).count = 1
            assert 0 < await r.pttl(lock_key("lease-tab")) <= 4_000
        # The worker keeps it a few milliseconds for its own next block, no longer.
        loop = asyncio.get_running_loop()
        ended = loop.time()

        async def released() -> bool:
            return not await r.exists(lock_key("lease-tab"))

        await eventually(released, 2, "the lock's release")
        assert loop.time() - ended < 0.5


@pytest.mark.parametrize("handler", ["keep_an_object", "keep_a_set_where_an_int_goes"])
async def test_a_value_that_cannot_be_stored_fails_clearly_and_stores_nothing(redis_server, handler):
    async with redis_app(redis_server.url) as app:
        async with TabClient(app, states=[RedisSpecState]) as tab:
            await tab.send(RedisSpecState.add, 1)
            ack = await tab.send(getattr(RedisSpecState, handler))
            assert not ack["ok"]
            assert ack["error"].startswith("RedisSpecState._") and "nothing was stored" in ack["error"]
            root = await app.state_manager.peek(tab.token)
            assert root is not None and spec(root)._thing is None and spec(root)._hits == 1 and spec(root).count == 1


# -- what is read back is checked -------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [
        pytest.param("count", b"\x80\x04\x95 not json, maybe a pickle", id="unreadable"),
        pytest.param("count", json.dumps("lots"), id="wrong-type"),
        pytest.param("items", json.dumps([1, {"__class__": "os.system"}]), id="smuggled-object"),
    ],
)
async def test_a_tampered_var_is_dropped_and_logged_the_others_are_kept_and_the_tab_sent_whole(
    redis_server, caplog, field, value
):
    async with redis_app(redis_server.url) as app, raw_redis(redis_server.url) as r:
        async with RecordingTab(app, states=[RedisSpecState]) as tab:
            await tab.send(RedisSpecState.add, 7)
            await tab.send(RedisSpecState.remember, "kept")
            await eventually(lambda: not len(app.state_manager.locks.holds), 2, "the worker letting go of the tab")
            await r.hset(state_key(tab.token), mapping={f"v:{NAME}:{field}": value, "version": "tampered"})
            with caplog.at_level(logging.ERROR, logger="engine.redis"):
                ack = await tab.send(RedisSpecState.add, 1)
            assert ack["ok"], ack
            assert f"the stored value of {NAME}.{field} was dropped" in caplog.text
            last = tab.updates[-1]
            assert "full" in last, "the tab must be replaced wholesale, not patched"
            shown = last["full"][NAME]
            assert shown["tags"] == ["kept"]  # the vars that fit are kept
            if field == "count":
                assert shown["count"] == 1 and shown["items"] == ["kept"]  # dropped to 0, then +1
            else:
                assert shown["count"] == 8 and shown["items"] == []
            stored = await stored_tree(r, tab.token)
            assert stored[NAME]["count"] == shown["count"]  # the bad value was overwritten


async def test_a_state_another_version_wrote_is_rejected_whole_and_the_tab_starts_over(redis_server, caplog):
    async with redis_app(redis_server.url) as app, raw_redis(redis_server.url) as r:
        async with RecordingTab(app, states=[RedisSpecState]) as tab:
            await tab.send(RedisSpecState.add, 7)
            await eventually(lambda: not len(app.state_manager.locks.holds), 2, "the worker letting go of the tab")
            await r.delete(state_key(tab.token))
            document = {"format": 1, "states": {NAME: {"count": 3}}}
            await r.hset(state_key(tab.token), mapping={"data": json.dumps(document), "version": "v1", "seq": 3})
            with caplog.at_level(logging.ERROR, logger="engine.redis"):
                ack = await tab.send(RedisSpecState.add, 1)
            assert ack["ok"], ack
            assert "rejected the stored state of tab" in caplog.text and "format-2" in caplog.text
            last = tab.updates[-1]
            assert "full" in last and last["full"][NAME]["count"] == 1


async def test_states_and_vars_the_app_no_longer_declares_are_skipped(redis_server, caplog):
    async with redis_app(redis_server.url) as app, raw_redis(redis_server.url) as r:
        await r.hset(state_key("evolved"), mapping={
            f"v:{NAME}:count": "4", f"v:{NAME}:gone": "1", "v:state.no_such_state:x": "1",
            "version": "v1", "seq": 3, "format": "2",
        })
        with caplog.at_level(logging.INFO, logger="engine.redis"):
            root = await app.state_manager.peek("evolved")
        assert root is not None and spec(root).count == 4
        assert "'state.no_such_state' is not declared" in caplog.text
        assert f"{NAME}.gone is not declared" in caplog.text


async def test_a_state_replaced_under_a_held_lock_is_not_overwritten(redis_server):
    async with redis_app(redis_server.url) as app, raw_redis(redis_server.url) as r:
        async with app.modify_state("replaced") as root:
            spec(root).count = 1
        with pytest.raises(rx.StateStoreError, match="replaced or removed while this handler held its lock"):
            async with app.modify_state("replaced") as root:
                spec(root).count = 2
                await r.hset(state_key("replaced"), mapping={"version": "someone-else", f"v:{NAME}:count": "7"})
        assert (await stored_tree(r, "replaced"))[NAME]["count"] == 7  # theirs, not ours


# -- a state that vanished ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "flushed", "expired"])
async def test_a_tab_whose_state_vanished_gets_a_full_update_never_old_values(redis_server, how):
    ttl = 0.5 if how == "expired" else 60.0
    async with redis_app(redis_server.url, state_ttl=ttl) as app, raw_redis(redis_server.url) as r:
        async with RecordingTab(app, states=[RedisSpecState, RedisOtherState]) as tab:
            await tab.send(RedisSpecState.add, 5)
            await tab.send(RedisOtherState.set_label, "mine")
            await eventually(lambda: not len(app.state_manager.locks.holds), 2, "the worker letting go of the tab")
            if how == "deleted":
                await r.delete(state_key(tab.token))
            elif how == "flushed":
                redis_server.flush()
            else:
                async def expired() -> bool:
                    return not await r.exists(state_key(tab.token))

                await eventually(expired, 5, "the state expiring")
            before = len(tab.updates)
            assert (await tab.send(RedisSpecState.add, 1))["ok"]
            await tab.wait_for(lambda t: len(t.updates) > before)
            update = tab.updates[before]
            assert "full" in update
            assert update["full"][NAME]["count"] == 1
            assert update["full"][RedisOtherState.get_full_name()]["label"] == "default"
            assert tab.state(RedisOtherState)["label"] == "default"  # "mine" is not shown any more

            seq = tab.seq
            await tab.send(RedisSpecState.add, 1)  # back to ordinary deltas
            await tab.wait_for(lambda t: t.state(RedisSpecState)["count"] == 2)
            assert "delta" in tab.updates[-1] and tab.updates[-1]["seq"] == seq + 1


# -- the lock -----------------------------------------------------------------------------------------


async def test_taking_the_lock_again_in_the_same_task_fails_at_once(redis_server):
    async with redis_app(redis_server.url, lock_timeout=10.0) as app:
        loop = asyncio.get_running_loop()
        async with app.modify_state("reentrant"):
            started = loop.time()
            with pytest.raises(rx.StateLockError, match="already open for tab reentran in this task"):
                async with app.modify_state("reentrant"):
                    pass
            assert loop.time() - started < 0.5


async def test_a_waiter_is_woken_by_the_release_not_by_a_timer(redis_server):
    # The lease (10 s) and the fallback re-check (1 s) are both far longer than the wake-up seen here.
    async with redis_app(redis_server.url, lock_lease=10.0) as first, redis_app(redis_server.url) as second:
        loop = asyncio.get_running_loop()
        holding = asyncio.Event()
        released_at = 0.0

        async def hold() -> None:
            nonlocal released_at
            async with first.modify_state("wake") as root:
                spec(root).count += 1
                holding.set()
                await asyncio.sleep(0.3)
            released_at = loop.time()

        holder = asyncio.create_task(hold())
        await holding.wait()
        async with second.modify_state("wake") as root:
            acquired_at = loop.time()
            assert spec(root).count == 1
            spec(root).count += 1
        await holder
        assert acquired_at - released_at < 0.5
        assert second.state_manager.stats()["waited"] <= 2


async def test_a_dead_holders_lease_frees_the_tab_when_it_runs_out(redis_server):
    async with redis_app(redis_server.url, lock_timeout=5.0) as app, raw_redis(redis_server.url) as r:
        loop = asyncio.get_running_loop()
        await r.set(lock_key("orphan"), "a-worker-that-was-killed", px=400)  # no one will release it
        started = loop.time()
        async with app.modify_state("orphan") as root:
            spec(root).count = 1
        waited = loop.time() - started
        assert 0.3 < waited < 1.5


async def test_waiting_longer_than_lock_timeout_raises_state_lock_error(redis_server):
    async with redis_app(redis_server.url, lock_lease=10.0) as first, \
            redis_app(redis_server.url, lock_timeout=0.4) as second:
        holding, done = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with first.modify_state("slow"):
                holding.set()
                await done.wait()

        holder = asyncio.create_task(hold())
        await holding.wait()
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(rx.StateLockError, match="lock_timeout"):
            async with second.modify_state("slow"):
                pass
        assert 0.35 < loop.time() - started < 2.0
        done.set()
        await holder


async def test_a_holder_past_its_lease_loses_its_changes_and_its_tab_is_told(redis_server, caplog):
    async with redis_app(redis_server.url, lock_lease=0.3, lock_warn_after=0.1) as app, \
            redis_app(redis_server.url) as other:
        async with TabClient(app, states=[RedisSpecState]) as tab:
            await tab.send(RedisSpecState.add, 1)
            with caplog.at_level(logging.WARNING, logger="engine.redis"):
                await tab.send(RedisSpecState.hold, 0.8)  # +100, then sleeps past its lease
                await asyncio.sleep(0.05)
                async with other.modify_state(tab.token) as root:  # gets the lock when the lease runs out
                    spec(root).count += 10
                await tab.wait_for(lambda t: any("lock_lease" in error for error in t.errors), timeout=5)
            assert "setting lock_warn_after" in caplog.text
            root = await app.state_manager.peek(tab.token)
            assert root is not None and spec(root).count == 11  # the +100 was discarded, the +10 kept
            await tab.wait_for(lambda t: t.state(RedisSpecState)["count"] == 11)
            assert app.state_manager.stats()["expired"] == 1


async def test_a_cancelled_holder_releases_the_lock_and_keeps_nothing(redis_server):
    async with redis_app(redis_server.url, lock_lease=30.0) as app, redis_app(redis_server.url) as other:
        manager = app.state_manager
        assert isinstance(manager, RedisStateManager)
        inside = asyncio.Event()

        async def holder() -> None:
            async with app.modify_state("cancel") as root:
                spec(root).count = 99
                inside.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(holder())
        await inside.wait()
        assert await manager.is_locked("cancel")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert not await manager.is_locked("cancel")
        async with asyncio.timeout(2):
            async with other.modify_state("cancel") as root:
                assert spec(root).count == 0


async def test_a_waiter_cancelled_while_waiting_leaves_no_lock_behind(redis_server):
    async with redis_app(redis_server.url, lock_lease=30.0) as first, redis_app(redis_server.url) as second:
        holding, done = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with first.modify_state("queue"):
                holding.set()
                await done.wait()

        async def wait_for_it() -> None:
            async with second.modify_state("queue"):
                pass

        holder = asyncio.create_task(hold())
        await holding.wait()
        waiters = [asyncio.create_task(wait_for_it()) for _ in range(3)]
        await asyncio.sleep(0.2)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        done.set()
        await holder
        assert not await second.state_manager.is_locked("queue")
        async with asyncio.timeout(1):
            async with second.modify_state("queue"):
                pass


async def test_two_workers_on_one_tab_lose_no_update_and_take_turns(redis_server):
    async with redis_app(redis_server.url) as first, redis_app(redis_server.url) as second:
        order: list[str] = []

        async def work(app: rx.App, name: str) -> None:
            for _ in range(20):
                async with app.modify_state("shared") as root:
                    spec(root).count += 1
                    order.append(name)

        workers = [(first, "a"), (second, "b")]
        await asyncio.gather(*(work(app, name) for app, name in workers for _ in range(5)))
        root = await first.state_manager.peek("shared")
        assert root is not None and spec(root).count == 200
        switches = sum(1 for x, y in itertools.pairwise(order) if x != y)
        assert switches >= 4, f"one worker starved the other: {''.join(order)}"


async def test_peek_reads_the_last_commit_without_waiting_for_the_lock(redis_server):
    async with redis_app(redis_server.url) as app:
        async with app.modify_state("peek") as root:
            spec(root).count = 3
        inside, done = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with app.modify_state("peek") as root:
                spec(root).count = 4
                inside.set()
                await done.wait()

        holder = asyncio.create_task(hold())
        await inside.wait()
        async with asyncio.timeout(1):
            root = await app.state_manager.peek("peek")
        assert root is not None and spec(root).count == 3
        assert app.state_manager.locked("peek")
        done.set()
        await holder
        assert not app.state_manager.locked("peek")
        assert await app.state_manager.peek("never-seen") is None
        stats = app.state_manager.stats()
        assert {"locks_held", "acquired", "waited", "expired", "store_errors", "rejected"} <= stats.keys()


# -- Redis goes away ---------------------------------------------------------------------------------


async def test_with_redis_down_events_fail_at_their_deadline_and_work_again_when_it_returns(redis_server):
    own = RedisServer()  # our own: stopping it must not disturb the shared one
    own.start()
    try:
        async with redis_app(own.url, lock_timeout=1.0) as app:  # an event waits out an outage this long
            async with RecordingTab(app, states=[RedisSpecState]) as tab:
                await tab.send(RedisSpecState.add, 5)
                own.stop()
                loop = asyncio.get_running_loop()
                started = loop.time()
                ack = await tab.send(RedisSpecState.add, 1, timeout=10)
                assert loop.time() - started >= 0.9  # it waited for Redis, then gave up (within the tab's timeout)
                assert not ack["ok"] and "Redis" in ack["error"] and "nothing was changed" in ack["error"]
                assert not (await tab.send(RedisSpecState.add, 1, timeout=10))["ok"]  # still up, still clear

                own.start()  # empty: this Redis keeps nothing on disk
                for _ in range(50):
                    if (await tab.send(RedisSpecState.add, 1, timeout=10))["ok"]:
                        break
                    await asyncio.sleep(0.1)
                else:
                    pytest.fail(f"events still fail after Redis came back: {tab.errors[-1:]}")
                await tab.wait_for(lambda t: t.state(RedisSpecState)["count"] == 1)
                assert "full" in tab.updates[-1]  # the state was lost with Redis: replaced, not patched
    finally:
        own.stop()
