"""The connection status, offline boxes, and reconnecting by itself after the server restarts on the same port.

A module of its own, so its server (which it stops and starts) is its alone.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page, expect

from tests.browser.docs_server import DocServer
from tests.browser.pages import BACKGROUND_TASKS_PAGE, CounterBox, FetchBox

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_the_box_goes_live_and_reconnects_after_a_server_restart(page: Page, server: DocServer) -> None:
    counter, fetch = CounterBox(page), FetchBox(page)
    await page.goto(server.url + BACKGROUND_TASKS_PAGE)
    await expect(counter.status).to_have_text("live")
    await expect(fetch.status).to_have_text("live")
    await expect(counter.box).to_have_attribute("data-state", "live")

    await asyncio.to_thread(server.stop)
    # Offline: the boxes say so, and nothing in them looks clickable.
    for box in (counter, fetch):
        await expect(box.status).to_have_text("offline")
        await expect(box.box).to_have_attribute("data-state", "offline")
        await expect(box.note).to_have_text("Cannot reach the server; trying again by itself.")
    for control in (counter.limit, counter.start, counter.reset, fetch.button):
        await expect(control).to_be_disabled()
    await asyncio.to_thread(server.start)

    # socket.io-client retries with a back-off of at most 5 s.
    await expect(counter.status).to_have_text("live", timeout=15_000)
    await expect(fetch.status).to_have_text("live")
    for control in (counter.limit, counter.start, counter.reset, fetch.button):
        await expect(control).to_be_enabled()
    # The in-memory state went with the old process: the tab starts afresh, says so, and works.
    for box in (counter, fetch):
        await expect(box.note).to_have_text(
            "The server restarted: this tab's demos start over from their first values."
        )
    await counter.set_limit(2)
    await expect(counter.note).to_be_hidden()  # the reader has acted: the note goes
    await counter.start.click()
    await expect(counter.figure).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()

