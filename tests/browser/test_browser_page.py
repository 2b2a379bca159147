"""The Background tasks page as a reader uses it: fetching, several tabs, reloads, navigation, no scripts.

Runs against the real docs server (one per module) in Chromium.
"""

from __future__ import annotations

import re

import pytest
from browser_support import (
    BACKGROUND_TASKS_PAGE,
    CounterBox,
    DocServer,
    FetchBox,
    open_live,
    ticket,
)
from playwright.async_api import Page, expect

from docsite.quotes import QUOTES

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


def _tab_id(ticket_text: str | None) -> str:
    assert ticket_text, "no ticket in sessionStorage"
    return ticket_text.split(".")[0]  # <tab id>.<issued at>.<signature>


async def test_fetch_data_shows_a_quote_from_our_server(page: Page, server: DocServer) -> None:
    fetch = FetchBox(page)
    await open_live(page, server)
    await expect(fetch.result).to_have_text("")

    await fetch.button.click()
    await expect(fetch.result).to_have_text(re.compile(r"\S"), timeout=5_000)
    assert (await fetch.result.text_content() or "").strip() in QUOTES


async def test_a_second_browser_context_has_its_own_state(page: Page, new_context, server: DocServer) -> None:
    other = await (await new_context()).new_page()
    mine, theirs = CounterBox(page), CounterBox(other)
    await open_live(page, server)
    await open_live(other, server)
    assert _tab_id(await ticket(page)) != _tab_id(await ticket(other))

    await mine.set_limit(2)
    await mine.start.click()
    await expect(mine.heading).to_have_text("2 /", timeout=5_000)
    await expect(mine.start).to_be_visible()
    await expect(theirs.heading).to_have_text("0 /")
    await expect(theirs.limit).to_have_value("10")
    await expect(theirs.start).to_be_visible()

    # And the other way round.
    await theirs.set_limit(1)
    await theirs.start.click()
    await expect(theirs.heading).to_have_text("1 /", timeout=5_000)
    await expect(theirs.start).to_be_visible()
    await expect(mine.heading).to_have_text("2 /")
    await expect(mine.limit).to_have_value("2")


async def test_a_reload_resumes_the_state(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.heading).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()
    before = await ticket(page)

    await page.reload()
    await expect(counter.status).to_have_text("live")
    await expect(counter.heading).to_have_text("2 /")
    await expect(counter.limit).to_have_value("2")
    assert _tab_id(await ticket(page)) == _tab_id(before)

    # Still live after the reload: the next run counts on from 2.
    await counter.set_limit(3)
    await counter.start.click()
    await expect(counter.heading).to_have_text("3 /", timeout=5_000)


async def test_instant_navigation_away_and_back_leaves_the_box_live(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    nav = page.get_by_role("navigation", name="Navigation")
    # mkdocs-material intercepts clicks only once it has read sitemap.xml.
    async with page.expect_response(lambda response: response.url.endswith("/sitemap.xml")):
        await open_live(page, server)
    await page.evaluate("window.__marker = 1")  # gone if the page is loaded anew

    await nav.get_by_role("link", name="Home", exact=True).click()
    await page.wait_for_url(server.url + "/")
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Live background tasks"))
    await nav.get_by_role("link", name="Background tasks", exact=True).click()
    await page.wait_for_url(server.url + BACKGROUND_TASKS_PAGE)
    assert await page.evaluate("window.__marker") == 1, "the navigation reloaded the page"

    await expect(counter.status).to_have_text("live")
    await expect(FetchBox(page).status).to_have_text("live")
    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.heading).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()


async def test_without_scripts_the_initial_demo_shows(new_context, server: DocServer) -> None:
    page = await (await new_context(java_script_enabled=False)).new_page()
    await page.goto(server.url + BACKGROUND_TASKS_PAGE)
    counter, fetch = CounterBox(page), FetchBox(page)

    await expect(counter.heading).to_have_text("0 /")
    await expect(counter.limit).to_have_value("10")
    await expect(counter.start).to_be_visible()
    await expect(counter.stop).to_be_hidden()
    await expect(counter.reset).to_be_visible()
    await expect(fetch.button).to_be_visible()
    await expect(counter.status).to_have_text("offline")
