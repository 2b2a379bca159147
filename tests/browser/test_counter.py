"""The counter demo (MyTaskState) in a real browser, against the real docs server.

Every test opens the Background tasks page in a fresh browser context, so it
starts from a fresh tab state (counter 0, limit 10). The demo ticks every
0.5 s; the tests use low limits to stay fast.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import Page, expect

from tests.browser.docs_server import DocServer
from tests.browser.pages import COUNTER_STATE, CounterBox, open_live

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

TICK = 0.5  # seconds between two increments of one task (demos/background_tasks.py)


async def _background_tasks(server: DocServer) -> int:
    return int((await asyncio.to_thread(server.details))["background_tasks"])


async def _wait_for_tasks(server: DocServer, expected: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while (count := await _background_tasks(server)) != expected:
        assert time.monotonic() < deadline, f"/healthz/details reports {count} background tasks, expected {expected}"
        await asyncio.sleep(0.1)


async def test_start_counts_up_to_the_limit_then_offers_start_again(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await expect(counter.figure).to_have_text("0 /")
    await counter.set_limit(3)
    # Record every value the figure shows on the way up.
    await counter.figure.evaluate(
        """el => {
            window.__seen = [];
            new MutationObserver(() => window.__seen.push(el.textContent.trim()))
                .observe(el, {subtree: true, childList: true, characterData: true});
        }"""
    )

    await counter.start.click()
    await expect(counter.stop).to_be_visible()
    await expect(counter.figure).to_have_text("3 /", timeout=5_000)
    await expect(counter.start).to_be_visible()
    await expect(counter.stop).to_be_hidden()

    seen = await page.evaluate("window.__seen")
    assert seen == ["1 /", "2 /", "3 /"], f"the figure showed {seen}"
    await _wait_for_tasks(server, 0)
    assert await counter.count() == 3


async def test_stop_holds_the_count(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.start.click()  # limit 10: still counting when Stop is clicked
    await counter.wait_for_count_at_least(2)

    await counter.stop.click()
    await expect(counter.start).to_be_visible()
    held = await counter.count()
    assert 2 <= held < 10
    await asyncio.sleep(1.5)  # three ticks' worth: nothing may move
    assert await counter.count() == held
    await expect(counter.figure).to_have_text(f"{held} /")
    await _wait_for_tasks(server, 0)


async def test_reset_sets_zero(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.figure).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()

    await counter.reset.click()
    await expect(counter.figure).to_have_text("0 /")
    await expect(counter.limit).to_have_value("2")  # Reset clears the count, not the limit


async def test_a_changed_limit_is_honoured(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.figure).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()

    # A new limit, typed into the number input: the next run counts on to it.
    await counter.set_limit(4)
    await counter.start.click()
    await expect(counter.figure).to_have_text("4 /", timeout=5_000)
    await expect(counter.start).to_be_visible()
    await _wait_for_tasks(server, 0)
    assert await counter.count() == 4
    await expect(counter.limit).to_have_value("4")


async def test_start_stop_start_quickly_runs_one_task(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await _wait_for_tasks(server, 0)  # nothing left over from other tests
    await counter.set_limit(50)

    # Three clicks in one go, before any answer can come back.
    await counter.toggle.evaluate("button => { button.click(); button.click(); button.click(); }")
    await expect(counter.stop).to_be_visible()
    await counter.wait_for_count_at_least(1)

    first, started = await counter.count(), time.monotonic()
    await asyncio.sleep(1.0)
    assert await _background_tasks(server) == 1, "more than one counter task is running"
    await asyncio.sleep(1.0)
    last, elapsed = await counter.count(), time.monotonic() - started
    # One task adds at most one per tick (plus one for timing jitter); two would add twice that.
    bound = int(elapsed / TICK) + 1
    assert 1 <= last - first <= bound, f"counter went {first} -> {last} in {elapsed:.2f}s (bound {bound})"

    await counter.stop.click()
    await expect(counter.start).to_be_visible()
    await _wait_for_tasks(server, 0)


async def test_start_at_the_limit_counts_again_from_zero(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.figure).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()

    # At the limit, Start starts over instead of flipping to Stop and back.
    await counter.start.click()
    await expect(counter.stop).to_be_visible()
    await expect(counter.figure).to_have_text("1 /", timeout=5_000)
    await expect(counter.figure).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()
    await _wait_for_tasks(server, 0)


async def test_the_limit_field_is_named_and_refuses_what_is_out_of_range(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)  # finds the field by its accessible name, "Limit"
    await open_live(page, server)
    await expect(counter.error).to_be_hidden()

    for typed in ("-3", "1e23", "0", "101", "2.5"):
        await counter.limit.fill(typed)
        await counter.limit.press("Enter")
        await expect(counter.error).to_have_text("Limit must be a whole number from 1 to 100.")
        await expect(counter.limit).to_have_attribute("aria-invalid", "true")
    await expect(counter.status).to_have_text("live")  # the status line stays as it was
    size = await counter.error.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 14, f"the message is set in {size}px type"
    max_counter = await page.evaluate("s => window.engineRuntime.store[s].max_counter", COUNTER_STATE)
    assert max_counter == 10, "an out-of-range limit reached the server"

    # Fixing the text removes the message at once; the new limit is kept.
    await counter.limit.fill("5")
    await expect(counter.error).to_be_hidden()
    await expect(counter.limit).not_to_have_attribute("aria-invalid", "true")
    await counter.limit.press("Enter")
    await page.wait_for_function("s => window.engineRuntime.store[s].max_counter === 5", arg=COUNTER_STATE)


async def test_a_refused_limit_is_restored_when_the_field_is_left(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.limit.fill("")  # unfinished while typing: nothing is said or sent yet
    await page.wait_for_timeout(400)  # longer than the runtime's input debounce
    await expect(counter.error).to_be_hidden()

    await counter.limit.blur()  # left empty: refused, and the kept limit comes back
    await expect(counter.limit).to_have_value("10")
    # The message says why, and that the field holds the kept limit again (not a contradiction).
    await expect(counter.error).to_have_text("Limit must be a whole number from 1 to 100. Limit is back to 10.")
    await expect(counter.limit).not_to_have_attribute("aria-invalid", "true")


async def test_an_error_can_be_dismissed_and_focus_returns_to_the_field(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.limit.fill("-3")
    await counter.limit.press("Enter")
    await expect(counter.error).to_be_visible()

    await counter.dismiss.click()
    await expect(counter.error).to_be_hidden()
    await expect(counter.dismiss).to_be_hidden()
    await expect(counter.limit).to_be_focused()
    # The demo works on.
    await counter.set_limit(1)
    await counter.start.click()
    await expect(counter.figure).to_have_text("1 /", timeout=5_000)


async def test_nothing_moves_while_the_counter_runs_from_9_to_10(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    # After every change of the box, note where each control starts.
    await counter.box.evaluate(
        """box => {
            window.__lefts = new Set();
            const note = () => window.__lefts.add(JSON.stringify(
                [...box.querySelectorAll("input, button:not([data-rx-dismiss])")]
                    .map(el => Math.round(el.getBoundingClientRect().left * 10) / 10)));
            note();
            new MutationObserver(note).observe(box, {subtree: true, childList: true, characterData: true,
                                                      attributes: true});
        }"""
    )
    await counter.start.click()  # the limit is 10: "Start" becomes "Stop", then 1 ... 10 and "Start"
    await expect(counter.figure).to_have_text("10 /", timeout=10_000)
    await expect(counter.start).to_be_visible()

    lefts = await page.evaluate("[...window.__lefts]")
    assert len(lefts) == 1, f"controls moved: their left edges were {lefts}"
