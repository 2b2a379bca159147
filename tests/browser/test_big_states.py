"""The Big states page in a real browser: a streamed reply and a live table, checked against the server.

The page's copy of each state is built only from the updates it received,
whose changes come as operations (`ins`, `set` at a path, `text`, `del`,
`add` to a set, and whole values). The server's own values come from the lab's
inspector, which reads them at each commit, under the lock. After every
update the server reports, the page's copy at that seq must equal them, and
the text the page shows must be the list written into its template.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.docs_server import DocServer
from tests.browser.pages import open_live
from tests.browser.test_lab import open_panel

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PAGE = "/big-states/"
CHAT = "state.chat_state"
ORDERS = "state.orders_state"

# In the page: the copy of every state after each update (by seq), and the server's values after each
# commit the inspector reported (by the seq that commit sent). Socket.IO calls engine.js's own update
# listener first, so the copy read here has the update applied.
RECORD = """() => {
    const rt = window.engineRuntime;
    window.__copies = {};
    window.__server = [];
    window.__ops = new Set();
    rt.socket.on("update", msg => {
        if (typeof msg.seq !== "number") return;
        window.__copies[msg.seq] = JSON.parse(JSON.stringify(rt.store));
        for (const vars of Object.values(msg.ops || {}))
            for (const ops of Object.values(vars)) for (const op of ops) window.__ops.add(op[0]);
        for (const vars of Object.values(msg.delta || {}))
            for (const name of Object.keys(vars)) if (name.indexOf("@") < 0) window.__ops.add("value");
    });
    rt.onTrace(msg => {
        const seqs = msg.events.map(e => e.detail && e.detail.seq).filter(s => typeof s === "number");
        if (msg.values && seqs.length) window.__server.push({seq: Math.max(...seqs), values: msg.values});
    });
}"""

READ = "() => ({copies: window.__copies, server: window.__server, ops: [...window.__ops], seq: engineRuntime.seq})"


def _join(items: list[dict[str, Any]], template: str, sep: str) -> str:
    def fill(item: dict[str, Any]) -> str:
        return re.sub(r"\{(\w*)\}", lambda m: str(item.get(m.group(1), "")), template)

    return sep.join(fill(item) for item in items)


async def _compare(page: Page, names: dict[str, list[str]]) -> tuple[int, set[str]]:
    """Every server report so far against the page's copy at that seq; (how many compared, op kinds seen)."""
    seen = await page.evaluate(READ)
    compared = 0
    for report in seen["server"]:
        copy = seen["copies"].get(str(report["seq"]))
        if copy is None:
            continue  # (a seq the page had before it started recording)
        for state, vars_ in names.items():
            for var in vars_:
                assert copy[state][var] == report["values"][state][var], (state, var, report["seq"])
        compared += 1
    return compared, set(seen["ops"])


class ChatBox:
    def __init__(self, page: Page) -> None:
        self.box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name="Ask the next question"))
        self.ask = self.box.get_by_role("button", name="Ask the next question")
        self.stop = self.box.get_by_role("button", name="Stop")
        self.clear = self.box.get_by_role("button", name="Clear")
        self.transcript = self.box.get_by_role("region", name="Transcript")
        self.bar = self.box.get_by_role("progressbar", name="Reply progress")
        self.line = self.box.get_by_text(re.compile(r"^Reply: (idle|running|done|cancelled|failed)$"))


async def _store(page: Page, state: str) -> dict[str, Any]:
    return await page.evaluate("s => engineRuntime.store[s]", state)  # type: ignore[no-any-return]


async def _shows_its_copy(page: Page, state: str, var: str, template: str, sep: str, region: Locator) -> None:
    """The text the page shows is its copy of the list, written into the template (read in one go)."""
    shown, copy = await page.evaluate(
        "([el, s, v]) => [el.textContent, engineRuntime.store[s][v]]", [await region.element_handle(), state, var]
    )
    assert shown == _join(copy, template, sep)


