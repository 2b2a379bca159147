"""Defence 4: every limit holds, and the error a tab gets names the setting to change."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import socketio

import engine as rx
from engine.protocol import NAMESPACE
from engine.testing import TabClient, serve
from tests.hardening.ledger import Ledger, stop_tasks, task_counts_balance
from tests.hardening.states import HardChainState, HardFloodState, HardLedgerState, HardLoopState
from tests.hardening.wire import RawSocket
from tests.support.polling import eventually

LEDGER = [HardLedgerState]
LOOP = [HardLoopState]
FLOOD = HardFloodState.get_full_name()


# -- events per second ------------------------------------------------------------------------
async def test_events_per_second_per_connection(make_app):
    app = make_app(events_per_second=5, max_bad_events=1000)
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as fast, TabClient(app, states=LEDGER) as calm:
        await asyncio.gather(*(ledger.send(fast) for _ in range(30)))  # a burst of 30 at once
        refused = ledger.failed
        assert 15 <= len(refused) <= 21  # the burst allowance is twice the rate (10)
        assert all("setting events_per_second=5" in error for error in refused.values())
        # Another connection has its own allowance.
        for _ in range(5):
            await ledger.send(calm)
        await ledger.verify([fast, calm])
        assert all(o.ok for o in ledger.outcomes.values() if o.tab == calm.token)
        # The allowance refills at the rate: after a second, five more get through.
        await asyncio.sleep(1.05)
        before = len(ledger.acknowledged)
        for _ in range(5):
            await ledger.send(fast)
        assert len(ledger.acknowledged) == before + 5


# -- background tasks ---------------------------------------------------------------------------
async def test_background_tasks_per_tab(make_app):
    app = make_app(max_tasks_per_tab=2, max_queued_events=1)
    async with TabClient(app, states=LOOP) as tab, TabClient(app, states=LOOP) as other:
        for _ in range(3):  # two run, the third waits for a slot (at most max_queued_events wait)
            assert (await tab.send(HardLoopState.spin, 0.05))["ok"]
        fourth = await tab.send(HardLoopState.spin, 0.05)
        assert fourth["ok"] is False
        assert "max_tasks_per_tab=2" in fourth["error"] and "max_queued_events=1" in fourth["error"]
        assert "HardLoopState.spin" in fourth["error"]
        assert len(app.tasks.for_tab(tab.token)) == 3
        assert (await other.send(HardLoopState.spin, 0.05))["ok"]  # a per-tab limit
        await stop_tasks(list(app.background_tasks))
        assert (await tab.send(HardLoopState.finish, 0))["ok"]  # slots come back when tasks end
    task_counts_balance(app)


async def test_background_tasks_in_the_whole_process(make_app):
    app = make_app(max_tasks_total=3)
    async with TabClient(app, states=LOOP) as one, TabClient(app, states=LOOP) as two:
        assert (await one.send(HardLoopState.spin, 0.05))["ok"]
        assert (await one.send(HardLoopState.spin, 0.05))["ok"]
        assert (await two.send(HardLoopState.spin, 0.05))["ok"]
        refused = await two.send(HardLoopState.spin, 0.05)
        assert refused["ok"] is False and "setting max_tasks_total=3" in refused["error"]
        assert len(app.background_tasks) == 3
    task_counts_balance(app)


# -- queued events and chains ---------------------------------------------------------------------
async def test_queued_events_per_tab(make_app):
    app = make_app(max_queued_events=5, events_per_second=1000)
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as tab:
        await asyncio.gather(*(ledger.send(tab, HardLedgerState.apply_slowly, 0.05) for _ in range(12)))
        refused = ledger.failed
        assert refused and all("setting max_queued_events=5" in e for e in refused.values())
        assert len(ledger.acknowledged) >= 6  # one running and five waiting
        await ledger.verify([tab])


async def test_chained_events(make_app):
    app = make_app(max_chain_length=10)
    async with TabClient(app, states=[HardChainState]) as tab:
        ack = await tab.send(HardChainState.again)
        assert ack["ok"] is False and "setting max_chain_length" in ack["error"]
        assert "HardChainState.again" in ack["error"]
        assert (await tab.send(HardChainState.set_steps, 0))["ok"]  # the tab still works


async def test_lock_timeout(make_app):
    app = make_app(lock_timeout=0.3)
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as tab:
        assert (await tab.send(HardLedgerState.hold, 1.0))["ok"]  # holds the lock for a second
        await asyncio.sleep(0.05)
        await ledger.send(tab)
        (error,) = ledger.failed.values()
        assert "setting lock_timeout" in error
        await eventually(lambda: not app.background_tasks, what="the holder ended")
        await ledger.send(tab)
        await ledger.verify([tab])


# -- tabs per process, and idle states (the in-memory manager) --------------------------------------
async def _refused_connect(url: str) -> tuple[list[str], bool]:
    client = socketio.AsyncClient(reconnection=False)
    errors: list[str] = []
    client.on("error", lambda data: errors.append(data["message"]), namespace=NAMESPACE)
    await client.connect(url, namespaces=[NAMESPACE], transports=["websocket"],
                         auth={"states": [HardLedgerState.get_full_name()]}, wait_timeout=5)
    for _ in range(200):
        if errors and not client.connected:
            break
        await asyncio.sleep(0.01)
    connected = client.connected
    await client.disconnect()
    return errors, connected


async def test_tabs_per_process(memory_apps, caplog):
    app = memory_apps(max_tabs=2, idle_state_ttl=60)
    async with TabClient(app, states=LEDGER) as one, TabClient(app, states=LEDGER) as two:
        url = one.url
        assert url is not None
        with caplog.at_level(logging.WARNING, logger="engine"):
            errors, connected = await _refused_connect(url)
        assert connected is False
        assert errors and "setting max_tabs=2" in errors[0]
        assert app.state_manager.stats()["tabs"] == 2
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        # The two tabs are unaffected.
        assert (await one.send(HardLedgerState.apply, "x"))["ok"]
        assert (await two.send(HardLedgerState.apply, "y"))["ok"]
        # Once a tab is gone and its state idle past idle_state_ttl, a new tab fits again.
        await two.disconnect()
        await eventually(lambda: two.token not in app.event_namespace.token_to_sid, what="tab two unbound")
        app.state_manager._entries[two.token].used -= 61  # idle for longer than idle_state_ttl
        async with TabClient(app, states=LEDGER) as three:
            assert three.token not in (one.token, two.token)
            assert app.state_manager.stats()["tabs"] == 2


async def test_idle_states_are_evicted_but_never_a_locked_or_connected_one(memory_apps):
    app = memory_apps(idle_state_ttl=10)
    manager = app.state_manager
    assert isinstance(manager, rx.MemoryStateManager)
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as connected, TabClient(app, states=LEDGER) as gone, \
            TabClient(app, states=LEDGER) as locked, TabClient(app, states=LOOP) as busy:
        for tab in (connected, gone, locked):
            await ledger.send(tab)
        assert (await busy.send(HardLoopState.spin, 0.5))["ok"]  # a running task uses its state
        for tab in (gone, locked, busy):
            await tab.disconnect()
        await eventually(lambda: len(app.event_namespace.token_to_sid) == 1, what="three tabs unbound")
        release = asyncio.Event()
        holding = asyncio.Event()

        async def hold_lock() -> None:
            async with app.modify_state(locked.token):
                holding.set()
                await release.wait()

        holder = asyncio.create_task(hold_lock())
        await holding.wait()
        later = time.monotonic() + 11  # every state is idle for longer than idle_state_ttl
        assert manager.evict_idle(now=later) == 1  # only `gone`
        assert set(manager._entries) >= {connected.token, locked.token, busy.token}
        assert gone.token not in manager._entries
        release.set()
        await holder
        assert manager.evict_idle(now=later) == 1  # `locked`, now that its lock is free
        await stop_tasks(list(app.background_tasks))
        assert manager.evict_idle(now=later) == 1  # `busy`, now that its task ended
        assert set(manager._entries) == {connected.token}
        # The evicted tab comes back with a valid ticket to a fresh default state.
        async with TabClient(app, states=LEDGER, ticket=gone.ticket) as back:
            assert back.token == gone.token and back.state(HardLedgerState)["count"] == 0


async def test_the_idle_sweeper_runs_with_the_server(memory_apps, caplog):
    app = memory_apps(idle_state_ttl=0.2)
    await app.startup()  # the server's lifespan does this; TabClient's test server does not
    async with TabClient(app, states=LEDGER) as stays, TabClient(app, states=LEDGER) as leaves:
        await stays.send(HardLedgerState.apply, "a")
        await leaves.send(HardLedgerState.apply, "b")
        with caplog.at_level(logging.INFO, logger="engine"):
            await leaves.disconnect()
            await eventually(lambda: leaves.token not in app.state_manager._entries, timeout=3,
                             what="the idle state evicted")
            await asyncio.sleep(0.4)  # idle for twice the ttl, but connected
        assert stays.token in app.state_manager._entries
        assert any("setting idle_state_ttl" in r.getMessage() for r in caplog.records)
        assert (await stays.send(HardLedgerState.apply, "c"))["ok"]
        assert stays.state(HardLedgerState)["applied"] == ["a", "c"]


# -- queued updates: a tab that stops reading --------------------------------------------------------
def _queue_sizes(app: rx.App) -> int:
    return max((s.queue.qsize() for s in app.sio.eio.sockets.values()), default=0)


async def test_a_stalled_tab_is_disconnected_and_memory_stays_bounded(make_app, caplog):
    limit = 8
    # (Both sockets come from 127.0.0.1: the per-address event budget is raised for the stalled tab's clicks.)
    app = make_app(max_queued_updates=limit, max_unsent_bytes=10**9,  # (only the count bound)
                   events_per_second=1e6, client_events_per_second=1e6)
    async with TabClient(app, states=[HardFloodState]) as reader:  # reads normally, as a control
        url = reader.url
        assert url is not None
        async with RawSocket(url, rcvbuf=4096) as stalled:
            await stalled.open()
            frames = await stalled.join({"states": [HardFloodState.get_full_name()]})
            token = json.loads(frames[1].split(",", 1)[1])[1]["token"].split(".")[0]
            with caplog.at_level(logging.WARNING, logger="engine.socket"):
                # 100 clicks, each an update of 60 KB (6 MB, more than the kernel buffers take), for a tab that
                # never reads them. (A task's updates would merge into one held update instead: test_overload.py.)
                for click in range(100):
                    await stalled.emit("event", {"name": HardFloodState.fill.full_name, "args": [60000]}, ack=click)
                assert (await reader.send(HardFloodState.flood, 200, 16000))["ok"]
                peak = 0
                deadline = time.monotonic() + 15
                while token in app.event_namespace.token_to_sid and time.monotonic() < deadline:
                    peak = max(peak, _queue_sizes(app))
                    await asyncio.sleep(0.002)
                assert token not in app.event_namespace.token_to_sid, "the stalled tab was not disconnected"
                for _ in range(20):  # the flood goes on; nothing more is queued for the closed socket
                    peak = max(peak, _queue_sizes(app))
                    await asyncio.sleep(0.01)
            assert peak <= limit + 2, f"{peak} updates queued for one tab (limit {limit})"
            assert any("setting max_queued_updates" in r.getMessage() for r in caplog.records)
            # The reading tab kept up and is still connected, equal to the server.
            await reader.wait_for(lambda t: t.state(HardFloodState)["n"] == 200, timeout=20)
            assert reader.token in app.event_namespace.token_to_sid
        # (its cancellation after tab_grace is tested elsewhere)
        await stop_tasks([handle.task for handle in app.tasks.for_tab(token)])
    task_counts_balance(app)


async def test_a_stalled_tab_spamming_resync_is_bounded_too(make_app):
    limit = 8
    # Both sockets come from 127.0.0.1: the per-address budget is raised, or the stalled tab's resyncs would
    # spend the bystander's share too (how far they get before the close depends on the machine's speed).
    app = make_app(max_queued_updates=limit, events_per_second=1e6, client_events_per_second=1e6)
    async with TabClient(app, states=[HardFloodState]) as bystander:
        async with RawSocket(bystander.url or "", rcvbuf=4096) as stalled:
            await stalled.open()
            frames = await stalled.join({"states": [HardFloodState.get_full_name()]})
            token = json.loads(frames[1].split(",", 1)[1])[1]["token"].split(".")[0]
            big = {"name": HardFloodState.set_blob.full_name, "args": ["x" * 30000]}
            await stalled.emit("event", big, ack=1)
            while not str(await stalled.recv()).startswith(f"43{NAMESPACE},1"):
                pass
            # From now on it reads nothing, and asks for the whole 30 KB state again and again.
            peak = 0
            for _ in range(400):
                if token not in app.event_namespace.token_to_sid:
                    break
                try:
                    await asyncio.wait_for(stalled.emit("resync", {"states": [FLOOD]}), 1)
                except (TimeoutError, ConnectionError):
                    break
                peak = max(peak, _queue_sizes(app))
                await asyncio.sleep(0)
            await eventually(lambda: token not in app.event_namespace.token_to_sid, what="the stalled tab closed")
            assert peak <= limit + 2
            ack = await bystander.send(HardFloodState.set_n, 1)
            assert ack["ok"], ack


async def test_message_size_is_limited_by_setting():
    # max_message_bytes goes to python-engineio as max_http_buffer_size, which refuses larger packets.
    app = rx.App(max_message_bytes=1234)
    try:
        assert app.sio.eio.max_http_buffer_size == 1234
        async with serve(app.asgi()) as url:
            async with RawSocket(url) as raw:
                opened = json.loads((await raw.open())[1:])
                assert opened["maxPayload"] == 1234  # clients are told the limit
    finally:
        await app.shutdown()
