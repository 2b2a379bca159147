"""Tables fit their column and never break an identifier, on a 390 px phone and on a desktop.

On a phone each row is a card (one cell per line, after its column's name); on a
desktop the cells are compact enough for the Performance table's eight columns.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.chromium import PHONE, VIEWPORT
from tests.browser.docs_server import DocServer
from tests.browser.pages import nav_pages

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Tables (or Material's wrapper that would scroll them) wider than their room or the window.
TOO_WIDE = """() => [...document.querySelectorAll("article table, article .md-typeset__scrollwrap")]
    .filter(el => el.scrollWidth > el.clientWidth + 1
               || el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(el => `${el.tagName.toLowerCase()} ${el.scrollWidth}px in ${el.clientWidth}px`)"""

# Words of table code that the browser split over two lines (a <wbr> after a dot ends a word).
BROKEN_WORDS = """() => {
    const broken = [];
    for (const code of document.querySelectorAll("article table code")) {
        const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const match of node.data.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, match.index);
                range.setEnd(node, match.index + match[0].length);
                const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (lines.size > 1) broken.push(match[0]);
            }
        }
    }
    return broken;
}"""


async def _page(new_context: Any, server: DocServer, path: str, viewport: dict[str, int]) -> Any:
    page = await (await new_context(viewport=viewport)).new_page()
    await page.goto(server.url + path)
    await expect(page.locator("article")).to_be_visible()
    return page


@pytest.mark.parametrize("viewport", [PHONE, VIEWPORT], ids=["phone", "desktop"])
@pytest.mark.parametrize("path", nav_pages())
async def test_tables_fit_and_keep_identifiers_whole(
    new_context: Any, server: DocServer, path: str, viewport: dict[str, int]
) -> None:
    page = await _page(new_context, server, path, viewport)
    assert await page.evaluate(TOO_WIDE) == []
    assert await page.evaluate(BROKEN_WORDS) == []


async def test_the_settings_table_reads_on_a_phone(new_context: Any, server: DocServer) -> None:
    page = await _page(new_context, server, "/reference/settings/", PHONE)
    row = page.locator("article table tbody tr").filter(has_text="lock_timeout").first
    description = row.locator("td").last
    await description.scroll_into_view_if_needed()
    await expect(description).to_be_in_viewport(ratio=1)
    box = await description.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # Each cell says which column it is.
    label = await description.evaluate("td => getComputedStyle(td, '::before').content")
    assert "What it does" in label


async def test_the_performance_tables_last_columns_show_on_a_desktop(new_context: Any, server: DocServer) -> None:
    page = await _page(new_context, server, "/performance/", VIEWPORT)
    # Where each table's last column ends, without scrolling the table sideways.
    ends = await page.evaluate(
        """() => [...document.querySelectorAll("article table")].map(table => {
            const last = table.querySelector("thead th:last-child");
            const wrap = table.closest(".md-typeset__scrollwrap");
            return [last.textContent.trim(), last.getBoundingClientRect().right, wrap ? wrap.scrollLeft : 0];
        })"""
    )
    text_right = await page.evaluate("() => document.querySelector('article').getBoundingClientRect().right")
    assert ends, "the Performance page has no table"
    cut = [(name, right) for name, right, scrolled in ends if right > text_right + 1 or scrolled]
    assert not cut, f"last columns past the text's right edge ({text_right}px): {cut}"
