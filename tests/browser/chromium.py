"""The system Chromium the browser tests drive (not a browser downloaded by `playwright install`), and its windows."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
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


def chromium_missing_reason() -> str | None:
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return None
    return (
        f"no Chromium at {CHROMIUM}: the browser tests drive the system Chromium, not a browser "
        "downloaded by `playwright install`; install it (apt-get install chromium) or set CHROMIUM=/path"
    )
