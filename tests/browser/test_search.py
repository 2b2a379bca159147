"""The search box finds exact API and error names, not only their dotted forms.

MkDocs' default separator splits words on spaces and hyphens only, so
`rx.ImmutableStateError` and `app.event_namespace.token_to_sid` were indexed
as single words that no query for the bare name matched. mkdocs.yml's search
separator also splits on dots and punctuation, and never on underscores.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.docs_server import DocServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# A bare name a reader types -> a page with a section that uses it (only in dotted form
# on that page for the last two).
EXPECTED = {
    "ImmutableStateError": "/reference/api/",
    "token_to_sid": "/background-tasks/",
    "get_substate": "/background-tasks/",
    "set_max_counter": "/site/protocol/",
}


async def search(page: Page, query: str) -> list[str]:
    """Type `query` into the header's search box, key by key; the result links, best first."""
    box = page.get_by_role("textbox", name="Search")
    await box.click()
    await box.fill("")
    await box.press_sequentially(query)
    results = page.locator(".md-search-result")
    # Until the index has loaded the box says "Initializing search" (CI caught an empty list read then):
    # the results are in once it counts them ("3 matching documents", "No matching documents").
    await expect(results.locator(".md-search-result__meta")).to_have_text(re.compile("matching document"))
    return [href or "" for href in await results.get_by_role("link").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )]


@pytest.mark.parametrize("query", sorted(EXPECTED))
async def test_an_exact_api_name_finds_its_section(page: Page, server: DocServer, query: str) -> None:
    await page.goto(server.url + "/")
    links = await search(page, query)
    page_path = EXPECTED[query]
    sections = [link for link in links if page_path in link and "#" in link]
    assert sections, f"searching {query!r} found no section of {page_path}; results: {links}"
    await expect(page.locator(".md-search-result__meta")).not_to_have_text("No matching documents")
