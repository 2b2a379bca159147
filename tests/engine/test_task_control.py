"""Task control: the status a page can bind, cancel, progress, and a concurrency policy per task."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import engine as rx
from engine.testing import TabClient
from tests.engine.gates import gate
from tests.engine.server_side import server_values, tasks_finished
from tests.support.polling import eventually
from tests.support.tabs import RecordingTab

_runs: dict[str, list[Any]] = {}  # per tab: what the tasks noted, in order
_finally: dict[str, int] = {}


def _note(token: str, item: Any) -> None:
    _runs.setdefault(token, []).append(item)


class JobState(rx.State):
    rows: list[int] = []
    value: int = 0

    @rx.event(background=True)
    async def slow_job(self, pages: int):
        token = self.get_token()
        try:
            for page in range(pages):
                await gate(token, f"page{page}").wait_here()
                async with self:
                    self.rows.append(page)
                await self.set_progress(page + 1, pages)
        finally:
            _finally[token] = _finally.get(token, 0) + 1

    @rx.event(background=True)
    async def fail_half_way(self):
        await self.set_progress(1, 2)
        raise RuntimeError("the upstream service said no")

    @rx.event(background=True)
    async def fail_when_told(self):
        await self.set_progress(1, 2)
        await gate(self.get_token(), "fail").wait_here()
        raise ValueError("told to")

    @rx.event(background=True)
    async def progress_inside_a_block(self):
        async with self:
            self.value = 1
            await self.set_progress(3, 4)

    @rx.event(background=True)
    async def bad_progress(self, done: float, total: float):
        await self.set_progress(done, total)

    @rx.event(background=True)
    async def hold_inside_a_block(self):
        token = self.get_token()
        try:
            async with self:
                self.value = 99
                await gate(token, "inside").wait_here()
        finally:
            _finally[token] = _finally.get(token, 0) + 1

    def start_and_cancel(self):
        return [JobState.slow_job(5), JobState.slow_job.cancel]

    def cancel_from_a_handler(self):
        return JobState.slow_job.cancel

    def bump(self):
        self.value += 1


class PolicyState(rx.State):
    active: int = 0
    most: int = 0
    results: list[str] = []

    async def _work(self, label: str, steps: int):
        async with self:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            for _ in range(steps):
                await asyncio.sleep(0.01)
            async with self:
                self.results.append(label)
        finally:
            async with self:
                self.active -= 1

    @rx.event(background=True, concurrency="skip")
    async def skipping(self, label: str):
        await self._work(label, 10)

    @rx.event(background=True, concurrency="replace")
    async def replacing(self, label: str):
        await self._work(label, 10)

    @rx.event(background=True, concurrency="queue")
    async def queueing(self, label: str):
        await self._work(label, 2)

    @rx.event(background=True)
    async def parallel(self, label: str):
        await self._work(label, 10)


class DetachedState(rx.State):
    ended: int = 0

    @rx.event(background=True, lifetime="detached")
    async def outlive(self):
        await asyncio.sleep(0.6)
        async with self:
            self.ended += 1

    @rx.event(background=True)
    async def die_with_the_tab(self):
        await asyncio.sleep(0.6)
        async with self:
            self.ended += 1


def _status(tab: TabClient, handler: Any) -> dict[str, Any]:
    return tab.task(handler)


# -- status, running, progress, error --------------------------------------------------------------


async def test_status_goes_idle_running_done_with_progress(app):
    async with TabClient(app, states=[JobState]) as tab:
        assert _status(tab, JobState.slow_job) == {"status": "idle", "running": False, "progress": None, "error": ""}
        await tab.send(JobState.slow_job, 2)
        await tab.wait_for(lambda t: t.task(JobState.slow_job)["running"])
        assert _status(tab, JobState.slow_job)["status"] == "running"
        gate(tab.token, "page0").open()
        await tab.wait_for(lambda t: t.task(JobState.slow_job)["progress"] == 0.5)
        gate(tab.token, "page1").open()
        await tab.settle(timeout=5)
        assert _status(tab, JobState.slow_job) == {"status": "done", "running": False, "progress": 1.0, "error": ""}
        assert tab.state(JobState)["rows"] == [0, 1]


async def test_a_failed_task_shows_its_error_and_a_new_run_clears_it(app):
    async with TabClient(app, states=[JobState]) as tab:
        await tab.send(JobState.fail_half_way)
        await tab.wait_for(lambda t: t.task(JobState.fail_half_way)["status"] == "failed")
        status = _status(tab, JobState.fail_half_way)
        assert status["error"] == "JobState.fail_half_way failed: RuntimeError: the upstream service said no"
        assert (status["running"], status["progress"]) == (False, 0.5)
        await tab.send(JobState.slow_job, 1)  # another handler's status is its own
        assert _status(tab, JobState.fail_half_way)["status"] == "failed"
        gate(tab.token, "page0").open()
        await tab.settle()


async def test_a_new_run_clears_the_error_and_the_progress(app):
    async with RecordingTab(app, states=[JobState]) as tab:
        await tab.send(JobState.fail_half_way)
        await tab.wait_for(lambda t: t.task(JobState.fail_half_way)["status"] == "failed")
        gate(tab.token, "fail").open()
        await tab.send(JobState.fail_when_told)
        await tab.wait_for(lambda t: t.task(JobState.fail_when_told)["status"] == "failed")
        failed = gate(tab.token, "fail")
        failed.entered.clear()
        failed.opened.clear()
        before = len(tab.updates)
        await tab.send(JobState.fail_when_told)  # answered once it runs: its status is already fresh
        await failed.reached()
        admitted = tab.updates[before]["delta"][JobState.get_full_name()]
        assert {key: admitted[key] for key in ("fail_when_told@status", "fail_when_told@progress",
                                                "fail_when_told@error")} == {
            "fail_when_told@status": "running", "fail_when_told@progress": None, "fail_when_told@error": ""
        }
        # The handler reached its gate after set_progress committed and sent 0.5; wait until the tab has it.
        await tab.wait_for(lambda t: _status(t, JobState.fail_when_told)["progress"] == 0.5)
        failed.open()
        await tab.wait_for(lambda t: t.task(JobState.fail_when_told)["status"] == "failed")
        assert _status(tab, JobState.fail_when_told)["error"] == "JobState.fail_when_told failed: ValueError: told to"


async def test_progress_can_be_reported_inside_a_block_and_bad_progress_is_refused(app):
    async with TabClient(app, states=[JobState]) as tab:
        await tab.send(JobState.progress_inside_a_block)
        await tab.wait_for(lambda t: t.task(JobState.progress_inside_a_block)["status"] == "done")
        assert (_status(tab, JobState.progress_inside_a_block)["progress"], tab.state(JobState)["value"]) == (0.75, 1)
        for done, total, what in [(1, 0, "total must be more than 0"), (-1, 3, "must not be negative")]:
            await tab.send(JobState.bad_progress, done, total)
            await tab.wait_for(lambda t, w=what: w in t.task(JobState.bad_progress)["error"])
            assert _status(tab, JobState.bad_progress)["progress"] is None  # nothing stored


async def test_status_survives_a_reload(app):
    async with TabClient(app, states=[JobState]) as tab:
        await tab.send(JobState.fail_half_way)
        await tab.wait_for(lambda t: t.task(JobState.fail_half_way)["status"] == "failed")
        ticket = tab.ticket
    async with TabClient(app, states=[JobState], ticket=ticket) as back:
        assert _status(back, JobState.fail_half_way)["status"] == "failed"
        assert "upstream" in _status(back, JobState.fail_half_way)["error"]


# -- cancel ----------------------------------------------------------------------------------------


async def test_cancel_is_an_event_that_ends_every_copy_with_status_cancelled(app):
    async with TabClient(app, states=[JobState]) as tab:
        await tab.send(JobState.slow_job, 3)
        await tab.send(JobState.slow_job, 3)
        await tab.wait_for(lambda t: t.task(JobState.slow_job)["running"])
        assert await tab.send(JobState.slow_job.cancel) == {"ok": True}
        await tab.settle(timeout=5)
        assert _status(tab, JobState.slow_job)["status"] == "cancelled"
        assert _finally[tab.token] == 2  # each copy's finally ran
        # (the registry counts a task when its asyncio task is done: a moment after the tab is told)
        await eventually(lambda: app.tasks.counts["cancelled"] == 2, what=f"2 cancelled in {app.tasks.counts}")


async def test_cancel_inside_a_block_does_not_wait_for_the_lock_rolls_back_and_frees_it(app):
    async with TabClient(app, states=[JobState]) as tab:
        await tab.send(JobState.hold_inside_a_block)
        await gate(tab.token, "inside").reached()
        assert await asyncio.wait_for(tab.send(JobState.hold_inside_a_block.cancel), 2) == {"ok": True}
        await tab.settle(timeout=5)
        assert _status(tab, JobState.hold_inside_a_block)["status"] == "cancelled"
        assert (await server_values(app, tab.token, JobState))["value"] == 0  # the open block was rolled back
        assert await asyncio.wait_for(tab.send(JobState.bump), 2) == {"ok": True}  # the lock is free
        assert _finally[tab.token] == 1


async def test_cancel_returned_from_a_handler_or_chained_after_a_start(app):
    async with TabClient(app, states=[JobState]) as tab:
        await tab.send(JobState.slow_job, 4)
        await tab.wait_for(lambda t: t.task(JobState.slow_job)["running"])
        await tab.send(JobState.cancel_from_a_handler)
        await tab.settle(timeout=5)
        assert _status(tab, JobState.slow_job)["status"] == "cancelled"
        await tab.send(JobState.start_and_cancel)
        await tab.settle(timeout=5)
        assert _status(tab, JobState.slow_job)["status"] == "cancelled"


async def test_cancel_touches_only_its_own_tab(app):
    async with TabClient(app, states=[JobState]) as mine, TabClient(app, states=[JobState]) as other:
        await mine.send(JobState.slow_job, 2)
        await other.send(JobState.slow_job, 2)
        await other.wait_for(lambda t: t.task(JobState.slow_job)["running"])
        await mine.send(JobState.slow_job.cancel)
        await mine.settle(timeout=5)
        assert _status(other, JobState.slow_job)["running"] is True
        gate(other.token, "page0").open()
        gate(other.token, "page1").open()
        await other.settle(timeout=5)
        assert _status(other, JobState.slow_job)["status"] == "done"


# -- policies ----------------------------------------------------------------------------------------


async def test_skip_ignores_a_trigger_while_a_copy_runs_and_runs_again_once_it_ended(app):
    async with TabClient(app, states=[PolicyState]) as tab:
        for label in ("a", "b", "c"):
            await tab.send(PolicyState.skipping, label)
        await tab.settle(timeout=5)
        await tasks_finished(app, tab.token)
        assert tab.state(PolicyState)["results"] == ["a"]
        await tab.send(PolicyState.skipping, "d")
        await tab.settle(timeout=5)
        await tab.wait_for(lambda t: t.state(PolicyState)["results"] == ["a", "d"])
        assert tab.state(PolicyState)["most"] == 1


async def test_replace_cancels_the_running_copy_first_so_two_never_overlap_and_the_latest_wins(app):
    async with TabClient(app, states=[PolicyState]) as tab:
        for label in ("s", "se", "sea", "sear", "search"):
            await tab.send(PolicyState.replacing, label)
            await asyncio.sleep(0.005)
        await tab.settle(timeout=5)
        await tasks_finished(app, tab.token)
        await tab.wait_for(lambda t: t.state(PolicyState)["results"] == ["search"])
        assert tab.state(PolicyState)["most"] == 1
        assert _status(tab, PolicyState.replacing)["status"] == "done"
        assert app.tasks.counts["cancelled"] >= 1


async def test_queue_runs_triggers_one_after_another_in_order(app):
    async with TabClient(app, states=[PolicyState]) as tab:
        labels = [f"q{i}" for i in range(6)]
        for label in labels:
            await tab.send(PolicyState.queueing, label)
        await tasks_finished(app, tab.token, timeout=10)
        await tab.wait_for(lambda t: t.state(PolicyState)["results"] == labels, timeout=5)
        assert tab.state(PolicyState)["most"] == 1


async def test_parallel_is_the_default_and_runs_copies_side_by_side(app):
    async with TabClient(app, states=[PolicyState]) as tab:
        assert PolicyState.parallel.concurrency == "parallel"
        for label in ("x", "y"):
            await tab.send(PolicyState.parallel, label)
        await tasks_finished(app, tab.token, timeout=10)
        await tab.wait_for(lambda t: sorted(t.state(PolicyState)["results"]) == ["x", "y"])
        assert tab.state(PolicyState)["most"] == 2


# -- lifetime ------------------------------------------------------------------------------------------


async def test_a_detached_task_outlives_its_tab_and_a_tab_task_does_not(request, manager_kind):
    redis_url = request.getfixturevalue("redis_server").url if manager_kind == "redis" else None
    app = rx.App(redis_url=redis_url, tab_grace=0.1) if redis_url else rx.App(tab_grace=0.1)
    try:
        async with TabClient(app, states=[DetachedState]) as tab:
            await tab.send(DetachedState.outlive)
            await tab.send(DetachedState.die_with_the_tab)
            token = tab.token
        await tasks_finished(app, token, timeout=5)
        assert (await server_values(app, token, DetachedState))["ended"] == 1
        assert (app.tasks.counts["done"], app.tasks.counts["cancelled"]) == (1, 1)
    finally:
        await app.shutdown(timeout=2)


# -- bad declarations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options,message",
    [
        ({"background": True, "concurrency": "sometimes"}, "concurrency='sometimes' is not a policy"),
        ({"background": True, "lifetime": "forever"}, "lifetime='forever' is not a lifetime"),
        ({"concurrency": "skip"}, "concurrency= apply to background handlers only"),
        ({"lifetime": "detached"}, "lifetime= apply to background handlers only"),
    ],
)
def test_a_bad_policy_or_lifetime_is_refused_when_the_class_is_created(options, message):
    with pytest.raises(rx.StateDefinitionError, match=message):

        class BadPolicyState(rx.State):
            @rx.event(**options)
            async def work(self):
                pass


def test_only_background_handlers_have_a_status():
    with pytest.raises(AttributeError, match="not a background handler"):
        _ = JobState.bump.status
    assert JobState.slow_job.running.path == "state.job_state.slow_job@running"


async def test_settle_says_which_tasks_still_run(app):
    async with TabClient(app, states=[JobState]) as tab:
        await tab.send(JobState.slow_job, 1)
        with pytest.raises(TimeoutError, match=r"still running after 0.2s: state\.job_state\.slow_job"):
            await tab.settle(timeout=0.2)
        await tab.send(JobState.slow_job.cancel)
        await tab.settle(timeout=5)


async def test_a_failing_tasks_error_names_the_event_that_started_it(app):
    async with TabClient(app, states=[JobState]) as tab:
        seen: list[dict[str, Any]] = []
        assert tab._sio is not None
        tab._sio.on("error", lambda data: seen.append(data), namespace="/engine")
        ack = await tab.send_raw({"id": "click-17", "name": JobState.fail_half_way.full_name, "args": []})
        assert ack == {"ok": True}
        await tab.wait_for(lambda t: t.task(JobState.fail_half_way)["status"] == "failed")
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert seen and seen[0]["event"] == "click-17"  # the page shows it in the box that was clicked
