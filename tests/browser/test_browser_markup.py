"""A state value holding markup reaches the page as text, both server-rendered and live.

Uses a test-only demo (browser_markup_demo.py) rendered with docsite.fences.render_demo
into a minimal page that loads the runtime, served in-process by the docs server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_markup_demo import FIRST, SECOND
from playwright.async_api import Page, expect

import engine as rx
from docsite.hooks.assets import copy_assets
from docsite.server import create_asgi
from docsite.fences import render_demo
from engine.testing import serve

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>markup probe</title></head>
<body>{box}
<script src="assets/engine/socket.io.min.js"></script>
<script src="assets/engine/engine.js"></script>
</body></html>
"""


async def test_markup_in_a_state_value_is_shown_as_text(page: Page, tmp_path: Path) -> None:
    box_html = render_demo("browser_markup_demo:markup_example")
    (tmp_path / "index.html").write_text(PAGE.format(box=box_html), encoding="utf-8")
    copy_assets(tmp_path)

    app = rx.App()
    try:
        async with serve(create_asgi(tmp_path, app)) as url:
            await page.goto(url + "/")
            box = page.locator("[data-rx-demo]")
            text = box.locator("p")
            # Server-rendered, before and after the runtime connects.
            await expect(text).to_have_text(FIRST)
            await expect(box.locator("[data-rx-status]")).to_have_text("live")
            await expect(text).to_have_text(FIRST)

            # A value sent by the server later.
            await box.get_by_role("button", name="Swap").click()
            await expect(text).to_have_text(SECOND)
            assert await page.locator("img, b, p script").count() == 0
            assert await page.evaluate("window.__injected") is None
    finally:
        await app.shutdown(timeout=2)
