"""Every page passes axe-core (no serious or critical violation) in light and dark mode, and the
demo buttons' hover and keyboard-focus colours read at 4.5:1 or better.

axe-core comes from npm (package.json); the test injects node_modules/axe-core/axe.min.js
into each page, so nothing of it ships with the site.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import PHONE, ROOT, CounterBox, DocServer, FetchBox, nav_pages, need, open_live
from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCHEMES = ("light", "dark")
# Pages a phone reader meets with demo boxes or wide tables.
PHONE_PAGES = ("/", "/background-tasks/", "/reference/settings/", "/performance/")


async def axe_problems(page: Page, within: str = "html") -> list[str]:
    """Serious and critical axe-core violations on the page (or inside the element `within`)."""
    need(AXE.is_file(), f"axe-core is not installed ({AXE} is missing): run `npm ci` in {ROOT}")
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate(
        """async selector => {
            const result = await axe.run(document.querySelector(selector), {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => `${v.id} (${v.impact}): ${v.help}; ` +
                          v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
        }""",
        within,
    )
    return list(violations)


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


def _rgb(css: str) -> tuple[float, float, float]:
    parts = [float(x) for x in re.findall(r"[\d.]+", css)[:4]]
    assert len(parts) == 3 or parts[3] == 1, f"expected an opaque colour, got {css}"
    return parts[0], parts[1], parts[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two opaque CSS rgb() colours."""

    def luminance(css: str) -> float:
        channels = [c / 255 for c in _rgb(css)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


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
