"""The lease a worker keeps on a busy tab, and pipelined commits that Redis refuses.

A worker keeps a tab's lock leased while the tab is busy there, so its
blocks skip the lock's round trips; another worker that wants the tab gets
it at the holder's next block end (or at once when the tab is idle there),
not after the lease. In pipelined mode a block's commit is confirmed after
the fact; when Redis refuses one (the lease was lost), the tab is never shown
it nor anything built on it, is resynced from Redis, is told, and the task
gets `LockExpiredError` at its next block.
"""

from __future__ import annotations

import asyncio

import pytest

import engine as rx
from engine.testing import TabClient
from tests.redis.store import lock_key, raw_redis, redis_app, stored_var
from tests.support.polling import eventually
from tests.support.tabs import RecordingTab

pytestmark = pytest.mark.redis

_outcome: dict[str, BaseException] = {}
_blocks: dict[str, int] = {}


class PipeState(rx.State):
    count: int = 0

    @rx.event(background=True)
    async def count_until_refused(self):
        token = self.get_token()
        try:
            while True:
                async with self:
                    self.count += 1
                _blocks[token] = _blocks.get(token, 0) + 1
                await asyncio.sleep(0.002)
        except rx.LockExpiredError as exc:
            _outcome[token] = exc

    @rx.event(background=True)
    async def count_to(self, n: int):
        for _ in range(n):
            async with self:
                self.count += 1
            await asyncio.sleep(0.005)

    @rx.event(background=True)
    async def count_slowly(self, n: int, pause: float):
        """Busy without holding the lock most of the time: one block, then `pause` s outside it."""
        for _ in range(n):
            async with self:
                self.count += 1
            await asyncio.sleep(pause)

    def add(self, n: int):
        self.count += n


NAME = PipeState.get_full_name()


def counts_shown(tab: RecordingTab) -> list[int]:
    return tab.sent(NAME, "count")  # (every count the tab was sent, applied or not: none may be one Redis lacks)


async def stored_count(raw, token: str) -> int:
    return int(await stored_var(raw, token, NAME, "count"))


async def test_a_refused_pipelined_commit_is_never_shown_and_the_task_learns_it_at_its_next_block(redis_server):
    async with redis_app(redis_server.url, redis_commit_mode="pipelined", lock_lease=30) as app, \
            raw_redis(redis_server.url) as raw:
        async with RecordingTab(app, states=[PipeState]) as tab:
            await tab.send(PipeState.count_until_refused)
            await tab.wait_for(lambda t: t.state(PipeState)["count"] >= 30, timeout=10)
            # Another worker takes the lock as if this one's lease had run out: every commit from
            # here on is refused by Redis.
            await raw.set(lock_key(tab.token), "another-worker", px=60_000)
            await eventually(lambda: tab.token in _outcome, 10, "the task's LockExpiredError")
            assert isinstance(_outcome[tab.token], rx.LockExpiredError)
            stored = await stored_count(raw, tab.token)
            assert _blocks[tab.token] > stored  # blocks ended whose commits Redis refused...
            await tab.wait_for(lambda t: t.state(PipeState)["count"] == stored, timeout=5)  # ...resynced to Redis
            assert max(counts_shown(tab)) <= stored  # and never shown
            assert any("expired" in error for error in tab.errors), tab.errors  # the tab was told
            await asyncio.sleep(0.2)
            assert await stored_count(raw, tab.token) == stored  # nothing built on the refused one landed
            assert app.state_manager.stats()["refused"] == 1  # one lease, one refusal (the rest built on it)
            await raw.delete(lock_key(tab.token))
            assert await tab.send(PipeState.add, 100) == {"ok": True}  # the tab works on
            assert tab.state(PipeState)["count"] == stored + 100 == await stored_count(raw, tab.token)


async def test_pipelined_updates_arrive_in_order_and_an_event_is_acknowledged_once_redis_holds_it(redis_server):
    async with redis_app(redis_server.url, redis_commit_mode="pipelined") as app, raw_redis(redis_server.url) as raw:
        async with RecordingTab(app, states=[PipeState]) as tab:
            await tab.send(PipeState.count_to, 50)
            for _ in range(20):
                assert await tab.send(PipeState.add, 1) == {"ok": True}
                shown = tab.state(PipeState)["count"]  # (read before Redis: the task's updates arrive meanwhile)
                assert await stored_count(raw, tab.token) >= shown
            await tab.wait_for(lambda t: t.state(PipeState)["count"] == 70, timeout=10)
            assert counts_shown(tab) == sorted(counts_shown(tab))
            assert await stored_count(raw, tab.token) == 70


@pytest.mark.parametrize("in_block", [False, True], ids=["between-blocks", "in-blocks"])
async def test_another_worker_gets_a_leased_tab_long_before_the_lease_runs_out(redis_server, in_block):
    """The holder keeps the lease of a busy tab; a waiter on another worker gets it at the holder's
    next block end (blocks every 5 ms), or at once while the holder's task waits outside its blocks."""
    lease = 30.0
    async with redis_app(redis_server.url, lock_lease=lease) as holder, \
            redis_app(redis_server.url, lock_lease=lease) as other, raw_redis(redis_server.url) as raw:
        async with TabClient(holder, states=[PipeState]) as tab:
            if in_block:
                await tab.send(PipeState.count_to, 600)  # 3 s or more of blocks, 5 ms apart
                expected = 1600
            else:
                await tab.send(PipeState.count_slowly, 1, 4.0)  # one block, then 4 s outside it
                expected = 1001
            await tab.wait_for(lambda t: t.state(PipeState)["count"] >= 1, timeout=5)
            await asyncio.sleep(0.05)
            assert await raw.get(lock_key(tab.token)) is not None  # leased to the holder, though no block runs
            loop = asyncio.get_running_loop()
            started = loop.time()
            async with other.modify_state(tab.token) as root:
                root.get_substate(NAME.split(".")).count += 1000
            waited = loop.time() - started
            # Without the hand-over it would wait until the holder's task ends (3-4 s) or the lease does.
            assert waited < 1.5, f"waited {waited:.2f}s for a tab leased for {lease:g}s"
            # The holder's task takes the tab back and finishes: nothing lost on either side.
            await tab.wait_for(lambda t: t.state(PipeState)["count"] == expected, timeout=20)
            async with other.modify_state(tab.token) as root:
                assert root.get_substate(NAME.split(".")).count == expected
