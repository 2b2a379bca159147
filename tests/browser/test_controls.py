"""The runtime keeps control bindings in step: disabled=, busy=, progress bars, and the error line.

Uses a test-only demo (controls_demo.py) whose ordinary state vars
drive each binding, on a bare page with the runtime and demo.css.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.browser.bare_page import demo_page
from tests.browser.controls_demo import FAILURE

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


class Probe:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.box = page.locator("[data-rx-demo]")
        self.clicks = self.box.get_by_text("clicks:")
        self.status = self.box.locator("[data-rx-status]")
        self.error = self.box.get_by_role("alert")
        self.dismiss = self.box.get_by_role("button", name="Dismiss this message")
        self.bar = self.box.get_by_role("progressbar", name="Probe progress")

    def button(self, name: str) -> Any:
        return self.box.get_by_role("button", name=name, exact=True)

    async def press(self, name: str) -> None:
        await self.button(name).click()


@pytest_asyncio.fixture(loop_scope="session")
async def probe(page: Page, tmp_path: Path) -> AsyncIterator[Probe]:
    async with demo_page(tmp_path, "tests.browser.controls_demo:controls_example") as url:
        await page.goto(url)
        probe = Probe(page)
        await expect(probe.status).to_have_text("live")
        yield probe


async def test_disabled_follows_its_expression(probe: Probe) -> None:
    guarded = probe.button("Guarded")
    await expect(guarded).to_be_disabled()  # disabled=~ready, and ready starts False
    await probe.press("Toggle ready")
    await expect(guarded).to_be_enabled()
    await guarded.click()
    await expect(probe.clicks).to_have_text("clicks: 1")
    await probe.press("Toggle ready")
    await expect(guarded).to_be_disabled()
    assert await guarded.evaluate("el => el.disabled") is True  # the real property, not only ARIA


async def test_a_busy_button_says_so_keeps_focus_and_ignores_clicks(probe: Probe) -> None:
    busy = probe.button("Busy")
    await expect(busy).not_to_have_attribute("aria-busy", "true")
    await probe.press("Toggle loading")
    await expect(busy).to_have_attribute("aria-busy", "true")
    await expect(busy).to_be_disabled()  # aria-disabled="true"
    await busy.focus()
    await expect(busy).to_be_focused()  # still focusable: a keyboard user does not lose their place
    spinner = await busy.evaluate("el => getComputedStyle(el, '::after').animationName")
    assert spinner == "rx-spin"

    await busy.evaluate("el => { el.click(); el.click(); }")
    await probe.page.wait_for_timeout(300)
    await expect(probe.clicks).to_have_text("clicks: 0")

    await probe.press("Toggle loading")
    await expect(busy).not_to_have_attribute("aria-busy", "true")
    await busy.click()
    await expect(probe.clicks).to_have_text("clicks: 1")


async def test_a_busy_button_does_not_spin_for_readers_who_want_less_motion(probe: Probe) -> None:
    await probe.page.emulate_media(reduced_motion="reduce")
    busy = probe.button("Busy")
    await probe.press("Toggle loading")
    await expect(busy).to_have_attribute("aria-busy", "true")
    after = await busy.evaluate(
        "el => { const s = getComputedStyle(el, '::after'); return [s.animationName, s.content]; }"
    )
    assert after[0] == "none" and "…" in after[1], after
    await expect(busy).to_have_text("Busy")  # the label stays readable


async def test_a_progress_bar_follows_its_value_and_is_indeterminate_without_one(probe: Probe) -> None:
    bar = probe.bar  # found by its accessible name (aria_label=)
    await expect(bar).not_to_have_attribute("value", "0")
    assert await bar.evaluate("el => el.matches(':indeterminate') && el.max === 1")
    await probe.press("Half")
    await expect(bar).to_have_attribute("value", "0.5")
    await probe.press("Too much")
    await expect(bar).to_have_attribute("value", "1")
    await probe.press("Unknown")
    await expect(bar).not_to_have_attribute("value", "1")
    assert await bar.evaluate("el => el.matches(':indeterminate')")


async def test_a_failure_is_shown_apart_from_the_status_and_can_be_dismissed(probe: Probe) -> None:
    await probe.press("Fail")
    await expect(probe.error).to_have_text(f"ControlsProbeState.fail failed: ValueError: {FAILURE}")
    await expect(probe.status).to_have_text("live")  # the status word stands alone
    status_box = await probe.status.bounding_box()
    error_box = await probe.error.bounding_box()
    assert status_box and error_box
    assert error_box["y"] >= status_box["y"] + status_box["height"], "the error runs into the status line"

    await probe.dismiss.click()
    await expect(probe.error).to_be_hidden()
    await expect(probe.button("Fail")).to_be_focused()  # back where the reader was


async def test_a_later_success_clears_an_old_failure(probe: Probe) -> None:
    await probe.press("Fail")
    await expect(probe.error).to_be_visible()
    await probe.press("Half")
    await expect(probe.error).to_be_hidden()
