"""Edit and run in a real browser: the counter demo's code edited, run by the engine in the page (Pyodide).

Pyodide takes several seconds to load, so the tests of this module share one
page and its worker (a module-scoped fixture), in the order a reader would
go: edit and run, break the guard, make a syntax error, hang a handler and
Stop it, share the code as a link, Reset. Each test leaves the page on the
server's demo or on a run of its own code, and says which it expects.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.axe import axe_problems
from tests.browser.chromium import PHONE, VIEWPORT
from tests.browser.docs_server import DocServer
from tests.browser.pages import BACKGROUND_TASKS_PAGE, COUNTER_STATE, CounterBox, open_live
from tests.browser.test_lab import open_panel, task_lanes, wait_lanes

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

MODULE = "demos.background_tasks"
PYODIDE_LOAD = 90_000  # ms: a first load of Python on a busy 2-core machine (about 10 s when idle)
STEP = "                    self.counter += 1\n"
GUARD = (
    "            if self._n_tasks > 0:\n"
    "                # only allow 1 concurrent task\n"
    "                return\n"
)
CLEAR = "    def clear_counter(self):\n        self.counter = 0\n"


class Playground:
    """The page with the counter box's editor open and Python loaded, shared by the module's tests."""

    def __init__(self, page: Page, context: BrowserContext, requests: list[str]) -> None:
        self.page = page
        self.context = context
        self.requests = requests
        self.counter = CounterBox(page)
        self.panel = page.locator(f"[data-rx-play='{MODULE}']")
        self.status = self.panel.locator("[data-rx-play-status]")
        self.run = self.panel.get_by_role("button", name="Run code")
        self.stop = self.panel.get_by_role("button", name="Stop code")
        self.reset = self.panel.get_by_role("button", name="Reset code")
        self.link = self.panel.get_by_role("button", name="Copy link")
        self.editor = self.panel.get_by_role("textbox", name=re.compile(f"^Code of {re.escape(MODULE)}"))
        self.original = ""

    async def code(self) -> str:
        return str(await self.page.evaluate("m => window.enginePlayground.code(m)", MODULE))

    async def type_code(self, code: str) -> None:
        """Replace the editor's text as a reader would: focus it, select all, type."""
        await self.editor.click()
        await self.page.keyboard.press("Control+a")
        await self.page.keyboard.insert_text(code)
        assert await self.code() == code

    async def run_code(self, code: str) -> None:
        """Type `code`, press Run code, and wait until the box is live on the engine in this page."""
        await self.type_code(code)
        await self.run.click()
        await self.page.wait_for_function(  # (after a Stop, Python loads again: from the cache this time)
            "() => window.enginePlayground.where === 'browser' && window.engineRuntime.status === 'live'",
            timeout=PYODIDE_LOAD,
        )
        await expect(self.status).to_contain_text("Running your code in this browser")

    async def on_the_server(self) -> None:
        await self.page.wait_for_function(
            "() => window.enginePlayground.where === 'server' && window.engineRuntime.status === 'live'"
        )


async def _collect_requests(context: BrowserContext, requests: list[str]) -> None:
    context.on("request", lambda request: requests.append(request.url))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def playground(browser: Browser, server: DocServer) -> AsyncIterator[Playground]:
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    requests: list[str] = []
    await _collect_requests(context, requests)
    problems: list[str] = []
    context.on("weberror", lambda error: problems.append(f"uncaught: {error.error}"))
    page = await context.new_page()
    await open_live(page, server, BACKGROUND_TASKS_PAGE)
    assert not [url for url in requests if "/assets/pyodide/" in url or "editor.js" in url], "loaded before Edit"
    ground = Playground(page, context, requests)
    await ground.counter.box.get_by_role("button", name="Edit and run this demo's code").click()
    await expect(ground.editor).to_be_visible()
    await expect(ground.status).to_contain_text("Python is ready", timeout=PYODIDE_LOAD)
    ground.original = await ground.code()
    assert STEP in ground.original and GUARD in ground.original and CLEAR in ground.original
    try:
        yield ground
    finally:
        await context.close()
    assert not problems, "problems in the page: " + "; ".join(problems)


async def test_the_editor_passes_axe_light_and_dark_desktop_and_phone_and_tab_leaves_it(
    playground: Playground,
) -> None:
    page = playground.page
    for scheme in ("default", "slate"):  # what mkdocs-material sets for light and dark
        await page.evaluate("s => document.body.setAttribute('data-md-color-scheme', s)", scheme)
        for viewport in (VIEWPORT, PHONE):
            await page.set_viewport_size(viewport)
            assert await axe_problems(page, f"[data-rx-play='{MODULE}']") == [], (scheme, viewport)
            width = await playground.panel.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
            assert width, f"the panel scrolls sideways at {viewport['width']} px"
    await page.evaluate("() => document.body.setAttribute('data-md-color-scheme', 'default')")
    await page.set_viewport_size(VIEWPORT)
    await playground.editor.focus()
    await page.keyboard.press("Tab")  # no keyboard trap: Tab moves on, it does not indent
    assert not await playground.editor.evaluate("el => el.contains(document.activeElement)")
    assert await playground.code() == playground.original


