"""Every page passes axe-core (no serious or critical violation) in light and dark mode, and the
demo buttons' hover and keyboard-focus colours read at 4.5:1 or better.

axe-core comes from npm (package.json); the test injects node_modules/axe-core/axe.min.js
into each page, so nothing of it ships with the site.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import axe_problems, contrast
from tests.browser.chromium import PHONE
from tests.browser.docs_server import DocServer
from tests.browser.pages import CounterBox, FetchBox, nav_pages, open_live

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SCHEMES = ("light", "dark")
# Pages a phone reader meets with demo boxes or wide tables.
PHONE_PAGES = ("/", "/background-tasks/", "/first-task/", "/mistakes/", "/reference/settings/", "/performance/")


async def open_page(new_context: Any, server: DocServer, path: str, scheme: str, **options: Any) -> Page:
    context = await new_context(color_scheme=scheme, **options)
    page = await context.new_page()
    await open_live(page, server, path)
    scheme_name = await page.evaluate("() => document.body.getAttribute('data-md-color-scheme')")
    assert scheme_name == ("slate" if scheme == "dark" else "default")
    return page


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("path", nav_pages())
async def test_every_page_passes_axe(new_context: Any, server: DocServer, path: str, scheme: str) -> None:
    page = await open_page(new_context, server, path, scheme)
    assert await axe_problems(page) == []


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("path", PHONE_PAGES)
async def test_pages_pass_axe_on_a_phone(new_context: Any, server: DocServer, path: str, scheme: str) -> None:
    page = await open_page(new_context, server, path, scheme, viewport=PHONE)
    assert await axe_problems(page) == []


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_demo_boxes_pass_axe_with_an_error_and_while_busy(
    new_context: Any, server: DocServer, scheme: str
) -> None:
    page = await open_page(new_context, server, "/background-tasks/", scheme)
    counter, fetch = CounterBox(page), FetchBox(page)
    await counter.limit.fill("-3")
    await counter.limit.press("Enter")
    await expect(counter.error).to_be_visible()
    assert await axe_problems(page, "[data-rx-demo]") == []

    await fetch.button.click()
    await expect(fetch.button).to_have_attribute("aria-busy", "true")
    problems = await axe_problems(page, f"[data-rx-demo='{await fetch.box.get_attribute('data-rx-demo')}']")
    assert problems == []


async def _colours(locator: Any) -> tuple[str, str]:
    await locator.page.wait_for_timeout(300)  # past the 125 ms colour transition
    # The text colour, and the background behind it: its own, or the nearest ancestor's that is painted.
    colours = await locator.evaluate(
        r"""el => {
            let behind = el;
            while (behind && /^rgba\(.*, 0\)$|^transparent$/.test(getComputedStyle(behind).backgroundColor)) {
                behind = behind.parentElement;
            }
            return [getComputedStyle(el).color, getComputedStyle(behind || document.body).backgroundColor];
        }"""
    )
    return colours[0], colours[1]


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_button_hover_and_focus_read_at_4_5_to_1(new_context: Any, server: DocServer, scheme: str) -> None:
    page = await open_page(new_context, server, "/background-tasks/", scheme)
    counter = CounterBox(page)

    await counter.reset.hover()
    hover = contrast(*await _colours(counter.reset))
    await counter.reset.click()  # focused by the mouse now: no outline, but the same rule on colours
    await page.mouse.move(0, 0)
    clicked = contrast(*await _colours(counter.reset))

    await counter.reset.focus()
    await page.keyboard.press("Shift+Tab")  # moved by keyboard: :focus-visible
    await expect(counter.start).to_be_focused()
    focus = contrast(*await _colours(counter.start))

    assert min(hover, clicked, focus) >= 4.5, f"hover {hover:.2f}:1, clicked {clicked:.2f}:1, focus {focus:.2f}:1"
