"""An error stays shown until the reader acts, even when the event's ack says ok.

A background task that raises before its first `await` (the lab's *Nest two
blocks*) fails before the server acknowledges that it started: the tab
receives `error {event}` and then the ack `{"ok": true}`, which only means
"started". The runtime used to read that ack as success and hide the error
at once, so the reader saw nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.docs_server import DocServer
from tests.browser.pages import open_live
from tests.support.polling import eventually

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

NESTED = re.compile(r"^`async with self` is already open for tab [\w-]{8} in this task; blocks cannot be nested")
FRAME = re.compile(r"^4(\d)/engine,(\d*)(\[.*\])$")  # a Socket.IO event (2) or ack (3) on /engine


def _messages(frames: list[str]) -> list[tuple[str, Any]]:
    """The received frames as ("error", payload) and ("ack", payload), in order."""
    found: list[tuple[str, Any]] = []
    for frame in frames:
        match = FRAME.match(frame)
        if not match:
            continue
        body = json.loads(match.group(3))
        if match.group(1) == "3":
            found.append(("ack", body[0]))
        elif body and body[0] == "error":
            found.append(("error", body[1]))
    return found


async def test_a_task_that_fails_at_once_keeps_its_error_after_the_ok_ack(
    new_context: Any, server: DocServer
) -> None:
    context = await new_context()
    page = await context.new_page()
    received: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(str(payload))))
    await open_live(page, server, "/lab/")
    box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name="Nest two blocks"))
    alert = box.get_by_role("alert")

    await box.get_by_role("button", name="Nest two blocks").click()
    await expect(alert).to_have_text(NESTED)

    # Both messages are in: the error for the event, then its ok ack.
    def error_then_ok_ack() -> bool:
        kinds = [(kind, body.get("ok")) if kind == "ack" else (kind, None) for kind, body in _messages(received)]
        return ("error", None) in kinds and ("ack", True) in kinds[kinds.index(("error", None)):]

    await eventually(error_then_ok_ack, what="the error and then the ok ack of the click")
    # Let the runtime handle the ack (it runs in the page's event loop, after the frame).
    await page.evaluate("() => new Promise(resolve => setTimeout(resolve, 0))")
    await expect(alert).to_be_visible()
    await expect(alert).to_have_text(NESTED)

    # A click of another control that works is the reader acting: the old error goes.
    await box.get_by_role("button", name="Do it right").click()
    await expect(alert).to_be_hidden()

    # And the dismiss button closes a fresh one.
    await box.get_by_role("button", name="Nest two blocks").click()
    await expect(alert).to_have_text(NESTED)
    await box.get_by_role("button", name="Dismiss this message").click()
    await expect(alert).to_be_hidden()