async def test_an_edited_step_runs_in_the_page_the_box_counts_two_four_six(playground: Playground) -> None:
    page, counter = playground.page, playground.counter
    await playground.run_code(playground.original.replace(STEP, STEP.replace("+= 1", "+= 2")))
    await counter.figure.evaluate(
        """el => {
            window.__seen = [];
            new MutationObserver(() => window.__seen.push(el.textContent.trim()))
                .observe(el, {subtree: true, childList: true, characterData: true});
        }"""
    )
    await counter.start.click()
    await expect(counter.figure).to_have_text("6 /")
    await counter.stop.click()
    await expect(counter.start).to_be_visible()
    seen = await page.evaluate("window.__seen")
    assert seen[:3] == ["2 /", "4 /", "6 /"], f"the figure showed {seen}"
    assert (await page.evaluate("s => window.engineRuntime.store[s].counter", COUNTER_STATE)) % 2 == 0


async def test_without_the_guard_two_copies_run_and_the_lab_shows_two_lanes(playground: Playground) -> None:
    page, box = playground.page, playground.counter.box
    await playground.run_code(playground.original.replace(GUARD, ""))
    await open_panel(box)  # the lab panel, on the engine in the page: its own inspector
    toggle = playground.counter.toggle
    await toggle.click()
    await page.wait_for_function("s => (window.engineRuntime.store[s] || {}).counter >= 1", arg=COUNTER_STATE)
    await toggle.click()
    await expect(toggle).to_have_accessible_name("Start")
    await toggle.click()  # within the first copy's sleep: it has not seen the Stop yet
    found = await wait_lanes(box, lambda f: len(task_lanes(f, "my_task")) == 2, "two copies of my_task")
    assert len(task_lanes(found, "my_task")) == 2
    await playground.counter.stop.click()
    await box.get_by_role("button", name="Show what the server does").click()  # closes the panel again


async def test_a_syntax_error_is_marked_at_its_line_and_the_box_goes_back_to_the_server(
    playground: Playground,
) -> None:
    lines = playground.original.splitlines(keepends=True)
    broken_at = next(i for i, line in enumerate(lines) if line.startswith("class MyTaskState")) + 1
    lines[broken_at - 1] = "class MyTaskState(rx.State:\n"
    await playground.type_code("".join(lines))
    await playground.run.click()
    await expect(playground.status).to_contain_text(f"(line {broken_at})")
    await expect(playground.status).to_contain_text("SyntaxError")
    marked = playground.panel.locator(".cm-lintRange-error")
    await expect(marked).to_be_visible()
    line_of_mark = await marked.evaluate("el => el.closest('.cm-line').textContent")
    assert line_of_mark.startswith("class MyTaskState(rx.State:")
    await playground.on_the_server()


async def test_stop_ends_a_handler_that_never_yields_and_the_page_stays_responsive(playground: Playground) -> None:
    page, counter = playground.page, playground.counter
    await playground.run_code(playground.original.replace(CLEAR, CLEAR.replace(
        "self.counter = 0\n", "while True:\n            pass\n")))
    await counter.reset.click()  # the box's own Reset: clear_counter, which now never returns
    await page.wait_for_timeout(300)  # the worker is spinning now
    assert await page.evaluate("1 + 1") == 2  # the page's own thread is free
    began = time.monotonic()
    await playground.stop.click()
    await playground.on_the_server()
    stopped_in = time.monotonic() - began
    await expect(playground.status).to_contain_text("Stopped")
    await expect(counter.error).to_be_hidden()  # the hung click's answer is dropped, not an error
    print(f"Stop to the server's live box: {stopped_in:.2f} s")
    assert await page.evaluate("window.enginePlayground.worker") is None


async def test_a_link_carries_the_edited_code_to_another_reader(
    playground: Playground, browser: Browser, server: DocServer
) -> None:
    edited = playground.original.replace(STEP, STEP.replace("+= 1", "+= 3"))
    await playground.type_code(edited)
    await playground.link.click()
    await expect(playground.status).to_contain_text("carries your code")
    url = playground.page.url
    assert "#edit=demos.background_tasks~" in url
    other = await browser.new_context(viewport=VIEWPORT)  # another reader: no localStorage of ours
    await _collect_requests(other, playground.requests)
    try:
        reader = await other.new_page()
        await reader.goto(url)
        panel = reader.locator(f"[data-rx-play='{MODULE}']")
        await expect(panel.locator("[data-rx-play-status]")).to_contain_text("This link carries edited code")
        code = await reader.evaluate("m => window.enginePlayground.code(m)", MODULE)
        assert code == edited
        assert await reader.evaluate("window.enginePlayground.where") == "server"  # nothing ran by itself
    finally:
        await other.close()


async def test_reset_brings_back_the_page_code_and_the_server_demo(playground: Playground, server: DocServer) -> None:
    page, counter = playground.page, playground.counter
    await playground.run_code(playground.original.replace(STEP, STEP.replace("+= 1", "+= 2")))
    await playground.reset.click()
    await playground.on_the_server()
    assert await playground.code() == playground.original
    assert await page.evaluate("k => window.localStorage.getItem(k)", f"playground.edit.{MODULE}") is None
    assert "#edit=" not in page.url
    await counter.start.click()  # counted by the server again, one by one
    await page.wait_for_function("s => (window.engineRuntime.store[s] || {}).counter >= 2", arg=COUNTER_STATE)
    await counter.stop.click()
    assert (await page.evaluate("s => window.engineRuntime.store[s].counter", COUNTER_STATE)) < 10


async def test_every_request_went_to_the_site_itself(playground: Playground, server: DocServer) -> None:
    origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in playground.requests
               if not url.startswith(("data:", "blob:"))}
    assert origins == {server.url}, origins
    assert any("/assets/pyodide/pyodide.asm.wasm" in url for url in playground.requests)

