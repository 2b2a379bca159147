"""A bare page with some demo boxes, served in-process: the runtime and demo.css, nothing of mkdocs-material."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import engine as rx
from docsite.fences import render_demo
from docsite.hooks.assets import copy_assets
from docsite.server import create_asgi
from engine.testing import serve
from tests.support.env import ROOT

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
