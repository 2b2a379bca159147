"""The connection status, and reconnecting by itself after the server restarts on the same port.

A module of its own, so its server (which it stops and starts) is its alone.
"""

from __future__ import annotations

import asyncio

import pytest
from browser_support import BACKGROUND_TASKS_PAGE, CounterBox, DocServer, FetchBox
from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_the_box_goes_live_and_reconnects_after_a_server_restart(page: Page, server: DocServer) -> None:
    counter, fetch = CounterBox(page), FetchBox(page)
    await page.goto(server.url + BACKGROUND_TASKS_PAGE)
    await expect(counter.status).to_have_text("live")
    await expect(fetch.status).to_have_text("live")
    await expect(counter.box).to_have_attribute("data-state", "live")

    await asyncio.to_thread(server.stop)
    await expect(counter.status).not_to_have_text("live")
    await asyncio.to_thread(server.start)

    # socket.io-client retries with a back-off of at most 5 s.
    await expect(counter.status).to_have_text("live", timeout=15_000)
    await expect(fetch.status).to_have_text("live")
    # The in-memory state went with the old process: the tab starts afresh, and works.
    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.heading).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()

