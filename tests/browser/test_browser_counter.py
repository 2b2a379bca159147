"""The counter demo (MyTaskState) in a real browser, against the real docs server.

Every test opens the Background tasks page in a fresh browser context, so it
starts from a fresh tab state (counter 0, limit 10). The demo ticks every
0.5 s; the tests use low limits to stay fast.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from browser_support import CounterBox, DocServer, open_live
from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

TICK = 0.5  # seconds between two increments of one task (demos/background_tasks.py)


async def _background_tasks(server: DocServer) -> int:
    return int((await asyncio.to_thread(server.health))["background_tasks"])


async def _wait_for_tasks(server: DocServer, expected: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while (count := await _background_tasks(server)) != expected:
        assert time.monotonic() < deadline, f"/healthz reports {count} background tasks, expected {expected}"
        await asyncio.sleep(0.1)


async def test_start_counts_up_to_the_limit_then_offers_start_again(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await expect(counter.heading).to_have_text("0 /")
    await counter.set_limit(3)
    # Record every value the heading shows on the way up.
    await counter.heading.evaluate(
        """el => {
            window.__seen = [];
            new MutationObserver(() => window.__seen.push(el.textContent.trim()))
                .observe(el, {subtree: true, childList: true, characterData: true});
        }"""
    )

    await counter.start.click()
    await expect(counter.stop).to_be_visible()
    await expect(counter.heading).to_have_text("3 /", timeout=5_000)
    await expect(counter.start).to_be_visible()
    await expect(counter.stop).to_be_hidden()

    seen = await page.evaluate("window.__seen")
    assert seen == ["1 /", "2 /", "3 /"], f"the heading showed {seen}"
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
    await expect(counter.heading).to_have_text(f"{held} /")
    await _wait_for_tasks(server, 0)


async def test_reset_sets_zero(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.heading).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()

    await counter.reset.click()
    await expect(counter.heading).to_have_text("0 /")
    await expect(counter.limit).to_have_value("2")  # Reset clears the count, not the limit


async def test_a_changed_limit_is_honoured(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await counter.set_limit(2)
    await counter.start.click()
    await expect(counter.heading).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()

    # A new limit, typed into the number input: the next run counts on to it.
    await counter.set_limit(4)
    await counter.start.click()
    await expect(counter.heading).to_have_text("4 /", timeout=5_000)
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


async def test_a_handler_error_is_shown_in_the_box(page: Page, server: DocServer) -> None:
    counter = CounterBox(page)
    await open_live(page, server)
    await expect(counter.error).to_be_hidden()

    # A number input hands over "" for text that is not a number.
    await counter.limit.fill("")
    await counter.limit.press_sequentially("abc")
    await counter.limit.press("Enter")
    await expect(counter.error).to_be_visible()
    await expect(counter.error).to_contain_text("set_max_counter")
    await expect(counter.status).to_have_text("live")

    # Once the field is left, it shows the limit the server kept.
    await counter.limit.blur()
    await expect(counter.limit).to_have_value("10")

    # The demo keeps working, and a successful event clears the message.
    await counter.set_limit(2)
    await expect(counter.error).to_be_hidden()
    await counter.start.click()
    await expect(counter.heading).to_have_text("2 /", timeout=5_000)
    await expect(counter.start).to_be_visible()
