"""The Controlling tasks page's demos in a real browser, against the real docs server.

Each box is found by what a reader sees in it (its buttons, its field, its
status line). Every test opens the page in a fresh browser context, so it
starts from a fresh tab state.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import axe_problems, contrast
from tests.browser.chromium import PHONE
from tests.browser.docs_server import DocServer
from tests.browser.pages import open_live

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PAGE = "/task-control/"
SKIP_STATE = "state.skip_counter_state"
TICK = 0.5  # seconds between two counts of the skip counter (demos/task_control.py)
REFUSED = "RatesState.fetch_rates failed: ConnectionRefusedError: the rates service refused the connection"


class ReportBox:
    def __init__(self, page: Page) -> None:
        self.box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name="Build report"))
        self.build = self.box.get_by_role("button", name="Build report")
        self.cancel = self.box.get_by_role("button", name="Cancel")
        self.bar = self.box.get_by_role("progressbar", name="Report progress")
        self.line = self.box.get_by_text(re.compile(r"^Report: "))

    async def fraction(self) -> float:
        value = await self.bar.get_attribute("value")
        return float(value) if value is not None else -1.0


class SearchBox:
    def __init__(self, page: Page) -> None:
        self.box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("searchbox", name="Search words"))
        self.field = self.box.get_by_role("searchbox", name="Search words")
        self.searching = self.box.get_by_text("Searching…")
        self.results = self.box.get_by_text(re.compile(r"^(Words starting with|Nothing searched)"))
        self.log = self.box.locator(".rx-log")


class SkipCounterBox:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.box = page.locator("[data-rx-demo]").filter(has_text="Counting task:")
        self.figure = self.box.get_by_text(re.compile(r"^\s*\d+ /\s*$"))
        self.limit = self.box.get_by_role("spinbutton", name="Limit")
        self.start = self.box.get_by_role("button", name="Start", exact=True)
        self.stop = self.box.get_by_role("button", name="Stop", exact=True)
        self.toggle = self.box.locator("button").first  # Start or Stop, whichever it says
        self.status = self.box.get_by_text(re.compile(r"^Counting task: "))

    async def count(self) -> int:
        return int(((await self.figure.text_content()) or "").split("/")[0].strip())


class RatesBox:
    def __init__(self, page: Page) -> None:
        self.box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name="Fetch rates"))
        self.fetch = self.box.get_by_role("button", name="Fetch rates")
        self.line = self.box.get_by_text(re.compile(r"^Status: "))
        self.failure = self.box.locator(".rx-failure")
        self.alert = self.box.get_by_role("alert")


async def test_every_box_on_the_page_is_served(page: Page, server: DocServer) -> None:
    """The docs server knows the page's states: a first click in each box is answered without an error."""
    await open_live(page, server, PAGE)
    report, search, rates = ReportBox(page), SearchBox(page), RatesBox(page)
    await report.build.click()
    alert = report.box.get_by_role("alert")
    await expect(alert.or_(report.line.filter(has_text="running"))).to_be_visible()
    assert not await alert.is_visible(), (
        f"the docs server refused the demo ({await alert.text_content()}): docsite/server.py must import "
        "demos.task_control, as it imports the other demo modules"
    )
    await report.cancel.click()
    await search.field.fill("c")
    await expect(search.log).to_contain_text("“c”: done")
    await expect(rates.line).to_have_text("Status: idle, tries: 0 of 3")
    for box in (report.box, search.box, SkipCounterBox(page).box):
        await expect(box.get_by_role("alert")).to_be_hidden()


async def test_the_report_bar_moves_and_cancel_ends_it_as_cancelled(page: Page, server: DocServer) -> None:
    report = ReportBox(page)
    await open_live(page, server, PAGE)
    await expect(report.line).to_have_text("Report: idle (0 of 10 pages)")
    await expect(report.cancel).to_be_disabled()

    await report.build.click()
    await expect(report.build).to_have_attribute("aria-busy", "true")
    await expect(report.cancel).to_be_enabled()
    await expect(report.bar).to_have_attribute("value", re.compile(r"^0\.\d+$"), timeout=5_000)
    moving_from = await report.fraction()
    await page.wait_for_function(  # it moves on, page by page
        "([bar, from]) => parseFloat(bar.getAttribute('value')) > from",
        arg=[await report.bar.element_handle(), moving_from],
        timeout=5_000,
    )

    await report.cancel.click()
    await expect(report.line).to_have_text(re.compile(r"^Report: cancelled \([2-9] of 10 pages\)$"))
    await expect(report.build).not_to_have_attribute("aria-busy", "true")
    await expect(report.cancel).to_be_disabled()
    stopped = await report.fraction()
    assert 0.2 <= stopped < 1
    await page.wait_for_timeout(1_000)  # two pages' worth: nothing may move after a cancel
    assert await report.fraction() == stopped
    await expect(report.line).to_have_text(re.compile(r"^Report: cancelled"))