async def test_a_streamed_reply_matches_the_server_after_every_update(server: DocServer, new_context: Any) -> None:
    page = await (await new_context()).new_page()
    await open_live(page, server, PAGE)
    chat = ChatBox(page)
    panel = await open_panel(chat.box)
    await page.evaluate(RECORD)

    # One whole reply: `ins` for the two new messages, `set` at a path while it is short, then `text`.
    await chat.ask.click()
    await expect(chat.line).to_have_text("Reply: running")
    checked = 0
    deadline = time.monotonic() + 30
    while (await chat.line.text_content()) != "Reply: done":
        assert time.monotonic() < deadline, "the reply never finished"
        await _shows_its_copy(page, CHAT, "messages", "{who}: {text}", "\n\n", chat.transcript)
        checked += 1
        await asyncio.sleep(0.05)
    assert checked >= 5, "the transcript was read while the reply streamed"
    await expect(chat.bar).to_have_attribute("value", "1")
    copy = await _store(page, CHAT)
    assert copy["messages"][-1]["who"] == "Reply" and copy["messages"][-1]["text"].endswith("it works.")

    # The lab labels the reply's updates with their sizes: small, however long the transcript is.
    sizes = panel.locator("[data-lab-sizes]")
    await expect(sizes).to_be_visible()
    await expect(sizes).to_contain_text(re.compile(r"#\d+ \d+ B"))
    dots = await panel.locator("[data-mark='update'][data-bytes]").evaluate_all(
        "els => els.map(e => +e.dataset.bytes)")
    assert len(dots) >= 20 and max(dots[2:]) <= 400, dots

    # Replies stopped after a few tokens, until the oldest messages go (`del`).
    for _ in range(5):
        await chat.ask.click()
        await expect(chat.stop).to_be_enabled()
        await page.wait_for_timeout(250)
        await chat.stop.click()
        await expect(chat.line).to_have_text("Reply: cancelled")
    copy = await _store(page, CHAT)
    assert len(copy["messages"]) == 12 and copy["messages"][-1]["text"].endswith(" [stopped]")

    await page.wait_for_timeout(300)  # the inspector's last batch
    compared, ops = await _compare(page, {CHAT: ["messages", "asked"]})
    assert compared >= 30, compared
    assert {"ins", "set", "text", "del"} <= ops, ops

    # Clear replaces the whole list: sent as its value.
    await chat.clear.click()
    await expect(chat.transcript).to_have_text("Reply: Cleared. Ask again.")
    await page.wait_for_timeout(300)
    compared_after, ops = await _compare(page, {CHAT: ["messages", "asked"]})
    assert compared_after > compared and "value" in ops


async def test_the_live_table_matches_the_server_after_every_change(server: DocServer, new_context: Any) -> None:
    page = await (await new_context()).new_page()
    await open_live(page, server, PAGE)
    box = page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name="Change 40 orders"))
    region = box.get_by_role("region", name="Orders")
    await open_panel(box)
    await page.evaluate(RECORD)
    await box.get_by_role("button", name="Change 40 orders").click()
    changes = box.get_by_text(re.compile(r"^Changes so far: "))
    await expect(changes).to_have_text(re.compile(r"^Changes so far: (?:[6-9]|\d\d),"), timeout=15_000)
    await _shows_its_copy(page, ORDERS, "orders", "order {id}: {status}", "\n", region)
    await box.get_by_role("button", name="Stop").click()
    await expect(box.get_by_role("button", name="Reset")).to_be_enabled()
    await page.wait_for_timeout(300)
    compared, ops = await _compare(page, {ORDERS: ["orders", "flagged", "changes"]})
    assert compared >= 6 and {"set", "add"} <= ops, (compared, ops)
    copy = await _store(page, ORDERS)
    moved = sorted(order["id"] for order in copy["orders"] if order["status"] != "open")
    assert moved == copy["flagged"] and len(copy["orders"]) == 1_000
    assert json.dumps(copy["flagged"]) != "[]"
    await _shows_its_copy(page, ORDERS, "orders", "order {id}: {status}", "\n", region)
