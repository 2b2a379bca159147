"""Several worker processes on one Redis, driven through real sockets.

Each worker is tests/redis/worker_app.py (an App and uvicorn) unless
the test is about the docs server itself. Tabs connect to a given worker by
its port; `ScaleState.drive` makes the worker a tab is connected to act on
*another* tab, so one tab's state is changed from both workers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.redis import RedisStateManager
from engine.settings import Settings
from engine.testing import TabClient
from tests.redis.store import lock_key, raw_redis, state_key, stored_tree
from tests.redis.worker import Worker
from tests.redis.worker_states import ScaleState
from tests.support.env import ROOT
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer
from tests.support.tabs import RecordingTab

pytestmark = [pytest.mark.redis, pytest.mark.slow]

NAME = ScaleState.get_full_name()
STATES = [ScaleState]


def count(tab: TabClient) -> int:
    return int(tab.state(ScaleState).get("count", -1))


async def probe(asker: TabClient, token: str) -> bool:
    """Whether the worker `asker` is connected to knows that `token` is connected somewhere."""
    await asker.send(ScaleState.probe, token)
    return bool(asker.state(ScaleState)["seen"])


async def test_both_workers_change_one_tab_at_once_and_reach_the_exact_total(redis_server, start_worker):
    redis_server.flush()
    a, b = start_worker(redis_server.url), start_worker(redis_server.url)
    async with TabClient(url=a.url, states=STATES) as tab, TabClient(url=b.url, states=STATES) as other:
        # On worker A: 30 regular events and 2 background tasks of 20 blocks each, from the tab itself.
        # On worker B: 3 background tasks of 20 blocks and 20 modify_state blocks, all for the tab.
        async def from_a() -> None:
            await tab.send(ScaleState.add_many, 20)
            for _ in range(15):
                await tab.send(ScaleState.add, 1)
            await tab.send(ScaleState.add_many, 20)
            for _ in range(15):
                await tab.send(ScaleState.add, 1)

        await asyncio.gather(from_a(), other.send(ScaleState.drive, tab.token, 20, 3))
        expected = 30 + 2 * 20 + 3 * 20 + 20
        await tab.wait_for(lambda t: count(t) == expected, timeout=60)
        assert tab.errors == [] and other.errors == []

        manager = RedisStateManager(Settings(redis_url=redis_server.url))
        try:
            root = await manager.peek(tab.token)
        finally:
            await manager.close()
        assert root is not None
        state = root.get_substate(NAME.split("."))
        assert state.count == expected and state._touches == 30 + 2 * 20 + 3 * 20


async def test_every_worker_knows_every_tab_and_a_duplicate_stays_a_duplicate(redis_server, start_worker):
    redis_server.flush()
    a, b = start_worker(redis_server.url), start_worker(redis_server.url)
    async with TabClient(url=a.url, states=STATES) as tab, TabClient(url=b.url, states=STATES) as asker:
        await eventually(lambda: probe(asker, tab.token), 5, "worker B learning of a tab on worker A", step=0.05)

        late = start_worker(redis_server.url)  # started after the tab connected: reads A's hash
        async with TabClient(url=late.url, states=STATES) as late_asker:
            await eventually(lambda: probe(late_asker, tab.token), 5, "a late worker learning of it", step=0.05)

        # The tab's ticket from another page (another client id) on worker B: a fresh tab.
        async with TabClient(url=b.url, states=STATES, ticket=tab.ticket) as copy:
            assert copy.token != tab.token
        # The same page reconnecting, this time to worker B: it keeps its tab.
        same_page = TabClient(url=b.url, states=STATES, ticket=tab.ticket)
        same_page._client_id = tab._client_id
        async with same_page:
            assert same_page.token == tab.token

        await tab.disconnect()
        await eventually(lambda: _not(probe(asker, tab.token)), 5, "worker B learning the tab left", step=0.05)


async def _not(result: object) -> bool:
    return not await result  # type: ignore[misc]


async def test_a_killed_lock_holder_frees_the_tab_after_its_lease_nothing_reruns(redis_server, start_worker):
    redis_server.flush()
    a = start_worker(redis_server.url, ENGINE_LOCK_LEASE="1.0")
    b = start_worker(redis_server.url, ENGINE_LOCK_LEASE="1.0")
    async with raw_redis(redis_server.url) as r:
        tab = RecordingTab(url=a.url, states=STATES)
        await tab.connect()
        try:
            await tab.send(ScaleState.add, 5)
            await tab.send(ScaleState.hold_lock, 60)  # sets held=True and sits on the lock, uncommitted

            async def locked() -> bool:
                return bool(await r.exists(lock_key(tab.token)))

            await eventually(locked, 5, "the task taking the lock")
            await asyncio.sleep(0.1)
            a.kill()
        finally:
            await tab.disconnect()

        # The same page comes back on worker B: it must wait out A's lease, then see the last commit.
        tab.url = b.url
        killed_at = time.monotonic()
        await tab.connect()
        assert time.monotonic() - killed_at < 1.0 + 3.0
        assert tab.state(ScaleState)["count"] == 5 and tab.state(ScaleState)["held"] is False
        assert (await tab.send(ScaleState.add, 1))["ok"]
        await tab.wait_for(lambda t: count(t) == 6)

        await asyncio.sleep(1.5)  # the killed worker's task is gone for good: nothing changes any more
        stored = await stored_tree(r, tab.token)
        assert stored[NAME]["count"] == 6 and stored[NAME]["held"] is False
        assert count(tab) == 6
        await tab.disconnect()


async def test_a_tampered_var_is_dropped_by_the_worker_that_reads_it(redis_server, start_worker):
    redis_server.flush()
    a, b = start_worker(redis_server.url), start_worker(redis_server.url)
    async with raw_redis(redis_server.url) as r, \
            RecordingTab(url=a.url, states=STATES) as tab, TabClient(url=b.url, states=STATES) as other:
        await tab.send(ScaleState.add, 5)
        await asyncio.sleep(0.2)  # worker A has let go of the tab
        bad = {"__reduce__": ["os.system", ["true"]]}
        await r.hset(state_key(tab.token), mapping={f"v:{NAME}:count": json.dumps(bad), "version": "tampered"})

        await other.send(ScaleState.drive, tab.token, 1, 0)  # worker B reads it first
        await tab.wait_for(lambda t: count(t) == 1, timeout=10)
        assert any("full" in update and update["full"][NAME]["count"] == 1 for update in tab.updates)
        await eventually(lambda: f"{NAME}.count was dropped" in b.log_text(), 5, "worker B logging it")
        stored = await stored_tree(r, tab.token)
        assert stored[NAME]["count"] == 1


async def test_workers_survive_a_redis_restart_and_recover_by_themselves(redis_server, start_worker):
    own = RedisServer()  # ours alone: stopping it must not disturb other tests
    own.start()
    try:
        quick = {"ENGINE_LOCK_TIMEOUT": "1"}  # an event waits out an outage this long, then fails
        a, b = start_worker(own.url, **quick), start_worker(own.url, **quick)
        async with TabClient(url=a.url, states=STATES) as tab, TabClient(url=b.url, states=STATES) as other:
            await tab.send(ScaleState.add, 3)
            own.stop()
            ack = await tab.send(ScaleState.add, 1, timeout=10)
            assert not ack["ok"] and "Redis" in ack["error"]
            assert not (await other.send(ScaleState.add, 1, timeout=10))["ok"]
            assert a.process is not None and a.process.poll() is None
            assert b.process is not None and b.process.poll() is None

            own.start()
            deadline = time.monotonic() + 20
            while not (await tab.send(ScaleState.add, 1, timeout=10))["ok"]:
                assert time.monotonic() < deadline, f"worker A did not recover: {tab.errors[-1:]}"
                await asyncio.sleep(0.2)
            await tab.wait_for(lambda t: count(t) == 1)  # Redis came back empty: a full update, defaults + 1

            # Worker B changes the tab on worker A again once both are back on Redis. (An update
            # published while a worker's Socket.IO subscription is still reconnecting is lost to
            # pub/sub; the tab catches up at the next one, which shows it a gap and makes it resync.)
            drives = 0
            deadline = time.monotonic() + 30
            while count(tab) == 1:
                assert time.monotonic() < deadline, f"worker B never reached the tab: {other.errors[-1:]}"
                drives += (await other.send(ScaleState.drive, tab.token, 1, 0, timeout=10))["ok"]
                with contextlib.suppress(TimeoutError):
                    await tab.wait_for(lambda t: count(t) > 1, timeout=1)
            async with raw_redis(own.url) as r:
                stored = (await stored_tree(r, tab.token))[NAME]["count"]
            assert stored == 1 + drives
            await tab.wait_for(lambda t: count(t) == stored, timeout=10)
    finally:
        own.stop()


async def test_the_docs_server_runs_two_workers_behind_one_port(redis_server, tmp_path):
    redis_server.flush()
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>scaled</title>")
    port = free_port()
    command = [
        sys.executable, "-m", "docsite", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--site", str(site), "--workers", "2", "--redis-url", redis_server.url,
    ]
    server = Worker(port, {"DOCSITE_EXTRA_MODULES": "tests.redis.worker_states"}, tmp_path / "docsite.log", command)
    server.start(timeout=30)
    try:
        url = f"http://127.0.0.1:{port}"
        tabs: dict[int, TabClient] = {}
        for _ in range(40):  # the kernel spreads connections over the two workers
            tab = TabClient(url=url, states=STATES)
            await tab.connect()
            await tab.send(ScaleState.whoami)
            await tab.wait_for(lambda t: t.state(ScaleState)["pid"] != 0)
            pid = tab.state(ScaleState)["pid"]
            if pid in tabs:
                await tab.disconnect()
            else:
                tabs[pid] = tab
            if len(tabs) == 2:
                break
        assert len(tabs) == 2, f"every connection reached the same worker:\n{server.log_text()}"
        first, second = tabs.values()
        await second.send(ScaleState.drive, first.token, 5, 1)  # the other worker changes the tab
        await first.wait_for(lambda t: count(t) == 10, timeout=20)
        for tab in tabs.values():
            await tab.disconnect()
    finally:
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            raise
        finally:
            server.stop()
    assert code == 0, server.log_text()
    assert "Traceback" not in server.log_text()


def test_several_workers_without_redis_are_refused_with_a_clear_message(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html>")
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "docsite", "serve", "--site", str(tmp_path), "--workers", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "--workers needs --redis-url" in result.stderr
