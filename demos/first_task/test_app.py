"""The countdown of app.py, tested through a tab and through the page."""

# --8<-- [start:tests]
import pytest
import pytest_asyncio

import engine as rx
from engine.testing import TabClient

from app import CountdownState, web


@pytest_asyncio.fixture
async def app():
    app = rx.App()  # a fresh app (and server) for each test
    yield app
    await app.shutdown(timeout=5)


@pytest.mark.asyncio
async def test_the_countdown_reaches_zero_and_the_task_is_done(app):
    async with TabClient(app) as tab:
        await tab.send(CountdownState.count_down)  # returns once the task has started
        await tab.wait_for(lambda t: t.state(CountdownState)["left"] == 0, timeout=10)
        await tab.settle()
        assert tab.task(CountdownState.count_down)["status"] == "done"
        assert tab.errors == []


@pytest.mark.asyncio
async def test_a_second_click_while_it_runs_starts_nothing(app):
    async with TabClient(app) as tab:
        await tab.send(CountdownState.count_down)
        await tab.send(CountdownState.count_down)  # skipped: a copy runs
        assert len(app.tasks.for_tab(tab.token)) == 1
        await tab.settle()
        assert tab.state(CountdownState)["left"] == 0


@pytest.mark.asyncio
async def test_the_page_shows_the_first_value_before_any_script_runs():
    client = web.test_client()
    response = await client.get("/")
    page = await response.get_data(as_text=True)
    assert "data-rx-demo" in page
    assert '">5</span>' in page and '">idle</span>' in page  # the countdown and its task's status
# --8<-- [end:tests]
