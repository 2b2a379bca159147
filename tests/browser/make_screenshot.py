"""Save docs/assets/screenshot.png: the Background tasks page with the counter running.

Not a test. Run it by hand when the page's look changes, then commit the PNG:

    python tests/browser/make_screenshot.py [--out docs/assets/screenshot.png]

It builds the site into a temporary directory, serves it with
`python -m docsite serve` on a free loopback port, presses Start in Chromium
and takes the picture while the counter is on its way.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    CounterBox,
    DocServer,
    build_site,
    chromium_missing_reason,
    open_live,
)
from playwright.async_api import async_playwright, expect

DEFAULT_OUT = ROOT / "docs" / "assets" / "screenshot.png"
SIZE = {"width": 1200, "height": 720}


async def shoot(server: DocServer, out: Path) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=SIZE, color_scheme="light")
            page = await context.new_page()
            counter = CounterBox(page)
            await open_live(page, server)
            # The demo's section heading at the top of the window, the box below it.
            await counter.box.evaluate(
                """box => {
                    let el = box;
                    while (el && !/^H[23]$/.test(el.tagName)) el = el.previousElementSibling;
                    (el || box).scrollIntoView({block: "start"});
                    window.scrollBy(0, -70);
                }"""
            )
            await counter.start.click()
            await expect(counter.heading).to_have_text("4 /", timeout=10_000)
            await page.mouse.move(0, 0)  # no hover styles in the picture
            out.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(out))
            await counter.stop.click()
        finally:
            await browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the PNG to write ({DEFAULT_OUT})")
    args = parser.parse_args(argv)
    reason = chromium_missing_reason()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="screenshot-") as tmp:
        site = build_site(Path(tmp) / "site")
        server = DocServer(site, Path(tmp) / "server.log")
        server.start()
        try:
            asyncio.run(shoot(server, args.out))
        finally:
            server.stop()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
