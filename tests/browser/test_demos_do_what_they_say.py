"""Demos do what their text says: an idle progress bar is still, an empty search says so.

An idle bar used to be indeterminate, which the browser animates as if work
were under way (also with scripts off, and offline); the report box now
shows an empty, still bar until its first run. Clearing the search field
used to report `Words starting with "": none`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.docs_server import DocServer
from tests.browser.pages import open_live

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PAGE = "/task-control/"


def report_bar(page: Page) -> Any:
    box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name="Build report"))
    return box.get_by_role("progressbar", name="Report progress")


@pytest.mark.parametrize("scripts", [True, False], ids=["live", "without-javascript"])
async def test_the_idle_report_bar_is_empty_and_still(new_context: Any, server: DocServer, scripts: bool) -> None:
    page = await (await new_context(java_script_enabled=scripts)).new_page()
    if scripts:
        await open_live(page, server, PAGE)
    else:
        await page.goto(server.url + PAGE)
    bar = report_bar(page)
    await expect(bar).to_have_count(1)
    await expect(bar).to_have_attribute("value", re.compile(r"^0(\.0)?$"))
    assert await bar.evaluate("el => el.matches(':indeterminate')") is False


async def test_the_bar_follows_the_run_once_there_is_one(page: Page, server: DocServer) -> None:
    await open_live(page, server, PAGE)
    box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name="Build report"))
    await box.get_by_role("button", name="Build report").click()
    await expect(report_bar(page)).to_have_attribute("value", re.compile(r"^0\.[1-9]\d*$"), timeout=5_000)
    await box.get_by_role("button", name="Cancel").click()
    await expect(box.get_by_text(re.compile(r"^Report: cancelled"))).to_be_visible()
    assert await report_bar(page).evaluate("el => el.matches(':indeterminate')") is False


async def test_clearing_the_search_field_asks_for_a_word(page: Page, server: DocServer) -> None:
    await open_live(page, server, PAGE)
    field = page.get_by_role("searchbox", name="Search words")
    box = page.locator("[data-rx-demo]").filter(has=field)
    await field.fill("cab")
    await expect(box.get_by_text("Words starting with “cab”: cabin, cable")).to_be_visible(timeout=6_000)
    await field.fill("")
    await expect(box.get_by_text("Type a word to search.")).to_be_visible(timeout=6_000)
    await expect(box.get_by_text(re.compile("Words starting with “”"))).to_have_count(0)
