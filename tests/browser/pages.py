"""The site's pages as a reader finds them: the pages of the nav, the demo boxes on them, the tab's ticket."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.docs_server import DocServer
from tests.support.env import ROOT

COUNTER_STATE = "state.my_task_state"
FETCH_STATE = "state.low_level_state"
BACKGROUND_TASKS_PAGE = "/background-tasks/"


def nav_pages() -> list[str]:
    """Every page of mkdocs.yml's nav, as a site path ("/", "/site/protocol/", ...)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml names Python objects (the demo fence); they do not matter here.
    _Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)
    paths: list[str] = []

    def walk(entries: Any) -> None:
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            if isinstance(value, list):
                walk(value)
            elif isinstance(value, str):
                page = value.removesuffix(".md")
                page = "" if page == "index" else page.removesuffix("/index") + "/"
                paths.append("/" + page)

    walk(config["nav"])
    return paths


class DemoBox:
    """What every demo box has: a status line with a note, and a dismissable error."""

    box: Any

    def _footer(self) -> None:
        self.status = self.box.locator("[data-rx-status]")
        self.note = self.box.locator("[data-rx-note]")
        self.error = self.box.get_by_role("alert")
        self.dismiss = self.box.get_by_role("button", name="Dismiss this message")


class CounterBox(DemoBox):
    """The guarded counter demo on a page (the Background tasks page also has the `skip` one, also with Reset)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.box = page.locator('[data-rx-demo="demos.background_tasks:background_task_example"]')
        self.figure = self.box.get_by_text(re.compile(r"^\s*\d+ /\s*$"))  # "N /"
        self.limit = self.box.get_by_role("spinbutton", name="Limit")
        self.start = self.box.get_by_role("button", name="Start", exact=True)
        self.stop = self.box.get_by_role("button", name="Stop", exact=True)
        self.reset = self.box.get_by_role("button", name="Reset", exact=True)
        # The Start/Stop button whatever it says at the moment: the box's first button.
        self.toggle = self.box.locator("button").first
        self._footer()

    async def count(self) -> int:
        text = (await self.figure.text_content()) or ""
        return int(text.split("/")[0].strip())

    async def set_limit(self, value: int) -> None:
        """Type a new limit and wait until the tab's state holds it."""
        await self.limit.fill(str(value))
        await self.limit.press("Enter")
        await self.page.wait_for_function(
            "([state, n]) => ((window.engineRuntime.store[state] || {}).max_counter) === n",
            arg=[COUNTER_STATE, value],
        )

    async def wait_for_count_at_least(self, value: int, timeout: float = 10_000) -> None:
        await self.page.wait_for_function(
            "([state, n]) => ((window.engineRuntime.store[state] || {}).counter || 0) >= n",
            arg=[COUNTER_STATE, value],
            timeout=timeout,
        )


class FetchBox(DemoBox):
    """The fetch demo, found by its Fetch Data button."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name="Fetch Data"))
        self.button = self.box.get_by_role("button", name="Fetch Data")
        self.result = self.box.locator("p")
        self._footer()

    async def quote(self) -> str:
        return ((await self.result.text_content()) or "").strip()

    async def fetch(self) -> str:
        """Press Fetch Data and wait for the quote it brings (the button is no longer busy)."""
        from playwright.async_api import expect

        await self.button.click()
        await expect(self.button).to_have_attribute("aria-busy", "true")
        await expect(self.button).not_to_have_attribute("aria-busy", "true", timeout=5_000)
        return await self.quote()


async def open_live(page: Any, server: DocServer, path: str = BACKGROUND_TASKS_PAGE) -> None:
    """Open a page of the site and wait until every demo box on it says "live"."""
    from playwright.async_api import expect

    await page.goto(server.url + path)
    statuses = page.locator("[data-rx-demo] [data-rx-status]")
    for i in range(await statuses.count()):
        await expect(statuses.nth(i)).to_have_text("live")


async def ticket(page: Any) -> str | None:
    """The tab's ticket as the runtime keeps it in sessionStorage."""
    return await page.evaluate("() => sessionStorage.getItem('engine.ticket')")  # type: ignore[no-any-return]
