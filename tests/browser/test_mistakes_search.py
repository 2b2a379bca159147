"""Pasting any engine message into the site's search box lands on its Common mistakes entry, first.

For every entry of docs/mistakes.md, its message (the engine's words, checked
by tests/site/test_lab.py and test_mistakes.py) is typed into the real
search box of the built site; the first group of results must be the Common
mistakes page, with that entry as its first section. The entries win by
their headings, which carry the message's own words, not by a page-wide
search boost: the last test checks that a plain API name still opens the
page that explains it.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.docs_server import DocServer
from tests.support.mistakes_page import entry_messages

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

MESSAGES = entry_messages()
# A bare name or phrase -> the page (and section) that explains it, not a mistake about it.
CONCEPTS = {
    "async with self": "/background-tasks/#touching-state-async-with-self",
    "modify_state": "/background-tasks/#the-low-level-api-modify_state",
    "token_to_sid": "/background-tasks/#stopping-when-the-tab-is-gone",
}


async def first_group(page: Page, query: str) -> list[str]:
    """Type `query` into the search box; the links of the first group of results (its page, then sections)."""
    box = page.get_by_role("textbox", name="Search")
    await box.click()
    await box.fill(query[:-1])
    await box.press_sequentially(query[-1])  # a key press: the theme searches on keyboard input
    # Counted results ("3 matching documents"), not "Initializing search" while the index loads.
    await expect(page.locator(".md-search-result__meta")).to_have_text(re.compile("matching document"))
    # The search runs in a worker, and the results of a shorter query may show first: read the first
    # group until five readings in a row (half a second) agree.
    group = page.locator(".md-search-result__list > li").first.locator("a")
    read = "links => links.map(link => link.getAttribute('href'))"
    hrefs, same = await group.evaluate_all(read), 0
    for _ in range(100):
        await asyncio.sleep(0.1)
        latest = await group.evaluate_all(read)
        same = same + 1 if latest == hrefs else 0
        hrefs = latest
        if same >= 5:
            break
    return [re.sub(r"\?h=[^#]*", "", href or "") for href in hrefs]


@pytest.mark.parametrize("message", sorted(MESSAGES), ids=lambda m: MESSAGES[m])
async def test_an_engine_message_finds_its_entry_first(page: Page, server: DocServer, message: str) -> None:
    await page.goto(server.url + "/")
    links = await first_group(page, message)
    assert links[:2] == [f"{server.url}/mistakes/", f"{server.url}/mistakes/#{MESSAGES[message]}"], links


@pytest.mark.parametrize("query", sorted(CONCEPTS))
async def test_a_plain_name_still_opens_the_page_that_explains_it(page: Page, server: DocServer, query: str) -> None:
    await page.goto(server.url + "/")
    links = await first_group(page, query)
    path, anchor = CONCEPTS[query].split("#")
    assert links[:2] == [f"{server.url}{path}", f"{server.url}{path}#{anchor}"], links
