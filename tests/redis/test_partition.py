"""A partition: one worker loses Redis while the other keeps it; and a Redis that answers slowly.

Each worker reaches Redis through a proxy of its own (tests/support/faultproxy.py),
so one can be cut off alone: by a hard cut (every connection reset, new ones
refused) or by a black hole (connections accepted, nothing gets through, as
in a real partition; what was sent meanwhile arrives when it heals).

The cut-off worker hears nothing from Redis, not even its own heartbeat; past
three beats and a lock's lease it closes its tabs' sockets and refuses new
ones. Each page reconnects (as a load balancer would send it) to the other
worker, which has taken the cut-off one for dead: the tab finds every value
it was shown, and its task (`resume=True`) starts again there by itself.
When the link heals, the old copies find their place gone before their next
block changes anything, so no tab ever runs two copies.

The figures (time until the sockets close, until the tabs tick again on the
other worker) are printed; `pytest -s` shows them.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from engine.testing import TabClient, TabRefusedError
from tests.redis.store import raw_redis, stored_var
from tests.redis.worker_states import ResumeMarkState, ScaleState, TickState
from tests.support.faultproxy import FaultProxy
from tests.support.polling import eventually

pytestmark = [pytest.mark.redis, pytest.mark.slow]

TABS = 6
# Half the tabs tick busily: the cut catches their copy holding the tab's lock, and its commit fails at the
# lease. The others tick every 2.5 s: the cut finds their copy between blocks, and its next block waits for the
# lock through the partition (lock_timeout), takes it once the link heals, and must find its place gone.
INTERVALS = [0.05] * (TABS // 2) + [2.5] * (TABS // 2)
QUICK = {"ENGINE_LOCK_LEASE": "2.0", "ENGINE_LOCK_TIMEOUT": "3", "ENGINE_SHUTDOWN_TIMEOUT": "0.5",
         "ENGINE_MAX_CONNECTIONS_PER_CLIENT": "1000", "ENGINE_NEW_TABS_PER_CLIENT_PER_MINUTE": "1000",
         "ENGINE_CLIENT_EVENTS_PER_SECOND": "1000"}
CLOSED_WITHIN = 8.0  # seconds after the cut (measured: 2.3 s, the lease of 2 s and a beat)
NAME = ResumeMarkState.get_full_name()


def marks(tab: TabClient) -> list[str]:
    return list(tab.state(ResumeMarkState)["marks"])


def after_first(log: list[str], old: set[str]) -> list[str]:
    """The log from the first mark of a copy not in `old` on."""
    new = next((i for i, mark in enumerate(log) if mark not in old), len(log))
    return log[new:]


@pytest.mark.parametrize("mode", ["confirm", "pipelined"])
@pytest.mark.parametrize("fault", ["black hole", "hard cut"])
async def test_a_worker_cut_off_from_redis_hands_its_tabs_to_the_other_and_no_task_runs_twice(
    redis_server, start_worker, fault, mode
):
    redis_server.flush()
    # (A block waiting for a lock outlives the partition: lock_timeout.)
    env = {**QUICK, "ENGINE_LOCK_TIMEOUT": "10", "ENGINE_REDIS_COMMIT_MODE": mode}
    with FaultProxy(redis_server.port) as link:
        a, b = start_worker(link.url, **env), start_worker(redis_server.url, **env)
        on_a = [TabClient(url=a.url, states=[ResumeMarkState]) for _ in range(TABS)]
        on_b: list[TabClient] = []
        await asyncio.gather(*(tab.__aenter__() for tab in on_a))
        try:
            await asyncio.gather(*(tab.send(ResumeMarkState.mark_on, interval)
                                   for tab, interval in zip(on_a, INTERVALS, strict=True)))
            await asyncio.gather(*(tab.wait_for(lambda t: len(marks(t)) >= 1, timeout=10) for tab in on_a))
            await asyncio.sleep(0.3)  # (the busy ones have ticked a few times)

            link.black_hole() if fault == "black hole" else link.cut()
            cut_at = time.monotonic()
            await asyncio.gather(*(tab.wait_for(lambda t: t.lost is not None, timeout=CLOSED_WITHIN) for tab in on_a))
            closed_after = time.monotonic() - cut_at
            shown = {tab.token: marks(tab) for tab in on_a}  # (all a tab was shown: it has no socket any more)
            with pytest.raises(TabRefusedError, match="lost its connection to the state store"):
                await TabClient(url=a.url, states=[ResumeMarkState]).connect()  # nor does A take new tabs

            # Each page reconnects, as a load balancer sends it, to the worker that reaches Redis.
            for tab in on_a:
                again = TabClient(url=b.url, states=[ResumeMarkState], ticket=tab.ticket)
                again._client_id = tab._client_id  # the same page
                on_b.append(await again.__aenter__())
                assert again.token == tab.token
                assert marks(again)[:len(shown[tab.token])] == shown[tab.token]  # nothing it was shown is lost
            old = {mark for log in shown.values() for mark in log}
            # Nobody presses anything: each task starts again on B.
            await asyncio.gather(*(tab.wait_for(lambda t: len(after_first(marks(t), old)) >= 1, timeout=10)
                                   for tab in on_b))
            ticking_after = time.monotonic() - cut_at

            link.heal()
            await asyncio.sleep(2.0)  # A's busy copies, were they still running, would have ticked forty times
            for tab, interval in zip(on_b, INTERVALS, strict=True):
                await tab.wait_for(lambda t, n=20 if interval < 1 else 2: len(after_first(marks(t), old)) >= n,
                                   timeout=10)
                log = after_first(marks(tab), old)
                assert len(set(log)) == 1, f"two copies ran at once: {sorted(set(log))}"
                assert tab.task(ResumeMarkState.mark_on)["status"] == "running"
                assert tab.errors == [], tab.errors  # (A's copies' failures are not B's tab's news)

            # A's copies ended: a busy one failed at its lease, one between blocks was superseded at its next.
            def ended_on_a(token: str, interval: float) -> bool:
                ending = "failed" if interval < 1 else "was stopped on worker"
                return f"of tab {token[:8]} {ending}" in a.log_text()

            for tab, interval in zip(on_b, INTERVALS, strict=True):
                await eventually(lambda t=tab.token, i=interval: ended_on_a(t, i), 10, "A's old copy ending")
            async with raw_redis(redis_server.url) as raw:
                for tab in on_b:
                    stored = await stored_var(raw, tab.token, NAME, "marks")
                    assert stored[:len(marks(tab))] == marks(tab)  # all it showed is in Redis
            assert "went silent" in b.log_text()  # B took A for dead; A, deaf, judged nobody (B lives)
            assert "went silent" not in a.log_text()
            async with TabClient(url=a.url, states=[ScaleState]) as fresh:  # healed: A serves tabs again
                assert (await fresh.send(ScaleState.add, 1))["ok"]
            text = a.log_text()
            superseded = text.count("was stopped on worker")
            failed = len(re.findall(r"ResumeMarkState.mark_on of tab \S+ failed", text))
            print(f"\n[{fault}, {mode}] sockets closed {closed_after:.2f}s after the cut; every tab ticking again on "
                  f"the other worker {ticking_after:.2f}s after it; A's old copies: {superseded} superseded at their "
                  f"next block, {failed} failed at a deadline; values shown then lost 0; tabs with two copies 0")
        finally:
            await asyncio.gather(*(tab.__aexit__(None, None, None) for tab in on_b + on_a), return_exceptions=True)
            link.heal()
            await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in (a, b)))


@pytest.mark.parametrize("mode", ["confirm", "pipelined"])
async def test_a_slow_redis_fails_no_task_and_loses_no_tick(redis_server, start_worker, mode):
    """100 ms added each way on every worker's link to Redis: everything works, more slowly."""
    redis_server.flush()
    with FaultProxy(redis_server.port) as link_a, FaultProxy(redis_server.port) as link_b:
        env = {**QUICK, "ENGINE_REDIS_COMMIT_MODE": mode, "ENGINE_LOCK_LEASE": "6", "ENGINE_LOCK_TIMEOUT": "10"}
        workers = [start_worker(link_a.url, **env), start_worker(link_b.url, **env)]
        loggers = [TabClient(url=workers[i % 2].url, states=[TickState]) for i in range(TABS)]
        clicker = TabClient(url=workers[0].url, states=[ScaleState])
        tabs = [*loggers, clicker]
        await asyncio.gather(*(tab.__aenter__() for tab in tabs))
        try:
            await asyncio.gather(*(tab.send(TickState.tick_on, 0.05) for tab in loggers))
            await asyncio.gather(*(t.wait_for(lambda t: len(t.state(TickState)["ticks"]) >= 5, timeout=10)
                                   for t in loggers))
            for link in (link_a, link_b):
                link.delay(0.1)
            slowed_at = time.monotonic()
            before = [len(tab.state(TickState)["ticks"]) for tab in loggers]
            clicks = []
            for n in range(5):  # a visitor's clicks are answered, later
                sent = time.monotonic()
                assert (await clicker.send(ScaleState.add, 1, timeout=10))["ok"]
                clicks.append(time.monotonic() - sent)
                await clicker.wait_for(lambda t, n=n: int(t.state(ScaleState)["count"]) == n + 1, timeout=10)
            await asyncio.gather(*(tab.wait_for(lambda t, b=b: len(t.state(TickState)["ticks"]) >= b + 10, timeout=20)
                                   for tab, b in zip(loggers, before, strict=True)))
            slow_for = time.monotonic() - slowed_at
            ticked = sum(len(tab.state(TickState)["ticks"]) - b for tab, b in zip(loggers, before, strict=True))
            for tab in loggers:
                log = tab.state(TickState)["ticks"]
                assert log == list(range(len(log))), f"a gap or a repeat in {log}"
                assert tab.task(TickState.tick_on)["status"] == "running"
            assert all(tab.errors == [] for tab in tabs), [tab.errors for tab in tabs]
            async with raw_redis(redis_server.url) as raw:
                for tab in loggers:
                    stored = await stored_var(raw, tab.token, TickState.get_full_name(), "ticks")
                    assert stored[:len(tab.state(TickState)["ticks"])] == tab.state(TickState)["ticks"]
            for worker in workers:
                text = worker.log_text()
                assert "went silent" not in text and "heard nothing from Redis" not in text, text[-3000:]
                assert "did not listen to the others" not in text, text[-3000:]  # its own beats kept coming
            print(f"\n[{mode}, 100 ms each way] {ticked / slow_for / TABS:.1f} ticks/s per tab; clicks answered in "
                  f"{min(clicks) * 1000:.0f}-{max(clicks) * 1000:.0f} ms; tasks failed 0, ticks lost 0")
        finally:
            await asyncio.gather(*(tab.__aexit__(None, None, None) for tab in tabs), return_exceptions=True)
            for link in (link_a, link_b):
                link.delay(0)
            await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in workers))
