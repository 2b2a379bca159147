"""A run that a server's shutdown stops: `resume=True` starts it again where the tab is next served;
without it the status says a restart stopped it.

In one process on Redis: the first App shuts down (a deploy's drain), a
second App on the same Redis serves the tab when it connects again.
"""

from __future__ import annotations

import asyncio

import pytest

import engine as rx
from engine.testing import TabClient
from tests.redis.store import redis_app

pytestmark = pytest.mark.redis


class ResumeSpecState(rx.State):
    resumable_runs: list[int] = []
    plain_runs: int = 0

    @rx.event(background=True, resume=True)
    async def resumable(self, n: int):
        async with self:
            self.resumable_runs.append(n)
        await asyncio.sleep(3600)

    @rx.event(background=True)
    async def plain(self):
        async with self:
            self.plain_runs += 1
        await asyncio.sleep(3600)


def test_resume_applies_to_background_handlers_only():
    with pytest.raises(rx.StateDefinitionError, match="resume"):
        class Wrong(rx.State):
            @rx.event(resume=True)
            def handler(self):
                pass


async def test_a_shutdown_stops_runs_then_the_next_server_resumes_the_resumable_one(redis_server):
    redis_server.flush()
    secret = {"token_secret": "resume-spec-secret", "shutdown_timeout": 0.1}
    async with redis_app(redis_server.url, **secret) as first:
        async with TabClient(first, states=[ResumeSpecState]) as tab:
            await tab.send(ResumeSpecState.resumable, 7)
            await tab.send(ResumeSpecState.plain)
            await tab.wait_for(lambda t: t.state(ResumeSpecState)["plain_runs"] == 1
                               and t.state(ResumeSpecState)["resumable_runs"] == [7])
            ticket = tab.ticket
            await first.shutdown(timeout=0.1)  # the drain: both runs are cancelled
    async with redis_app(redis_server.url, **secret) as second:
        async with TabClient(second, states=[ResumeSpecState], ticket=ticket) as back:
            await back.wait_for(lambda t: t.state(ResumeSpecState)["resumable_runs"] == [7, 7])  # same argument
            await back.wait_for(lambda t: t.task(ResumeSpecState.resumable)["status"] == "running")
            plain = back.task(ResumeSpecState.plain)
            assert plain["running"] is False and plain["status"] == "cancelled"
            assert "stopped by a restart" in plain["error"]
            assert back.state(ResumeSpecState)["plain_runs"] == 1  # not run again
        async with TabClient(second, states=[ResumeSpecState], ticket=ticket) as again:
            await asyncio.sleep(0.2)
            assert again.state(ResumeSpecState)["resumable_runs"] == [7, 7]  # resumed once, not at every connect
