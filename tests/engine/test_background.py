"""Background tasks: decorators, direct calls, start, lifecycle, duplicates, counts."""

from __future__ import annotations

import asyncio
import logging

import pytest

import engine as rx
from engine.testing import TabClient
from tests.engine.gates import gate
from tests.engine.server_side import server_values, tasks_finished
from tests.support.polling import eventually


class SpecBackgroundState(rx.State):
    runs: int = 0
    value: int = 0
    log: list[str] = []

    @rx.event(background=True)
    async def new_style(self):
        async with self:
            self.runs += 1
            self.log.append("new")

    @rx.background
    async def old_style(self):
        async with self:
            self.runs += 1
            self.log.append("old")

    @rx.event(background=True)
    async def generator_style(self):
        async with self:
            self.log.append("gen-1")
        yield
        async with self:
            self.log.append("gen-2")

    @rx.event(background=True)
    async def wait_then_count(self):
        await gate(self.get_token(), "bg").wait_here()
        async with self:
            self.runs += 1

    @rx.event(background=True)
    async def wait_then_fail(self):
        await gate(self.get_token(), "fail").wait_here()
        raise ValueError("boom in the background")

    def call_directly(self):
        self.value = 1
        self.new_style()

    @rx.event(background=True)
    async def call_directly_from_a_task(self):
        self.new_style()

    def start_by_return(self):
        self.log.append("regular")
        return SpecBackgroundState.new_style

    def start_by_yield(self):
        self.log.append("regular")
        yield SpecBackgroundState.new_style
        self.log.append("after-yield")

    @rx.event(background=True)
    async def chain_from_a_task(self):
        async with self:
            self.log.append("task")
        yield SpecBackgroundState.note("chained")
        yield SpecBackgroundState.old_style

    def note(self, word: str):
        self.log.append(word)


# -- declaring ------------------------------------------------------------------------------------


def test_both_decorators_mark_a_background_handler():
    assert SpecBackgroundState.new_style.background is True
    assert SpecBackgroundState.old_style.background is True
    assert SpecBackgroundState.generator_style.background is True
    assert SpecBackgroundState.note.background is False


@pytest.mark.parametrize("decorator", [rx.background, rx.event(background=True)], ids=["background", "event"])
def test_a_sync_background_handler_is_refused_when_the_class_is_created(decorator):
    with pytest.raises(TypeError, match=r"SpecSyncBackgroundState\.tick must be `async def`"):

        class SpecSyncBackgroundState(rx.State):
            @decorator
            def tick(self):
                pass

    with pytest.raises(TypeError, match="async def"):

        class SpecSyncGeneratorBackgroundState(rx.State):
            @decorator
            def tick(self):
                yield

    with pytest.raises(rx.UnknownStateError):
        rx.State.find_class("state.spec_sync_background_state")


@pytest.mark.parametrize(
    "handler", [SpecBackgroundState.new_style, SpecBackgroundState.old_style], ids=["event", "background"]
)
async def test_a_background_task_started_by_either_decorator_runs(app, handler):
    async with TabClient(app) as tab:
        assert await tab.send(handler) == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecBackgroundState)["runs"] == 1)


async def test_an_async_generator_background_task_runs(app):
    async with TabClient(app) as tab:
        await tab.send(SpecBackgroundState.generator_style)
        await tab.wait_for(lambda t: t.state(SpecBackgroundState)["log"] == ["gen-1", "gen-2"])


# -- calling directly -----------------------------------------------------------------------------


async def test_calling_a_background_task_from_a_handler_raises_background_call_error(app):
    async with TabClient(app) as tab:
        ack = await tab.send(SpecBackgroundState.call_directly)

        assert ack["ok"] is False
        assert "SpecBackgroundState.new_style" in ack["error"]
        assert "`return SpecBackgroundState.new_style`" in ack["error"]
        assert "`yield SpecBackgroundState.new_style`" in ack["error"]
        assert await server_values(app, tab.token, SpecBackgroundState) == {"runs": 0, "value": 0, "log": []}


async def test_calling_a_background_task_on_a_state_raises_background_call_error(app):
    async with app.modify_state("spec-direct-call-token") as root:
        state = root.get_substate(SpecBackgroundState.get_full_name().split("."))
        with pytest.raises(rx.BackgroundCallError, match=r"cannot be called directly.*return.*yield"):
            await state.new_style()


async def test_calling_a_background_task_from_another_task_reports_background_call_error(app):
    async with TabClient(app) as tab:
        await tab.send(SpecBackgroundState.call_directly_from_a_task)
        await tab.wait_for(lambda t: t.errors)
        assert "cannot be called directly" in tab.errors[0]
        assert "`return SpecBackgroundState.new_style`" in tab.errors[0]
        await eventually(lambda: app.tasks.counts["failed"] == 1, what="the task counted as failed")


@pytest.mark.parametrize(
    ("handler", "log"),
    [
        (SpecBackgroundState.start_by_return, ["regular", "new"]),
        (SpecBackgroundState.start_by_yield, ["regular", "after-yield", "new"]),
    ],
    ids=["return", "yield"],
)
async def test_returning_or_yielding_a_background_task_starts_it(app, handler, log):
    async with TabClient(app) as tab:
        await tab.send(handler)
        await tab.wait_for(lambda t: t.state(SpecBackgroundState)["runs"] == 1)
        # The task starts at once but waits for the lock the handler still holds.
        assert tab.state(SpecBackgroundState)["log"] == log


