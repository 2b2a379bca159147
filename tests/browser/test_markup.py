"""A state value holding markup reaches the page as text, both server-rendered and live.

Uses a test-only demo (markup_demo.py) on a bare page (bare_page.demo_page).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.bare_page import demo_page
from tests.browser.markup_demo import FIRST, SECOND

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_markup_in_a_state_value_is_shown_as_text(page: Page, tmp_path: Path) -> None:
    async with demo_page(tmp_path, "tests.browser.markup_demo:markup_example") as url:
        await page.goto(url)
        box = page.locator("[data-rx-demo]")
        text = box.locator("p")
        # Server-rendered, before and after the runtime connects.
        await expect(text).to_have_text(FIRST)
        await expect(box.locator("[data-rx-status]")).to_have_text("live")
        await expect(text).to_have_text(FIRST)

        # A value sent by the server later.
        await box.get_by_role("button", name="Swap").click()
        await expect(text).to_have_text(SECOND)
        assert await page.locator("img, b, p script").count() == 0
        assert await page.evaluate("window.__injected") is None
