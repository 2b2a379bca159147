"""The demos' own work is supervised: counted, bounded, coalesced, cancelled with its tab."""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

import engine as rx
from demos.low_level import LowLevelState
from engine.testing import TabClient, serve
from tests.support.env import load

QUOTE = "Hold the lock for the change, not for the wait."


@pytest.fixture
async def quotes() -> AsyncIterator[list[int]]:
    """A quotes endpoint of our own (0.2 s per answer), at DEMO_QUOTE_URL; yields how many it served."""
    served = [0]

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0.2)
        served[0] += 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": QUOTE.encode()})

    async with serve(endpoint) as url:
        previous = os.environ.get("DEMO_QUOTE_URL")
        os.environ["DEMO_QUOTE_URL"] = f"{url}/api/quote"
        try:
            yield served
        finally:
            if previous is None:
                os.environ.pop("DEMO_QUOTE_URL", None)
            else:
                os.environ["DEMO_QUOTE_URL"] = previous


@pytest.mark.load
async def test_clicking_fetch_as_fast_as_allowed_runs_one_supervised_fetch_at_a_time(make_app, quotes):
    app = make_app()
    async with TabClient(app, states=[LowLevelState]) as tab:
        most = 0
        clicks = load(40)
        for _ in range(clicks):  # 40 clicks in about a second (in CI): under the rate limit
            assert (await tab.send(LowLevelState.fetch_data))["ok"]
            most = max(most, len(app.tasks.for_tab(tab.token)))
            await asyncio.sleep(0.02)
        await tab.wait_for(lambda t: not t.state(LowLevelState)["loading"], timeout=5)
        assert most == 1  # each fetch is a task the engine holds and counts; clicks meanwhile are coalesced
        assert tab.state(LowLevelState)["result"] == QUOTE
        assert 1 < quotes[0] <= clicks * 0.02 / 0.2 + 4  # about one fetch per 0.2 s, not one per click
        assert app.tasks.counts["started"] == app.tasks.counts["done"] == quotes[0]


async def test_a_created_task_counts_against_the_limits_and_a_refused_one_never_runs(make_app):
    app = make_app(max_tasks_per_tab=2)
    ran: list[str] = []

    async def work(label: str) -> None:
        ran.append(label)
        await asyncio.sleep(0.3)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a refused coroutine must be closed, not left "never awaited"
        first = app.create_task("tab-limits", work("a"))
        second = app.create_task("tab-limits", work("b"))
        with pytest.raises(rx.LimitExceededError, match="setting max_tasks_per_tab=2"):
            app.create_task("tab-limits", work("c"))
        await asyncio.wait([first.task, second.task])
    assert sorted(ran) == ["a", "b"] and first.done() and second.done()
    assert app.create_task("tab-limits", work("d")) is not None  # room again


async def test_a_created_task_ends_with_its_tab_and_its_failure_reaches_the_tab(make_app):
    app = make_app(tab_grace=0.1)
    cleaned: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.append("finally ran")

    async def fails() -> None:
        raise ConnectionError("the quotes service hung up")

    async with TabClient(app, states=[LowLevelState]) as tab:
        handle = app.create_task(tab.token, forever(), name="fetch forever")
        app.create_task(tab.token, fails())
        await tab.wait_for(lambda t: bool(t.errors))
        assert tab.errors == ["ConnectionError: the quotes service hung up"]
    await asyncio.wait([handle.task], timeout=5)
    assert handle.cancelled() and cleaned == ["finally ran"]