async def test_a_background_task_may_chain_regular_and_background_handlers(app):
    async with TabClient(app) as tab:
        await tab.send(SpecBackgroundState.chain_from_a_task)
        await tab.wait_for(lambda t: t.state(SpecBackgroundState)["runs"] == 1)
        await tab.wait_for(lambda t: len(t.state(SpecBackgroundState)["log"]) == 3)
        log = tab.state(SpecBackgroundState)["log"]
        assert log[0] == "task"
        assert sorted(log[1:]) == ["chained", "old"]


# -- starting and freeing the tab at once ------------------------------------------------------


async def test_triggering_a_background_task_starts_it_and_frees_the_tab_at_once(app):
    async with TabClient(app) as tab:
        held = gate(tab.token, "bg")
        assert await asyncio.wait_for(tab.send(SpecBackgroundState.wait_then_count), 5) == {"ok": True}
        await held.reached()
        (handle,) = app.tasks.for_tab(tab.token)
        task = handle.task

        # The task is parked mid-run, yet the tab's regular events go through.
        assert await asyncio.wait_for(tab.send(SpecBackgroundState.set_value, 5), 5) == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecBackgroundState)["value"] == 5)
        assert not task.done()

        held.open()
        await tab.wait_for(lambda t: t.state(SpecBackgroundState)["runs"] == 1)


# -- app.background_tasks: from start to return, error or cancel --------------------------------


async def test_a_task_is_in_background_tasks_until_it_returns(app):
    async with TabClient(app) as tab:
        held = gate(tab.token, "bg")
        await tab.send(SpecBackgroundState.wait_then_count)
        (handle,) = app.tasks.for_tab(tab.token)
        task = handle.task
        assert isinstance(task, asyncio.Task)
        assert task in app.background_tasks

        held.open()
        await eventually(lambda: task not in app.background_tasks, what="the task leaving")
        assert task.done() and task.exception() is None
        assert app.tasks.counts["done"] == 1


async def test_a_task_is_in_background_tasks_until_it_fails(app, caplog):
    async with TabClient(app) as tab:
        held = gate(tab.token, "fail")
        await tab.send(SpecBackgroundState.wait_then_fail)
        (handle,) = app.tasks.for_tab(tab.token)
        task = handle.task
        assert task in app.background_tasks

        with caplog.at_level(logging.ERROR, logger="engine"):
            held.open()
            await tab.wait_for(lambda t: t.errors)
            await eventually(lambda: task not in app.background_tasks, what="the task leaving")

        assert tab.errors == ["SpecBackgroundState.wait_then_fail failed: ValueError: boom in the background"]
        assert app.tasks.counts["failed"] == 1
        logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ValueError]
        assert logged and "wait_then_fail" in logged[0].getMessage()


async def test_a_task_is_in_background_tasks_until_it_is_cancelled(app):
    async with TabClient(app) as tab:
        await tab.send(SpecBackgroundState.wait_then_count)
        await gate(tab.token, "bg").reached()
        (handle,) = app.tasks.for_tab(tab.token)
        task = handle.task

        task.cancel()
        await eventually(lambda: task not in app.background_tasks, what="the task leaving")
        assert task.cancelled()
        assert app.tasks.counts["cancelled"] == 1
        assert (await server_values(app, tab.token, SpecBackgroundState))["runs"] == 0


async def test_duplicate_triggers_run_duplicate_tasks(app):
    async with TabClient(app) as tab:
        held = gate(tab.token, "bg")
        for _ in range(3):
            await tab.send(SpecBackgroundState.wait_then_count)
        assert len(app.tasks.for_tab(tab.token)) == 3

        held.open()
        await tab.wait_for(lambda t: t.state(SpecBackgroundState)["runs"] == 3)
        await tasks_finished(app, tab.token)


async def test_task_counts_add_up_to_the_tasks_started(app):
    def balanced() -> bool:
        counts = app.tasks.counts
        ended = counts["done"] + counts["failed"] + counts["cancelled"]
        return counts["started"] == ended + len(app.background_tasks)

    async with TabClient(app) as tab:
        await tab.send(SpecBackgroundState.new_style)
        await tab.send(SpecBackgroundState.wait_then_fail)
        await tab.send(SpecBackgroundState.wait_then_count)
        await tab.send(SpecBackgroundState.wait_then_count)
        assert balanced()
        gate(tab.token, "fail").open()
        await tab.wait_for(lambda t: t.errors and t.state(SpecBackgroundState)["runs"] == 1)
        await eventually(lambda: len(app.background_tasks) == 2, what="one task returning, one failing")
        assert balanced()
        next(iter(app.background_tasks)).cancel()
        await eventually(lambda: len(app.background_tasks) == 1, what="a task being cancelled")
        assert balanced()

        gate(tab.token, "bg").open()
        await tasks_finished(app, tab.token)
        counts = app.tasks.counts
        assert (counts["started"], counts["done"], counts["failed"], counts["cancelled"]) == (4, 2, 1, 1)
        assert balanced()
