"""The block guarantee where only Redis can break it: a block that outlived its lease, a commit in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import engine as rx
from engine.testing import TabClient
from tests.redis.store import raw_redis, redis_app, stored_tree

pytestmark = pytest.mark.redis

_raised: dict[str, BaseException | None] = {}
_handler_tasks: dict[str, asyncio.Task[Any]] = {}


class LeaseSpecState(rx.State):
    blocks: int = 0
    value: int = 0

    @rx.event(background=True)
    async def hold_without_changing(self, seconds: float):
        token = self.get_token()
        try:
            async with self:
                await asyncio.sleep(seconds)  # (wrong on purpose: slow work inside the block)
        except rx.LockExpiredError as exc:
            _raised[token] = exc
        else:
            _raised[token] = None
        async with self:
            self.blocks += 1

    def set_value(self, value: int):
        _handler_tasks[self.get_token()] = asyncio.current_task()  # type: ignore[assignment]
        self.value = value


@pytest.mark.parametrize("seconds,expired", [(0.05, False), (0.7, True)], ids=["within", "past"])
async def test_a_block_that_outlived_its_lease_says_so_even_when_it_changed_nothing(redis_server, seconds, expired):
    async with redis_app(redis_server.url, lock_lease=0.3, lock_warn_after=5) as app:
        async with TabClient(app, states=[LeaseSpecState]) as tab:
            await tab.send(LeaseSpecState.hold_without_changing, seconds)
            await tab.wait_for(lambda t: t.state(LeaseSpecState)["blocks"] == 1, timeout=5)
            error = _raised[tab.token]
            if expired:
                assert isinstance(error, rx.LockExpiredError), error
                assert "setting lock_lease" in str(error)
            else:
                assert error is None


async def test_a_cancellation_while_the_commit_is_in_flight_lets_it_land_and_reports_it_committed(redis_server):
    async with redis_app(redis_server.url) as app:
        manager = app.state_manager
        real_commit = manager.writer.script  # type: ignore[attr-defined]
        answered = asyncio.Event()
        arm = {"on": False}

        async def commit_with_a_slow_reply(*, keys: Any, args: Any, **more: Any) -> Any:
            result = await real_commit(keys=keys, args=args, **more)  # Redis has written it...
            if arm["on"] and "7" in args[11:]:  # (set_value's commit: the value's field, not another commit's)
                answered.set()
                await asyncio.sleep(0.1)  # ...and the reply is still on its way when the cancel comes
            return result

        manager.writer.script = commit_with_a_slow_reply  # type: ignore[attr-defined]
        async with TabClient(app, states=[LeaseSpecState]) as tab:
            arm["on"] = True
            sending = asyncio.create_task(tab.send(LeaseSpecState.set_value, 7))
            await asyncio.wait_for(answered.wait(), 5)
            _handler_tasks[tab.token].cancel()
            ack = await sending
            arm["on"] = False

            assert ack == {"ok": True}  # reported as it is: stored, so committed
            async with raw_redis(redis_server.url) as raw:
                stored = await stored_tree(raw, tab.token)
            assert stored[LeaseSpecState.get_full_name()]["value"] == 7
            await tab.wait_for(lambda t: t.state(LeaseSpecState)["value"] == 7)  # and the tab was shown it
            assert (await tab.send(LeaseSpecState.set_value, 8)) == {"ok": True}  # the lock was let go
