""""Your first background task": the page's app.py, served with uvicorn as the page says, works in Chromium.

app.py is taken from the built page into a folder of its own and started
there with `uvicorn app:asgi`; the reader's page connects and counts down from
5 to 0 while the task's status says running and then done.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.axe import axe_problems
from tests.support.first_task import PYTHON, reader_env, reader_folder
from tests.support.ports import free_port, port_open

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def readers_server(built_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`uvicorn app:asgi` in the reader's folder, on a free loopback port; its base URL."""
    folder = reader_folder(built_site, tmp_path_factory.mktemp("reader") / "countdown")
    port = free_port()
    log = open(folder / "uvicorn.log", "wb")  # closed below, after the server
    process = subprocess.Popen(
        [PYTHON, "-m", "uvicorn", "app:asgi", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder, env=reader_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_open(port):
            assert process.poll() is None, (folder / "uvicorn.log").read_text()
            assert time.monotonic() < deadline, "uvicorn did not listen within 20 s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def test_the_readers_page_counts_down_live_and_a_click_while_it_runs_is_ignored(
    new_context: Any, readers_server: str
) -> None:
    context = await new_context()
    page = await context.new_page()
    await page.goto(readers_server + "/")
    number = page.get_by_role("heading")
    status = page.get_by_text("Task: ")
    button = page.get_by_role("button", name="Start the countdown")
    await expect(number).to_have_text("5")  # from the HTML, before the socket
    await expect(page.locator("[data-rx-status]")).to_have_text("live")
    await expect(button).to_be_enabled()

    await button.click()
    await expect(status).to_have_text("Task: running")
    await expect(button).to_have_attribute("aria-busy", "true")
    await button.click(force=True)  # busy: ignored by the page; even if sent, skipped by the server
    await expect(number).to_have_text("0", timeout=10_000)
    await expect(status).to_have_text("Task: done")
    await expect(page.get_by_role("alert")).to_be_hidden()
    assert await page.evaluate("() => window.engineRuntime.store['state.countdown_state'].left") == 0
    assert await axe_problems(page) == []

    # Another tab has a countdown of its own, still at 5.
    other = await (await new_context()).new_page()
    await other.goto(readers_server + "/")
    await expect(other.locator("[data-rx-status]")).to_have_text("live")
    await expect(other.get_by_role("heading")).to_have_text("5")
