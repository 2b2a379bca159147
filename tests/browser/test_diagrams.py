"""The new diagrams draw, and a diagram wider than a phone says that it scrolls instead of looking cut off.

The policies (Controlling tasks) and a copy's lifecycle (Background tasks)
are Mermaid diagrams like the others (tests/browser/test_lab.py checks that
every diagram renders from this site). On a 390 px phone the lock's sequence
diagram is wider than the column: its box is marked, shows "Scrolls
sideways" and says so in its name; on a desktop the lifecycle fits and says
nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.chromium import PHONE
from tests.browser.docs_server import DocServer
from tests.browser.test_lab import OPEN_SHADOW_ROOTS

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

NOTE = "d => getComputedStyle(d, '::before').content"
DRAWN = "d => d.shadowRoot && d.shadowRoot.querySelector('svg')"


async def test_on_a_phone_the_lock_diagram_says_it_scrolls(new_context: Any, server: DocServer) -> None:
    page = await (await new_context(viewport=PHONE)).new_page()
    await page.goto(server.url + "/background-tasks/")
    lock = page.get_by_role("group", name="The tab's lock passes", exact=False)
    await expect(lock).to_have_attribute("data-scrolls", "")
    assert (await lock.get_attribute("aria-label") or "").endswith("(scrolls sideways)")
    assert "Scrolls sideways" in await lock.evaluate(NOTE)
    width = await lock.evaluate("d => [d.scrollWidth, d.clientWidth]")
    assert width[0] > width[1], width


async def test_on_a_desktop_the_lifecycle_fits_and_says_nothing(new_context: Any, server: DocServer) -> None:
    context = await new_context()
    await context.add_init_script(OPEN_SHADOW_ROOTS)
    page = await context.new_page()
    await page.goto(server.url + "/background-tasks/")
    lifecycle = page.get_by_role("group", name="The lifecycle of one copy of a background task", exact=True)
    await expect(lifecycle).to_be_visible(timeout=15_000)
    await page.wait_for_function(DRAWN, arg=await lifecycle.element_handle())
    assert not await lifecycle.evaluate("d => d.hasAttribute('data-scrolls')")
    assert await lifecycle.evaluate(NOTE) in ("none", "normal")


async def test_the_policies_diagram_draws_all_four_policies(new_context: Any, server: DocServer) -> None:
    context = await new_context()
    await context.add_init_script(OPEN_SHADOW_ROOTS)
    page = await context.new_page()
    await page.goto(server.url + "/task-control/")
    policies = page.get_by_role("group", name="What a second trigger does", exact=False)
    await expect(policies).to_be_visible(timeout=15_000)
    await page.wait_for_function(DRAWN, arg=await policies.element_handle())
    texts = await policies.evaluate(
        "d => [...d.shadowRoot.querySelectorAll('text')].map(t => t.textContent.trim())"
    )
    for policy in ("parallel", "skip", "replace", "queue", "copy 1, cancelled", "trigger 2 ignored"):
        assert policy in texts, texts
