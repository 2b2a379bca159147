"""The pages as a reader uses them: fetching, several tabs, reloads, navigation, the home page, no scripts.

Runs against the real docs server (one per module) in Chromium.
"""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.async_api import Page, expect

from docsite.quotes import QUOTES
from tests.browser.docs_server import DocServer
from tests.browser.pages import BACKGROUND_TASKS_PAGE, CounterBox, FetchBox, open_live, ticket

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


def _tab_id(ticket_text: str | None) -> str:
    assert ticket_text, "no ticket in sessionStorage"
    return ticket_text.split(".")[0]  # <tab id>.<issued at>.<signature>


async def test_fetch_data_is_busy_until_a_quote_from_our_server_arrives(page: Page, server: DocServer) -> None:
    fetch = FetchBox(page)
    await open_live(page, server)
    await expect(fetch.result).to_have_text("")
    await expect(fetch.result).to_have_attribute("aria-live", "polite")  # screen readers read the quote out

    await fetch.button.click()
    # The server takes 0.6 s to answer; meanwhile the button says it is working.
    await expect(fetch.button).to_have_attribute("aria-busy", "true")
    await expect(fetch.button).to_be_disabled()
    await expect(fetch.button).to_be_focused()  # busy, yet keyboard focus stays on it
    await expect(fetch.result).to_have_text(re.compile(r"\S"), timeout=5_000)
    await expect(fetch.button).not_to_have_attribute("aria-busy", "true")
    await expect(fetch.button).to_be_enabled()
    assert await fetch.quote() in QUOTES


async def test_eight_quick_clicks_fetch_one_quote(page: Page, server: DocServer) -> None:
    fetch = FetchBox(page)
    await open_live(page, server)
    await fetch.result.evaluate(
        """el => {
            window.__quotes = [];
            new MutationObserver(() => window.__quotes.push(el.textContent.trim()))
                .observe(el, {subtree: true, childList: true, characterData: true});
        }"""
    )
    # Eight clicks in one go, before the runtime hears back about the first.
    await fetch.button.evaluate("button => { for (let i = 0; i < 8; i++) button.click(); }")
    await expect(fetch.result).to_have_text(re.compile(r"\S"), timeout=5_000)
    await expect(fetch.button).not_to_have_attribute("aria-busy", "true")
    await page.wait_for_timeout(1_500)  # more than two fetches' time: anything extra would show

    quotes = await page.evaluate("window.__quotes")
    assert len(quotes) == 1 and quotes[0] in QUOTES, f"the result changed {len(quotes)} times: {quotes}"
    # And the next click fetches again.
    assert await fetch.fetch() != quotes[0]


async def test_each_fetch_brings_a_different_quote(page: Page, server: DocServer) -> None:
    fetch = FetchBox(page)
    await open_live(page, server)
    seen = [await fetch.fetch() for _ in range(4)]
    assert all(quote in QUOTES for quote in seen), seen
    assert all(a != b for a, b in itertools.pairwise(seen)), f"a quote came twice in a row: {seen}"


async def test_a_second_browser_context_has_its_own_state(page: Page, new_context, server: DocServer) -> None:
    other = await (await new_context()).new_page()
    mine, theirs = CounterBox(page), CounterBox(other)
    await open_live(page, server)
    await open_live(other, server)
    assert _tab_id(await ticket(page)) != _tab_id(await ticket(other))

    await mine.set_limit(2)
    await mine.start.click()
    await expect(mine.figure).to_have_text("2 /", timeout=5_000)
    await expect(mine.start).to_be_visible()
    await expect(theirs.figure).to_have_text("0 /")
    await expect(theirs.limit).to_have_value("10")
    await expect(theirs.start).to_be_visible()

    # And the other way round.
    await theirs.set_limit(1)
    await theirs.start.click()
    await expect(theirs.figure).to_have_text("1 /", timeout=5_000)
    await expect(theirs.start).to_be_visible()
    await expect(mine.figure).to_have_text("2 /")
    await expect(mine.limit).to_have_value("2")


async def test_a_reload_resumes_the_state(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.figure).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()
    before = await ticket(page)

    await page.reload()
    await expect(counter.status).to_have_text("live")
    await expect(counter.figure).to_have_text("2 /")
    await expect(counter.limit).to_have_value("2")
    assert _tab_id(await ticket(page)) == _tab_id(before)

    # Still live after the reload: the next run counts on from 2.
    await counter.set_limit(3)
    await counter.start.click()
    await expect(counter.figure).to_have_text("3 /", timeout=5_000)


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
    await expect(counter.figure).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()


async def test_without_scripts_the_box_shows_defaults_and_says_it_needs_javascript(
    new_context, server: DocServer
) -> None:
    page = await (await new_context(java_script_enabled=False)).new_page()
    await page.goto(server.url + BACKGROUND_TASKS_PAGE)
    counter, fetch = CounterBox(page), FetchBox(page)

    await expect(counter.figure).to_have_text("0 /")
    await expect(counter.limit).to_have_value("10")
    await expect(counter.start).to_be_visible()
    await expect(counter.stop).to_be_hidden()
    await expect(counter.reset).to_be_visible()
    await expect(fetch.button).to_be_visible()
    for box in (counter, fetch):
        await expect(box.status).to_have_text("offline")
        await expect(box.note).to_be_visible()
        await expect(box.note).to_contain_text("needs JavaScript")
    # Nothing looks clickable that cannot work.
    for control in (counter.limit, counter.start, counter.reset, fetch.button):
        await expect(control).to_be_disabled()


async def test_with_scripts_the_note_is_gone_and_the_controls_work(page: Page, server: DocServer) -> None:
    counter, fetch = CounterBox(page), FetchBox(page)
    await open_live(page, server)
    for box in (counter, fetch):
        await expect(box.note).to_be_hidden()
    for control in (counter.limit, counter.start, counter.reset, fetch.button):
        await expect(control).to_be_enabled()


async def test_the_counter_is_not_a_heading_of_the_page(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await expect(counter.figure).to_have_text("0 /")
    assert await counter.box.get_by_role("heading").count() == 0
    outline = await page.locator("article").get_by_role("heading").all_text_contents()
    assert outline and not [h for h in outline if re.search(r"\d+ /", h)], outline


async def test_the_home_page_has_a_live_counter_and_says_what_is_needed(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server, "/")
    article = page.locator("article")
    assert await article.locator("img").count() == 0, "the home page still shows a picture of the demo"
    await expect(article).to_contain_text("Python 3.11")
    await expect(article).to_contain_text("npm")

    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.figure).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()

    # The link beside it leads to the section that explains this very box.
    await article.get_by_role("link", name="the hand-written guard").click()
    await page.wait_for_url(re.compile(re.escape(server.url + BACKGROUND_TASKS_PAGE) + "#the-hand-written-guard"))
    await expect(page.get_by_role("heading", name=re.compile("hand-written guard"))).to_be_in_viewport()
    await expect(counter.figure).to_have_text("2 /")  # the same tab state
