"""`async with` on another state, and a skipped trigger says so.

- A state a task got with `await self.get_state(Other)` inside a block can be
  entered later with `async with other`, as in Reflex: it takes the tab's
  lock (the same one `async with self` takes), commits and sends on exit,
  rolls back on an error; `self` is live inside it too.
- A trigger that `concurrency="skip"` ignores is acknowledged as ok, with
  `skipped: true` and a message saying why (a browser reads `ok` as before).

Through real sockets, on both managers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import engine as rx
from engine.testing import TabClient

pytestmark = pytest.mark.redis

_gates: dict[tuple[str, Any], asyncio.Event] = {}


def gate(token: str, name: Any) -> asyncio.Event:
    return _gates.setdefault((token, name), asyncio.Event())


class LinkedTotalState(rx.State):
    total: int = 0
    clicks: int = 0

    def click(self):
        self.clicks += 1


class LinkedTaskState(rx.State):
    log: list[str] = []

    @rx.event(background=True)
    async def add_through_the_other_state(self):
        async with self:
            other = await self.get_state(LinkedTotalState)
            other.total += 1
        try:
            other.total += 100  # the block has ended: refused
        except rx.ImmutableStateError:
            async with self:
                self.log.append("refused after the block")
        assert isinstance(other, LinkedTotalState)
        async with other:  # the tab's lock again
            other.total += 10
            self.log.append("self is live inside it")
            gate(self.get_token(), "reached").set()
            await gate(self.get_token(), "inside").wait()
        async with self:
            other.total += 1000  # live again inside any block of the task
        async with self:
            self.log.append(f"read after: {other.total}")

    @rx.event(background=True)
    async def fail_inside_the_other_state(self):
        async with self:
            other = await self.get_state(LinkedTotalState)
        try:
            async with other:
                other.total = -1
                raise ValueError("rolled back")
        except ValueError:
            pass
        try:
            async with self:
                async with other:  # one lock per tab: nesting is refused at once, not a deadlock
                    pass
        except rx.NestedBlockError:
            async with self:
                self.log.append("nested refused")


async def test_a_state_from_get_state_can_be_entered_and_takes_the_tabs_lock(make_app):
    app = make_app()
    async with TabClient(app, states=[LinkedTotalState, LinkedTaskState]) as tab:
        assert (await tab.send(LinkedTaskState.add_through_the_other_state))["ok"]
        await asyncio.wait_for(gate(tab.token, "reached").wait(), 5)
        click = asyncio.ensure_future(tab.send(LinkedTotalState.click))
        await asyncio.sleep(0.3)
        assert not click.done()  # the click waits: the task holds the tab's lock inside `async with other`
        gate(tab.token, "inside").set()
        assert (await click)["ok"]
        await tab.settle(timeout=5)
        assert tab.task(LinkedTaskState.add_through_the_other_state)["status"] == "done", tab.errors
        assert tab.state(LinkedTotalState) == {"total": 1011, "clicks": 1}
        assert tab.state(LinkedTaskState)["log"] == [
            "refused after the block", "self is live inside it", "read after: 1011",
        ]


async def test_an_error_inside_the_other_states_block_rolls_it_back_and_nesting_is_refused(make_app):
    app = make_app()
    async with TabClient(app, states=[LinkedTotalState, LinkedTaskState]) as tab:
        assert (await tab.send(LinkedTaskState.fail_inside_the_other_state))["ok"]
        await tab.settle(timeout=5)
        assert tab.task(LinkedTaskState.fail_inside_the_other_state)["status"] == "done", tab.errors
        assert tab.state(LinkedTotalState)["total"] == 0
        assert tab.state(LinkedTaskState)["log"] == ["nested refused"]
        assert (await tab.send(LinkedTotalState.click))["ok"]  # the lock was released


class SkipAckState(rx.State):
    runs: int = 0

    @rx.event(background=True, concurrency="skip")
    async def job(self):
        async with self:
            self.runs += 1
        await gate(self.get_token(), "job").wait()


async def test_a_skipped_trigger_is_acknowledged_as_skipped(make_app):
    app = make_app()
    async with TabClient(app, states=[SkipAckState]) as tab:
        first = await tab.send(SkipAckState.job)
        assert first == {"ok": True}
        second = await tab.send(SkipAckState.job)
        assert second == {
            "ok": True,
            "skipped": True,
            "message": 'SkipAckState.job was skipped: a copy of it already runs for this tab (concurrency="skip")',
        }
        assert tab.errors == []  # skipping is not an error
        gate(tab.token, "job").set()
        await tab.settle(timeout=5)
        assert tab.state(SkipAckState)["runs"] == 1
        assert await tab.send(SkipAckState.job) == {"ok": True}  # nothing runs now: this one starts
        await tab.settle(timeout=5)
        assert tab.state(SkipAckState)["runs"] == 2
