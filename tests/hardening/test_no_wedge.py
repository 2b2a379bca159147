"""No mistake keeps a tab's lock, and no task loops for ever.

Each test makes the mistake a new user makes, through a real socket, on both
managers, then checks that the tab still answers: its lock was released, the
open block was rolled back, the task ended with an error that says what to do.
`lock_timeout` is short so that a lock kept by mistake shows as a refused
event within a second instead of half a minute.
"""

from __future__ import annotations

import asyncio

import pytest

import engine as rx
from engine.testing import TabClient

pytestmark = pytest.mark.redis

LOCK_TIMEOUT = 1.0


class WedgeState(rx.State):
    n: int = 0
    caught: str = ""
    notes: list[int] = []

    def bump(self):
        self.n += 1

    def note(self, i: int):
        self.notes.append(i)

    @rx.event(background=True)
    async def yield_a_number_inside_a_block(self):
        async with self:
            self.n = 5  # rolled back with the block
            yield 42

    @rx.event(background=True)
    async def catch_the_refusal_at_the_yield(self):
        async with self:
            try:
                yield 42
            except TypeError as refusal:
                self.caught = str(refusal)[:40]
            self.n = 7

    @rx.event(background=True)
    async def flood_the_queue_inside_a_block(self, count: int):
        async with self:
            self.n = 5  # rolled back with the block
            for i in range(count):
                yield WedgeState.note(i)

    @rx.event(background=True)
    async def yield_after_the_block_as_the_message_says(self, count: int):
        sent = 0
        async with self:
            try:
                for i in range(count):
                    yield WedgeState.note(i)
                    sent += 1
            except rx.LimitExceededError as refusal:
                self.caught = "after the block" if "after the block ends" in str(refusal) else str(refusal)
        for i in range(sent, count):  # outside the block, a yield waits for room
            yield WedgeState.note(i)


async def tab_still_answers(tab: TabClient) -> None:
    """The tab's lock is free: a click runs at once (a kept lock refuses it after LOCK_TIMEOUT)."""
    before = tab.state(WedgeState)["n"]
    ack = await tab.send(WedgeState.bump, timeout=LOCK_TIMEOUT * 5)
    assert ack == {"ok": True}, ack
    await tab.wait_for(lambda t: t.state(WedgeState)["n"] == before + 1)


# -- a refused yield inside a block ---------------------------------------------------------------
async def test_a_refused_yield_inside_a_block_rolls_the_block_back_and_frees_the_lock(make_app):
    app = make_app(lock_timeout=LOCK_TIMEOUT)
    job = WedgeState.yield_a_number_inside_a_block
    async with TabClient(app, states=[WedgeState]) as tab:
        assert (await tab.send(job))["ok"]
        await tab.settle(timeout=5)  # the status does not stay "running"
        assert tab.task(job)["status"] == "failed"
        assert "yielded 42" in tab.task(job)["error"]
        assert any("yielded 42" in error for error in tab.errors)
        assert tab.state(WedgeState)["n"] == 0  # the block's change was rolled back
        await tab_still_answers(tab)
        assert tab.state(WedgeState)["n"] == 1
        assert not app.tasks.for_tab(tab.token)


async def test_the_task_may_catch_a_refused_yield_where_it_yielded(make_app):
    app = make_app(lock_timeout=LOCK_TIMEOUT)
    job = WedgeState.catch_the_refusal_at_the_yield
    async with TabClient(app, states=[WedgeState]) as tab:
        assert (await tab.send(job))["ok"]
        await tab.settle(timeout=5)
        assert tab.task(job)["status"] == "done", tab.task(job)
        assert tab.state(WedgeState)["caught"].startswith("WedgeState.catch_the_refusal_at_the_yie")
        assert tab.state(WedgeState)["n"] == 7  # the block went on and committed
        await tab_still_answers(tab)


