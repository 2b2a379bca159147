"""The Background tasks page's first box: a handler that waits holds its tab; a task that waits does not.

No timing is measured: the order of the values says it. After "Wait 3 s in
a handler" and a click of "Add one", the click lands only once the wait is
done (waits done is already 1 when clicks becomes 1). After "Wait 3 s in a
task", the click lands while the task still runs (waits done still 1).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.docs_server import DocServer
from tests.browser.pages import open_live

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

STATE = "state.frozen_tab_state"
SNAPSHOT = "name => Object.assign({}, window.engineRuntime.store[name])"


async def test_a_click_waits_for_the_handler_but_not_for_the_task(new_context: Any, server: DocServer) -> None:
    page = await (await new_context()).new_page()
    await open_live(page, server, "/background-tasks/")
    box = page.locator('[data-rx-demo="demos.frozen_tab:frozen_tab_example"]')
    # The first box of the page, and the first thing it says.
    first = await page.locator("[data-rx-demo]").first.get_attribute("data-rx-demo")
    assert first == "demos.frozen_tab:frozen_tab_example"
    await expect(box.get_by_text("Clicks: 0, waits done: 0")).to_be_visible()

    await box.get_by_role("button", name="Wait 3 s in a handler").click()
    await box.get_by_role("button", name="Add one").click()
    await page.wait_for_function(f"() => (window.engineRuntime.store['{STATE}'] || {{}}).clicks === 1", timeout=10_000)
    held = await page.evaluate(SNAPSHOT, STATE)
    assert held["waits_done"] == 1, f"the click ran before the handler's wait ended: {held}"
    await expect(box.get_by_text("Clicks: 1, waits done: 1")).to_be_visible()

    await box.get_by_role("button", name="Wait 3 s in a task").click()
    await expect(box.get_by_text("Task: running")).to_be_visible()
    await box.get_by_role("button", name="Add one").click()
    await page.wait_for_function(f"() => window.engineRuntime.store['{STATE}'].clicks === 2")
    free = await page.evaluate(SNAPSHOT, STATE)
    assert free["waits_done"] == 1, f"the click waited for the task: {free}"
    await expect(box.get_by_text("Task: running")).to_be_visible()
    await expect(box.get_by_text("Clicks: 2, waits done: 2")).to_be_visible(timeout=10_000)
    await expect(box.get_by_text("Task: done")).to_be_visible()
