"""What the browser tests and make_screenshots.py share: the site build, the docs server, Chromium.

Not a test module. It is imported by name (``import browser_support``) from
this directory, which pytest puts on ``sys.path`` (no ``__init__.py`` here),
and which make_screenshots.py adds itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent


def _shared_conftest() -> ModuleType:
    """tests/conftest.py as a module of its own.

    Every conftest.py outside a package is imported by pytest under the one
    name ``conftest``, so ``from conftest import need`` would find whichever
    was loaded last. This loads the shared one under a private name instead
    (it only defines functions and fixtures, so loading it twice is harmless).
    """
    name = "_browser_tests_shared_conftest"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "conftest.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


_shared = _shared_conftest()
ROOT: Path = _shared.ROOT
CHROMIUM: str = _shared.CHROMIUM
IN_CI: bool = _shared.IN_CI
need = _shared.need
free_port = _shared.free_port

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Wide enough for mkdocs-material's left navigation sidebar (shown from 76.25em).
VIEWPORT = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

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


def chromium_missing_reason() -> str | None:
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return None
    return (
        f"no Chromium at {CHROMIUM}: the browser tests drive the system Chromium, not a browser "
        "downloaded by `playwright install`; install it (apt-get install chromium) or set CHROMIUM=/path"
    )


def build_site(dest: Path) -> Path:
    """`mkdocs build --strict` of the working tree into `dest`; the build's output on failure."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(dest)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0 or not (dest / "index.html").is_file():
        raise RuntimeError(
            f"mkdocs build --strict failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return dest


class DocServer:
    """`python -m docsite serve` as a subprocess on a fixed loopback port; restartable."""

    def __init__(self, site: Path, log_path: Path, port: int | None = None) -> None:
        self.site = site
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> None:
        assert self.process is None, "already running"
        # The CLI points the fetch demo at its own /api/quote unless told otherwise.
        env = {k: v for k, v in os.environ.items() if k != "DEMO_QUOTE_URL"}
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "docsite", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--site", str(self.site)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"docs server exited with {code} before serving:\n{self.log_tail()}")
            try:
                if self.health().get("ok"):
                    return
            except (OSError, ValueError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docs server did not answer /healthz within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
            return dict(json.loads(response.read()))

    def details(self) -> dict[str, Any]:
        """/healthz/details (open to loopback clients): tabs, background tasks, state manager."""
        with urllib.request.urlopen(f"{self.url}/healthz/details", timeout=2) as response:
            return dict(json.loads(response.read()))

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


class DemoBox:
    """What every demo box has: a status line with a note, and a dismissable error."""

    box: Any

    def _footer(self) -> None:
        self.status = self.box.locator("[data-rx-status]")
        self.note = self.box.locator("[data-rx-note]")
        self.error = self.box.get_by_role("alert")
        self.dismiss = self.box.get_by_role("button", name="Dismiss this message")


class CounterBox(DemoBox):
    """The counter demo on a page, found by what a reader sees: its Reset button."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name="Reset"))
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


DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>demo probe</title>
<link rel="stylesheet" href="demo.css"></head>
<body><article class="md-typeset">{boxes}</article>
<script src="assets/engine/socket.io.min.js"></script>
<script src="assets/engine/core.js"></script>
<script src="assets/engine/engine.js"></script>
</body></html>
"""


@contextlib.asynccontextmanager
async def demo_page(directory: Path, *targets: str) -> AsyncIterator[str]:
    """A bare page with the demo boxes `targets` (``module:function``), served in-process.

    The page loads the runtime and demo.css, nothing of mkdocs-material; a
    fresh App serves it. Yields the page's URL.
    """
    import engine as rx
    from docsite.fences import render_demo
    from docsite.hooks.assets import copy_assets
    from docsite.server import create_asgi
    from engine.testing import serve

    boxes = "\n".join(render_demo(target) for target in targets)
    (directory / "index.html").write_text(DEMO_PAGE.format(boxes=boxes), encoding="utf-8")
    shutil.copyfile(ROOT / "docs" / "assets" / "stylesheets" / "demo.css", directory / "demo.css")
    copy_assets(directory)
    app = rx.App()
    try:
        async with serve(create_asgi(directory, app)) as url:
            yield url + "/"
    finally:
        await app.shutdown(timeout=2)