# -- a yield inside a block that would wait for room in the tab's queue -------------------------------
async def test_a_yield_inside_a_block_that_finds_the_queue_full_is_refused_and_the_lock_freed(make_app):
    app = make_app(lock_timeout=LOCK_TIMEOUT, max_queued_events=3)
    job = WedgeState.flood_the_queue_inside_a_block
    async with TabClient(app, states=[WedgeState]) as tab:
        assert (await tab.send(job, 10))["ok"]
        await tab.settle(timeout=5)
        error = tab.task(job)["error"]
        assert tab.task(job)["status"] == "failed"
        assert "inside `async with self`" in error and "max_queued_events=3" in error, error
        assert "Yield events after the block ends" in error
        # The events queued before the refusal run once the block has let go of the lock.
        await tab.wait_for(lambda t: t.state(WedgeState)["notes"] == [0, 1, 2], timeout=5)
        assert tab.state(WedgeState)["n"] == 0  # the block itself was rolled back
        await tab_still_answers(tab)


async def test_yielding_after_the_block_as_the_refusal_says_delivers_every_event(make_app):
    app = make_app(lock_timeout=LOCK_TIMEOUT, max_queued_events=3)
    job = WedgeState.yield_after_the_block_as_the_message_says
    async with TabClient(app, states=[WedgeState]) as tab:
        assert (await tab.send(job, 20))["ok"]
        await tab.wait_for(lambda t: t.state(WedgeState)["notes"] == list(range(20)), timeout=10)
        await tab.settle(timeout=5)
        assert tab.task(job)["status"] == "done", tab.task(job)
        assert tab.state(WedgeState)["caught"] == "after the block"
        await tab_still_answers(tab)


# -- a task that starts itself again ---------------------------------------------------------------
class WedgeLoopState(rx.State):
    generations: int = 0
    caught: str = ""

    @rx.event(background=True)
    async def return_itself(self):
        async with self:
            self.generations += 1
        return WedgeLoopState.return_itself

    @rx.event(background=True)
    async def yield_itself(self):
        async with self:
            self.generations += 1
        try:
            yield WedgeLoopState.yield_itself
        except rx.LimitExceededError as refusal:  # refused at the yield: the task may say so itself
            async with self:
                self.caught = str(refusal)

    @rx.event(background=True)
    async def through_a_regular_event(self):
        async with self:
            self.generations += 1
        yield WedgeLoopState.hop

    def hop(self):
        return WedgeLoopState.through_a_regular_event


async def test_a_task_that_returns_itself_is_stopped_after_max_chain_length_generations(make_app):
    app = make_app(max_chain_length=5)
    job = WedgeLoopState.return_itself
    async with TabClient(app, states=[WedgeLoopState]) as tab:
        assert (await tab.send(job))["ok"]
        await tab.settle(timeout=5)
        await asyncio.sleep(0.2)  # a sixth copy, if there were one, would have counted by now
        assert tab.state(WedgeLoopState)["generations"] == 5
        assert tab.task(job)["status"] == "failed"  # the fifth could not start a sixth
        error = tab.task(job)["error"]
        assert "setting max_chain_length=5" in error and "loop inside the task" in error, error
        assert any("max_chain_length=5" in message for message in tab.errors)
        assert not app.tasks.for_tab(tab.token)


async def test_a_task_started_again_through_a_regular_event_is_stopped_as_well(make_app):
    app = make_app(max_chain_length=5)
    job = WedgeLoopState.through_a_regular_event
    async with TabClient(app, states=[WedgeLoopState]) as tab:
        assert (await tab.send(job))["ok"]
        await tab.wait_for(lambda t: any("max_chain_length=5" in message for message in t.errors), timeout=5)
        await tab.settle(timeout=5)
        await asyncio.sleep(0.2)
        assert tab.state(WedgeLoopState)["generations"] == 5
        # The fifth task ended well; the regular event it yielded is what was refused, and the tab told.
        assert tab.task(job)["status"] == "done"
        assert any("WedgeLoopState.through_a_regular_event was started by a chain" in m for m in tab.errors)
        assert not app.tasks.for_tab(tab.token)


async def test_a_task_that_yields_itself_is_stopped_at_its_yield_and_may_catch_it(make_app):
    app = make_app(max_chain_length=5)
    job = WedgeLoopState.yield_itself
    async with TabClient(app, states=[WedgeLoopState]) as tab:
        assert (await tab.send(job))["ok"]
        await tab.settle(timeout=5)
        await asyncio.sleep(0.2)
        assert tab.state(WedgeLoopState)["generations"] == 5
        assert "setting max_chain_length=5" in tab.state(WedgeLoopState)["caught"]
        assert tab.task(job)["status"] == "done"  # it caught the refusal and ended on its own terms
        assert not app.tasks.for_tab(tab.token)
