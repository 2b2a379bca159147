"""A commit publishes its update for the other workers only when Redis says the tab's socket is on one.

The worker that sends a tab its state records in Redis that the tab's socket
is there (before it reads the state, under the tab's lock). A worker that
changes the tab learns of the record when it takes the lock, so its commits
publish only when another worker has the socket: a tab connected nowhere, or
to the committing worker itself, costs no publish. These tests check both
sides: nothing is published for nobody, and a tab whose socket moves to
another worker while a task on the first one holds its lock and keeps
changing it still sees every change.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import engine as rx
from engine.testing import TabClient, serve
from tests.redis.store import raw_redis, redis_app

TICKS = 40


class RecordState(rx.State):
    count: int = 0

    @rx.event(background=True)
    async def tick(self, n: int):
        for _ in range(n):
            async with self:
                self.count += 1
            await asyncio.sleep(0.02)


PATH = RecordState.get_full_name().split(".")


@asynccontextmanager
async def _published(url: str, channel: str) -> AsyncIterator[list[bytes]]:
    """Every update published on the workers' channel while the block runs (Socket.IO's own
    room bookkeeping, which goes over the same channel, is left out)."""
    heard: list[bytes] = []
    async with raw_redis(url) as client:
        pubsub = client.pubsub()
        await pubsub.subscribe(channel)

        async def listen() -> None:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    sent = json.loads(message["data"])
                    if sent.get("method") == "emit" and sent.get("event") == "update":
                        heard.append(message["data"])

        listener = asyncio.create_task(listen())
        try:
            yield heard
            await asyncio.sleep(0.2)  # (what was published last has reached the subscriber)
        finally:
            listener.cancel()
            await pubsub.aclose()


async def test_a_commit_publishes_only_for_a_tab_whose_socket_another_worker_has(redis_server):
    async with redis_app(redis_server.url) as a, redis_app(redis_server.url) as b:
        channel = a.state_manager.writer.channel
        async with _published(redis_server.url, channel) as heard:
            for _ in range(20):  # a tab no worker has a socket for
                async with a.modify_state("nobody-watches") as root:
                    root.get_substate(PATH).count += 1
            async with TabClient(a, states=[RecordState]) as here:  # a tab on the committing worker
                for _ in range(5):
                    async with a.modify_state(here.token) as root:
                        root.get_substate(PATH).count += 1
                await here.wait_for(lambda t: t.state(RecordState)["count"] == 5)
            await asyncio.sleep(0.2)  # (anything published would have arrived by now)
            assert heard == []
            async with TabClient(b, states=[RecordState]) as there:  # a tab on the other worker
                async with a.modify_state(there.token) as root:
                    root.get_substate(PATH).count = 7
                await there.wait_for(lambda t: t.state(RecordState)["count"] == 7)
        assert len(heard) == 1 and there.token.encode() in heard[0]


async def test_a_tab_that_moves_to_another_worker_while_a_task_changes_it_sees_every_change(redis_server):
    secret = {"token_secret": "one secret for both workers"}
    async with redis_app(redis_server.url, **secret) as a, redis_app(redis_server.url, **secret) as b, \
            serve(b.asgi()) as b_url:
        async with TabClient(a, states=[RecordState]) as tab:
            token = tab.token
            await tab.disconnect()
            task = a.start_background(token, rx.EventSpec(RecordState.tick, (TICKS,)))
            await asyncio.sleep(0.1)  # a's task holds the tab's lease and changes it
            tab.url = b_url  # the same page comes back, to the other worker
            await tab.connect()
            assert tab.token == token
            await task
            await tab.wait_for(lambda t: t.state(RecordState)["count"] == TICKS, timeout=10)
            assert tab.resyncs == 0  # every update arrived, in order: no gap to fill
