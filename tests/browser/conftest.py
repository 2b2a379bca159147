"""Fixtures of the browser tests: the real docs server on the built site, one Chromium per session.

Playwright's async API runs in pytest-asyncio's *session* event loop here, so
one browser serves every test: the tests and the async fixtures below all say
``loop_scope="session"``. The docs server is a subprocess
(``python -m docsite serve``) on a free loopback port, one per test module.
Without Chromium these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, chromium_missing_reason
from tests.browser.docs_server import DocServer
from tests.support.env import need

expect.set_options(timeout=5_000)


@pytest.fixture(scope="session", autouse=True)
def _chromium_present() -> None:
    """Checked first, so a machine without Chromium skips before building anything."""
    reason = chromium_missing_reason()
    need(reason is None, reason or "")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test's report ends with the last lines of its docs server's log."""
    report = yield
    server = getattr(item, "funcargs", {}).get("server")
    if report.when == "call" and report.failed and isinstance(server, DocServer):
        report.sections.append((f"docs server log ({server.log_path})", server.log_tail()))
    return report


@pytest.fixture(scope="module")
def server(built_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocServer]:
    """The docs server for one test module; its log is printed if a test fails to start it."""
    doc_server = DocServer(built_site, tmp_path_factory.mktemp("docsite") / "server.log")
    doc_server.start()
    try:
        yield doc_server
    finally:
        doc_server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def new_context(browser: Browser) -> AsyncIterator[Any]:
    """Make fresh browser contexts (each one a separate reader); closes them afterwards.

    An uncaught script error, or a warning from the runtime (engine.js), on any
    of their pages fails the test.
    """
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    def on_console(message: Any) -> None:
        if message.text.startswith("engine.js:"):
            problems.append(f"console {message.type}: {message.text}")

    async def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", VIEWPORT)
        context = await browser.new_context(**options)
        context.set_default_timeout(10_000)
        context.on("weberror", lambda error: problems.append(f"uncaught: {error.error}"))
        context.on("console", on_console)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()
    assert not problems, "problems in the page: " + "; ".join(problems)


@pytest_asyncio.fixture(loop_scope="session")
async def page(new_context: Any) -> Page:
    """A page in a browser context of its own."""
    context = await new_context()
    return await context.new_page()
