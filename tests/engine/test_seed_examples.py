"""The Background tasks page's two examples (the counter and the fetch, in demos/) run and behave as the page says."""

from __future__ import annotations

import asyncio
import inspect

import pytest

import demos.background_tasks
import demos.low_level
from demos.background_tasks import MyTaskState, background_task_example
from demos.low_level import LowLevelState, low_level_example
from engine.testing import serve
from tests.engine.server_side import server_values, tasks_finished
from tests.support.polling import eventually
from tests.support.tabs import RecordingTab

QUOTE = "Keep it logically awesome."


def counter(tab) -> int:
    return tab.state(MyTaskState)["counter"]


def test_the_examples_use_the_engine_as_rx():
    for module in (demos.background_tasks, demos.low_level):
        assert "import engine as rx" in inspect.getsource(module)
    assert MyTaskState.my_task.background is True


def test_the_counter_demos_ui_binds_to_the_states_vars_and_handlers():
    defaults = {"state.my_task_state": {"counter": 0, "max_counter": 10, "running": False}}
    html = background_task_example().render(defaults)
    assert "state.my_task_state.set_max_counter" in html
    assert "state.my_task_state.toggle_running" in html
    assert "state.my_task_state.clear_counter" in html
    assert "Start" in html and "Stop" in html
    html = low_level_example().render({"state.low_level_state": {"result": ""}})
    assert "state.low_level_state.fetch_data" in html


# -- the counter demo -----------------------------------------------------------------------------


async def test_counter_demo_counts_up_to_max_counter_and_stops(app):
    async with RecordingTab(app) as tab:
        await tab.send(MyTaskState.set_max_counter, "3")  # a number input sends text
        await tab.send(MyTaskState.toggle_running)
        await tab.wait_for(lambda t: not t.state(MyTaskState)["running"], timeout=10)

        assert tab.state(MyTaskState) == {"counter": 3, "max_counter": 3, "running": False}
        assert tab.values_of(MyTaskState, "counter") == [1, 2, 3]
        await tasks_finished(app, tab.token)
        assert (await server_values(app, tab.token, MyTaskState))["_n_tasks"] == 0
        assert app.tasks.counts["done"] == 1


async def test_counter_demo_start_stop_start_quickly_still_runs_one_task(app):
    async with RecordingTab(app) as tab:
        await tab.send(MyTaskState.set_max_counter, "3")
        for _ in range(3):  # Start, Stop, Start
            await tab.send(MyTaskState.toggle_running)
        assert app.tasks.counts["started"] == 2

        # One of the two tasks sees the other (`_n_tasks`) and leaves at once.
        await eventually(lambda: len(app.tasks.for_tab(tab.token)) <= 1, what="the duplicate task leaving")
        await tab.wait_for(lambda t: not t.state(MyTaskState)["running"] and counter(t) == 3, timeout=10)
        await tasks_finished(app, tab.token)

        assert tab.values_of(MyTaskState, "counter") == [1, 2, 3]
        assert app.tasks.counts["done"] == 2
        assert (await server_values(app, tab.token, MyTaskState))["_n_tasks"] == 0


async def test_counter_demo_reset_sets_the_counter_back_to_zero(app):
    async with RecordingTab(app) as tab:
        await tab.send(MyTaskState.set_max_counter, "2")
        await tab.send(MyTaskState.toggle_running)
        await tab.wait_for(lambda t: counter(t) == 2 and not t.state(MyTaskState)["running"], timeout=10)

        await tab.send(MyTaskState.clear_counter)
        await tab.wait_for(lambda t: counter(t) == 0)

        # Reset while running: the task keeps counting from zero.
        await tab.send(MyTaskState.set_max_counter, "50")
        await tab.send(MyTaskState.toggle_running)
        await tab.wait_for(lambda t: counter(t) >= 1, timeout=5)
        seen = len(tab.values_of(MyTaskState, "counter"))
        await tab.send(MyTaskState.clear_counter)

        def counting_again_from_zero(t) -> bool:
            values = t.values_of(MyTaskState, "counter")[seen:]
            return 0 in values and 1 in values[values.index(0):]

        await tab.wait_for(counting_again_from_zero, timeout=5)
        await tab.send(MyTaskState.toggle_running)  # Stop
        await tasks_finished(app, tab.token, timeout=5)
        assert tab.state(MyTaskState)["running"] is False
        assert counter(tab) <= 2


async def test_counter_demo_number_input_refuses_text_that_is_not_a_number(app):
    async with RecordingTab(app) as tab:
        ack = await tab.send(MyTaskState.set_max_counter, "ten")
        assert ack["ok"] is False
        assert "MyTaskState.set_max_counter" in ack["error"]
        assert tab.state(MyTaskState)["max_counter"] == 10
        await tab.send(MyTaskState.set_max_counter, "12")
        await tab.wait_for(lambda t: t.state(MyTaskState)["max_counter"] == 12)


# -- the fetch demo (low-level API) ------------------------------------------------------------------


async def _quote_endpoint(scope, receive, send):
    """A tiny local stand-in for the external URL of the reference page."""
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": QUOTE.encode()})


@pytest.fixture
async def quote_url(monkeypatch):
    async with serve(_quote_endpoint) as url:
        monkeypatch.setenv("DEMO_QUOTE_URL", f"{url}/api/quote")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        yield f"{url}/api/quote"


async def test_fetch_demo_result_arrives_from_a_plain_asyncio_task(app, quote_url):
    async with RecordingTab(app) as tab:
        assert await tab.send(LowLevelState.fetch_data) == {"ok": True}
        await tab.wait_for(lambda t: t.state(LowLevelState)["result"] == QUOTE, timeout=10)

        assert tab.values_of(LowLevelState, "result") == [QUOTE]
        await eventually(lambda: not app.tasks.for_tab(tab.token), what="the fetch task ending (the engine holds it)")
        assert (await server_values(app, tab.token, LowLevelState))["result"] == QUOTE


async def test_fetch_demo_tasks_of_two_tabs_update_their_own_tab(app, quote_url):
    async with RecordingTab(app) as first, RecordingTab(app) as second:
        await asyncio.gather(first.send(LowLevelState.fetch_data), second.send(LowLevelState.fetch_data))
        await first.wait_for(lambda t: t.state(LowLevelState)["result"] == QUOTE, timeout=10)
        await second.wait_for(lambda t: t.state(LowLevelState)["result"] == QUOTE, timeout=10)
        assert first.values_of(LowLevelState, "result") == [QUOTE]
        assert second.values_of(LowLevelState, "result") == [QUOTE]