async def test_typing_on_cancels_the_older_search_and_shows_the_latest_results(page: Page, server: DocServer) -> None:
    search = SearchBox(page)
    await open_live(page, server, PAGE)
    await expect(search.results).to_have_text("Nothing searched yet.")

    await search.field.fill("ca")
    await expect(search.searching).to_be_visible()  # "ca" is being looked up
    await search.field.fill("cab")

    await expect(search.results).to_have_text("Words starting with “cab”: cabin, cable", timeout=5_000)
    await expect(search.log).to_have_text("“cab”: done, 2 found\n“ca”: cancelled")
    await expect(search.searching).to_be_hidden()


async def test_quick_stop_and_start_does_not_double_the_skip_counters_speed(page: Page, server: DocServer) -> None:
    counter = SkipCounterBox(page)
    await open_live(page, server, PAGE)
    await expect(counter.status).to_have_text("Counting task: idle")
    await counter.limit.fill("50")
    await counter.limit.press("Enter")
    await page.wait_for_function(
        "s => ((window.engineRuntime.store[s] || {}).max_counter) === 50", arg=SKIP_STATE
    )

    await counter.start.click()
    await expect(counter.status).to_have_text("Counting task: running")
    await page.wait_for_function(
        "s => ((window.engineRuntime.store[s] || {}).counter || 0) >= 1", arg=SKIP_STATE
    )
    # Stop and Start in one go, while the counting copy sleeps between two counts.
    await counter.toggle.evaluate("button => { button.click(); button.click(); }")
    await expect(counter.stop).to_be_visible()

    first, started = await counter.count(), time.monotonic()
    await asyncio.sleep(2.0)
    last, elapsed = await counter.count(), time.monotonic() - started
    # One copy counts once a tick (plus one for timing); two copies would count about twice that.
    bound = int(elapsed / TICK) + 1
    assert 1 <= last - first <= bound, f"counter went {first} -> {last} in {elapsed:.2f}s (bound {bound})"

    await counter.stop.click()
    await expect(counter.start).to_be_visible()
    await expect(counter.status).to_have_text("Counting task: done")


async def test_the_failing_task_shows_its_error_and_status(page: Page, server: DocServer) -> None:
    rates = RatesBox(page)
    await open_live(page, server, PAGE)
    await expect(rates.line).to_have_text("Status: idle, tries: 0 of 3")
    await expect(rates.failure).to_have_text("")

    await rates.fetch.click()
    await expect(rates.fetch).to_have_attribute("aria-busy", "true")
    await expect(rates.line).to_have_text("Status: failed, tries: 3 of 3", timeout=5_000)
    await expect(rates.failure).to_have_text(REFUSED)
    await expect(rates.alert).to_be_hidden()  # said once: the box's message line does not repeat it
    assert await rates.failure.get_attribute("aria-live") == "polite"  # and read out where it is
    await expect(rates.fetch).not_to_have_attribute("aria-busy", "true")

    # A new run clears the error while it tries again.
    await rates.fetch.click()
    await expect(rates.line).to_have_text(re.compile(r"^Status: running"))
    await expect(rates.failure).to_have_text("")
    await expect(rates.line).to_have_text("Status: failed, tries: 3 of 3", timeout=5_000)


async def _text_contrast(locator: Any, pseudo: str | None = None) -> float:
    colours = await locator.evaluate(
        r"""(el, pseudo) => {
            let behind = el;
            while (behind && /^rgba\(.*, 0\)$|^transparent$/.test(getComputedStyle(behind).backgroundColor)) {
                behind = behind.parentElement;
            }
            return [getComputedStyle(el, pseudo).color, getComputedStyle(behind || document.body).backgroundColor];
        }""",
        pseudo,
    )
    return contrast(_over(colours[0], colours[1]), colours[1])


def _over(foreground: str, background: str) -> str:
    """A translucent rgba() colour as it shows over an opaque background, as an opaque rgb()."""
    fg = [float(x) for x in re.findall(r"[\d.]+", foreground)]
    bg = [float(x) for x in re.findall(r"[\d.]+", background)][:3]
    alpha = fg[3] if len(fg) == 4 else 1.0
    mixed = [round(f * alpha + b * (1 - alpha)) for f, b in zip(fg[:3], bg, strict=True)]
    return f"rgb({mixed[0]}, {mixed[1]}, {mixed[2]})"


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_boxes_pass_axe_with_results_and_an_error_showing(
    new_context: Any, server: DocServer, scheme: str
) -> None:
    context = await new_context(color_scheme=scheme, viewport=PHONE)
    page = await context.new_page()
    await open_live(page, server, PAGE)
    search, rates = SearchBox(page), RatesBox(page)
    assert await _text_contrast(search.field, "::placeholder") >= 4.5

    await search.field.fill("cr")
    await rates.fetch.click()
    await expect(search.log).to_contain_text("“cr”: done, 4 found", timeout=5_000)
    await expect(rates.failure).to_have_text(REFUSED, timeout=5_000)
    assert await _text_contrast(rates.failure) >= 4.5
    assert await axe_problems(page) == []
    # Nothing is wider than a 390 px phone.
    overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"
