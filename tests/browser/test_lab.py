"""The lab page in a real browser, against the real docs server: each box and what its panel draws.

Each box of the lab page is driven by what a reader sees in it (its buttons
and texts), its "Show what the server does" panel is opened, and the test
asserts what the panel's timeline draws: the lanes (one per task copy, one
for the tab's regular events) and their marks (lock held, lock waited for,
updates with their seq, errors, the end of a copy). The SVG carries the
same facts as data attributes (`data-lane`, `data-mark`, `data-seq`,
`data-duration`, `data-status`), which is what is read here.

Also: a state that did not opt in never sends a backend var, the panel
costs nothing while closed, the reader window of the "tab is gone" box, and
Mermaid diagrams drawn with no request leaving the site.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.axe import axe_problems
from tests.browser.chromium import PHONE
from tests.browser.docs_server import DocServer
from tests.browser.pages import FetchBox, open_live
from tests.support.env import ROOT
from tests.support.polling import eventually

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LAB = "/lab/"
TOGGLE = "Show what the server does"
OUTSIDE_MESSAGE = (
    "cannot set LabImmutableState.count outside `async with self`; "
    "use `async with self:` in the background task to change state"
)
# Pages with ```mermaid fences, and how many each has.
N_TASKS = "[data-lab-rows] tr[data-var='state.my_task_state._n_tasks'] td"  # the guard, in the table
def _diagram_pages() -> dict[str, int]:
    """Every page with ```mermaid fences in its source, and how many (so a new diagram is checked too)."""
    pages = {}
    for source in sorted((ROOT / "docs").rglob("*.md")):
        count = source.read_text(encoding="utf-8").count("```mermaid")
        if count:
            path = source.relative_to(ROOT / "docs").with_suffix("").as_posix()
            pages["/" if path == "index" else f"/{path.removesuffix('/index')}/"] = count
    return pages


DIAGRAM_PAGES = _diagram_pages()


# -- reading a panel ----------------------------------------------------------------------------

READ_LANES = """box => [...box.nextElementSibling.querySelectorAll('[data-lab-svg] g[data-lane]')].map(g => {
    const marks = kind => [...g.querySelectorAll(`[data-mark="${kind}"]`)];
    const bar = r => ({x: +r.getAttribute('x'), duration: +r.dataset.duration, open: r.dataset.open === 'true'});
    return {
        lane: g.dataset.lane,
        kind: g.dataset.laneKind,
        status: g.dataset.status || null,
        duration: g.dataset.duration === undefined ? null : +g.dataset.duration,
        label: g.querySelector('.lab-lane-label').textContent,
        holds: marks('hold').map(bar),
        waits: marks('wait').map(bar),
        updates: marks('update').map(c => ({x: +c.getAttribute('cx'), seq: +c.dataset.seq})),
        errors: marks('error').map(p => ({x: +p.getAttribute('d').split(' ')[0].slice(1) + 5,
                                          message: p.dataset.message})),
        ended: marks('end').length > 0,
    };
})"""

Lanes = list[dict[str, Any]]


async def lanes(box: Locator) -> Lanes:
    return await box.evaluate(READ_LANES)  # type: ignore[no-any-return]


def task_lanes(found: Lanes, handler: str) -> Lanes:
    return [lane for lane in found if lane["kind"] == "task" and lane["lane"].startswith(handler + "#")]


def events_lane(found: Lanes) -> dict[str, Any]:
    (lane,) = [lane for lane in found if lane["lane"] == "events"]
    return lane


async def wait_lanes(box: Locator, predicate: Callable[[Lanes], bool], what: str, timeout: float = 10) -> Lanes:
    """Wait until the panel's timeline shows what `predicate` asks for; returns the lanes."""
    deadline = time.monotonic() + timeout
    found = await lanes(box)
    while not predicate(found):
        assert time.monotonic() < deadline, f"the timeline never showed {what}: {json.dumps(found)[:2000]}"
        await asyncio.sleep(0.05)
        found = await lanes(box)
    return found


def panel_of(box: Locator) -> Locator:
    """A box's panel: the element right after the box."""
    return box.locator("xpath=following-sibling::*[1][@data-lab-panel]")


async def open_panel(box: Locator) -> Locator:
    toggle = box.get_by_role("button", name=TOGGLE)
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    panel = panel_of(box)
    await expect(panel).to_be_visible()
    assert await toggle.get_attribute("aria-controls") == await panel.get_attribute("id")
    # The table holds the box's states as soon as the server's first trace arrived.
    await expect(panel.locator("[data-lab-rows] tr[data-var]").first).to_be_visible()
    return panel


def box_with(page: Page, button: str) -> Locator:
    return page.locator("[data-rx-demo]").filter(has=page.get_by_role("button", name=button, exact=True))


async def open_lab(new_context: Any, server: DocServer, **options: Any) -> Page:
    context = await new_context(**options)
    page = await context.new_page()
    await open_live(page, server, LAB)
    return page


# -- every behaviour, one box each ----------------------------------------------------------------------


async def test_stale_read_the_box_shows_both_readings_and_the_clicks_between_the_blocks(
    new_context: Any, server: DocServer
) -> None:
    page = await open_lab(new_context, server)
    box = box_with(page, "Read it twice")
    await open_panel(box)
    await box.get_by_role("button", name="Read it twice").click()
    await wait_lanes(box, lambda f: any(len(lane["holds"]) >= 2 for lane in task_lanes(f, "read_twice")),
                     "the task's first block")
    await box.get_by_role("button", name="Add one").click()
    await box.get_by_role("button", name="Add one").click()
    await expect(box.get_by_text("value = 3")).to_be_visible()
    await expect(box.get_by_text("Read outside the block: 1")).to_be_visible(timeout=6_000)
    await expect(box.get_by_text("Read inside the next block: 3")).to_be_visible()

    found = await wait_lanes(box, lambda f: [lane["status"] for lane in task_lanes(f, "read_twice")] == ["done"],
                             "the task's end")
    (task,) = task_lanes(found, "read_twice")
    clicks = events_lane(found)["holds"]
    assert len(clicks) == 2 and len(events_lane(found)["updates"]) == 2
    first_block, last_block = task["holds"][1], task["holds"][-2]  # [0] admission, [-1] the final status
    # The clicks held the lock in the gap between the task's two blocks.
    assert all(first_block["x"] < click["x"] < last_block["x"] for click in clicks), (task, clicks)
    assert task["ended"] and task["label"].startswith(task["lane"] + ": done after 3.")


async def test_immutable_the_box_shows_the_engines_message_and_the_timeline_that_nothing_was_sent(
    new_context: Any, server: DocServer
) -> None:
    page = await open_lab(new_context, server)
    box = box_with(page, "Do it right")
    await open_panel(box)
    await box.get_by_role("button", name="Add outside the block").click()
    await expect(box.get_by_role("alert")).to_have_text(OUTSIDE_MESSAGE)
    await expect(box.get_by_text("count = 0")).to_be_visible()

    found = await wait_lanes(box, lambda f: [lane["status"] for lane in task_lanes(f, "add_outside")] == ["failed"],
                             "the failed copy")
    (failed,) = task_lanes(found, "add_outside")
    (error,) = failed["errors"]
    assert error["message"] == OUTSIDE_MESSAGE
    admission = failed["holds"][0]
    # Nothing between being admitted and the error: no block, no update for the change.
    assert [hold for hold in failed["holds"] if admission["x"] < hold["x"] < error["x"] - 2] == []
    assert [u for u in failed["updates"] if admission["x"] + 6 < u["x"] < error["x"] - 2] == []
    # The panel's table shows the task's error as the server holds it.
    row = panel_of(box).locator("[data-lab-rows] tr[data-var='state.lab_immutable_state.add_outside@error'] td")
    await expect(row).to_have_text(json.dumps(OUTSIDE_MESSAGE))

    await box.get_by_role("button", name="Do it right").click()
    await expect(box.get_by_text('count = 1, names = ["name 1"]')).to_be_visible()
    found = await wait_lanes(box, lambda f: [lane["status"] for lane in task_lanes(f, "add_inside")] == ["done"],
                             "the right copy's end")
    (right,) = task_lanes(found, "add_inside")
    assert len(right["updates"]) >= 3 and right["errors"] == []  # admission, the change, the final status


async def _stop_and_start_quickly(box: Locator, state: str) -> None:
    """Start; after a tick, Stop and Start again while the first copy sleeps."""
    page = box.page
    toggle = box.locator("button").first
    await toggle.click()
    await page.wait_for_function("s => ((window.engineRuntime.store[s] || {}).counter || 0) >= 1", arg=state)
    await toggle.click()
    await expect(toggle).to_have_accessible_name("Start")
    await toggle.click()
    await expect(toggle).to_have_accessible_name("Stop")


async def test_duplicates_without_the_guard_two_lanes_count_at_double_speed_with_it_one_lane_is_short(
    new_context: Any, server: DocServer
) -> None:
    page = await open_lab(new_context, server)
    unguarded = page.locator("[data-rx-demo='demos.lab_duplicates:unguarded_example']")
    guarded = page.locator("[data-rx-demo]").filter(has=page.get_by_role("spinbutton", name="Limit"))
    await open_panel(unguarded)
    await open_panel(guarded)

    await _stop_and_start_quickly(unguarded, "state.lab_unguarded_state")
    found = await wait_lanes(
        unguarded,
        lambda f: len(task_lanes(f, "my_task")) == 2 and all(len(t["updates"]) >= 3 for t in task_lanes(f, "my_task")),
        "two counting copies",
    )
    assert all(lane["status"] is None for lane in task_lanes(found, "my_task"))
    figure = unguarded.locator(".rx-counter")
    start, began = int((await figure.text_content()) or 0), time.monotonic()
    await page.wait_for_function(
        "n => (window.engineRuntime.store['state.lab_unguarded_state'] || {}).counter >= n", arg=start + 6
    )
    elapsed = time.monotonic() - began
    assert elapsed < 2.4, f"six ticks took {elapsed:.1f}s: one copy would need 2.5 to 3 s"
    await unguarded.locator("button").first.click()  # Stop: both copies leave
    await wait_lanes(unguarded, lambda f: [t["status"] for t in task_lanes(f, "my_task")] == ["done", "done"],
                     "both copies ending")

    await _stop_and_start_quickly(guarded, "state.my_task_state")
    found = await wait_lanes(guarded, lambda f: len(task_lanes(f, "my_task")) == 2
                             and task_lanes(f, "my_task")[1]["status"] == "done", "the second copy leaving")
    counting, short = task_lanes(found, "my_task")
    assert short["duration"] < 0.25 and short["ended"], short  # visibly short: it left in its first blocks
    assert counting["status"] is None and not counting["ended"]
    counted = len(counting["updates"])
    found = await wait_lanes(guarded, lambda f: len(task_lanes(f, "my_task")[0]["updates"]) >= counted + 2,
                             "the first copy counting on")
    assert len(task_lanes(found, "my_task")) == 2  # no third copy, and the short one stays short
    # The guard, opted in to the table by demos/lab_duplicates.py.
    await expect(panel_of(guarded).locator(N_TASKS)).to_have_text("1")
    await guarded.locator("button").first.click()


async def test_waiting_a_click_waits_while_the_task_sleeps_inside_its_block_and_not_outside(
    new_context: Any, server: DocServer
) -> None:
    page = await open_lab(new_context, server)
    box = box_with(page, "Click me meanwhile")
    await open_panel(box)
    await box.get_by_role("button", name="Sleep inside the block").click()
    # The panel shows the task holding the lock in a block (an open bar, after its admission).
    await wait_lanes(box, lambda f: any(len(t["holds"]) >= 2 and t["holds"][-1]["open"]
                                        for t in task_lanes(f, "sleep_inside")), "the task holding the lock")
    began = time.monotonic()
    await box.get_by_role("button", name="Click me meanwhile").click()
    await expect(box.get_by_text("clicks = 1")).to_be_visible(timeout=3_000)
    assert time.monotonic() - began >= 0.4, "the click was answered while the lock was held"
    def waited(f: Lanes) -> bool:
        waits = events_lane(f)["waits"]
        return bool(waits) and waits[-1]["duration"] > 0 and not waits[-1]["open"]

    found = await wait_lanes(box, waited, "the click's wait")
    long_wait = max(wait["duration"] for wait in events_lane(found)["waits"])
    assert long_wait >= 0.4
    (inside,) = task_lanes(found, "sleep_inside")
    assert max(hold["duration"] for hold in inside["holds"]) >= 0.9  # a second asleep with the lock

    await wait_lanes(box, lambda f: task_lanes(f, "sleep_inside")[0]["status"] == "done", "the wrong task's end")
    waits_before = len(events_lane(await lanes(box))["waits"])
    await box.get_by_role("button", name="Sleep outside the block").click()
    await expect(box.get_by_text("ticks = 4")).to_be_visible()
    await box.get_by_role("button", name="Click me meanwhile").click()
    await expect(box.get_by_text("clicks = 2")).to_be_visible(timeout=1_000)
    found = await wait_lanes(box, lambda f: len(events_lane(f)["waits"]) > waits_before, "the second click")
    assert all(wait["duration"] < 0.2 for wait in events_lane(found)["waits"][waits_before:])
    found = await wait_lanes(box, lambda f: task_lanes(f, "sleep_outside")[0]["status"] == "done",
                             "the right task's end")
    (outside,) = task_lanes(found, "sleep_outside")
    assert max(hold["duration"] for hold in outside["holds"]) < 0.2


async def test_tab_gone_the_reader_window_pairs_without_tokens_and_its_task_stops_when_it_closes(
    new_context: Any, server: DocServer
) -> None:
    context = await new_context()
    page = await context.new_page()
    await open_live(page, server, LAB)
    box = box_with(page, "Open a reader window")
    report = box.locator("p").first
    await open_panel(box)
    async with context.expect_page() as opened:
        await box.get_by_role("button", name="Open a reader window").click()
    reader = await opened.value
    await expect(report).to_have_text("Waiting for the reader window to start its task.")
    await expect(reader.locator("[data-rx-status]")).to_have_text("live")

    # Two tabs, two tokens; neither ever reaches the other, nor an address.
    lab_ticket = await page.evaluate("() => sessionStorage.getItem('engine.ticket')")
    reader_ticket = await reader.evaluate("() => sessionStorage.getItem('engine.ticket')")
    lab_token, reader_token = lab_ticket.split(".")[0], reader_ticket.split(".")[0]
    assert lab_token != reader_token
    assert re.fullmatch(re.escape(server.url) + r"/lab-reader/\?pair=[0-9a-f]{32}", reader.url)
    assert lab_token not in reader.url and lab_token not in await reader.content()

    await reader.get_by_role("button", name="Start the task").click()
    await expect(report).to_have_text(re.compile(r"step [2-9]\.$"), timeout=5_000)
    await expect(reader.get_by_text(re.compile(r"Steps counted here: [2-9]"))).to_be_visible()
    running = await _tasks(server)  # the reader's task among them
    await reader.close()
    await expect(report).to_have_text(re.compile(r"^Stopped on the server after \d+ steps: its tab is gone\.$"),
                                      timeout=3_000)
    await _wait_for_tasks_at_most(server, running - 1)  # long before tab_grace (60 s) would end it

    found = await wait_lanes(
        box, lambda f: any(lane["lane"].startswith("count_until_gone#") and len(lane["updates"]) >= 3 for lane in f),
        "the reader's task writing here",
    )
    (other,) = [lane for lane in found if lane["lane"].startswith("count_until_gone#")]
    assert other["kind"] == "other" and len(other["updates"]) >= 3
    assert reader_token not in await page.content()


async def _tasks(server: DocServer) -> int:
    return int((await asyncio.to_thread(server.details))["background_tasks"])


async def _wait_for_tasks_at_most(server: DocServer, most: int, timeout: float = 3) -> None:
    deadline = time.monotonic() + timeout
    while (count := await _tasks(server)) > most:
        assert time.monotonic() < deadline, f"{count} background tasks still run on the server, expected {most}"
        await asyncio.sleep(0.1)


async def test_chain_the_yielded_rows_run_in_the_events_lane_and_the_chained_task_gets_a_lane(
    new_context: Any, server: DocServer
) -> None:
    page = await open_lab(new_context, server)
    box = box_with(page, "Build three rows")
    await open_panel(box)
    await box.get_by_role("button", name="Build three rows").click()
    summary = box.get_by_text(re.compile("summarize, the chained task, counted 3 rows"))
    await expect(summary).to_be_visible(timeout=5_000)
    found = await wait_lanes(box, lambda f: [t["status"] for t in task_lanes(f, "build") + task_lanes(f, "summarize")]
                             == ["done", "done"], "both tasks ending")
    (build,) = task_lanes(found, "build")
    (summarize,) = task_lanes(found, "summarize")
    rows = events_lane(found)["holds"]
    assert len(rows) == 3 and len(events_lane(found)["updates"]) == 3
    # The yielding task never held the lock itself: only its admission and final status.
    assert len(build["holds"]) == 2
    assert build["holds"][0]["x"] < rows[0]["x"] and rows[-1]["x"] <= summarize["holds"][0]["x"] + 1


async def test_fetch_the_coroutine_that_calls_modify_state_gets_a_lane_with_one_update(
    new_context: Any, server: DocServer
) -> None:
    page = await open_lab(new_context, server)
    fetch = FetchBox(page)
    await open_panel(fetch.box)
    quote = await fetch.fetch()
    assert quote
    found = await wait_lanes(fetch.box, lambda f: [t["status"] for t in task_lanes(f, "_fetch_data")] == ["done"],
                             "the coroutine's lane, ended")
    (coroutine,) = task_lanes(found, "_fetch_data")  # started by fetch_data with app.create_task
    assert len(coroutine["holds"]) == 1 and len(coroutine["updates"]) == 1  # one modify_state block, one update
    assert coroutine["holds"][0]["x"] > events_lane(found)["holds"][0]["x"]
    assert len(events_lane(found)["holds"]) == 1  # fetch_data itself


# -- what the panel sends and costs ----------------------------------------------------------------


async def _record_frames(page: Page) -> tuple[list[str], list[str]]:
    sent: list[str] = []
    received: list[str] = []

    def on_socket(ws: Any) -> None:
        ws.on("framesent", lambda payload: sent.append(str(payload)))
        ws.on("framereceived", lambda payload: received.append(str(payload)))

    page.on("websocket", on_socket)
    return sent, received


def _inspects(frames: list[str]) -> list[Any]:
    found = []
    for frame in frames:
        match = re.match(r'^42/engine,\d*\["inspect",(.*)\]$', frame)
        if match:
            found.append(json.loads(match.group(1)))
    return found


async def test_the_panel_costs_nothing_closed_and_is_turned_off_on_close_reconnect_and_navigation(
    new_context: Any, server: DocServer
) -> None:
    context = await new_context()
    page = await context.new_page()
    sent, received = await _record_frames(page)
    await open_live(page, server, LAB)
    box = box_with(page, "Read it twice")
    await box.get_by_role("button", name="Add one").click()
    await expect(box.get_by_text("value = 2")).to_be_visible()
    assert _inspects(sent) == [] and not any('"trace"' in frame for frame in received)
    assert await page.evaluate("() => window.engineRuntime.inspecting") is None

    await open_panel(box)
    ((first,),) = [_inspects(sent)]
    assert first["on"] is True and "state.lab_stale_state" in first["states"]
    await open_panel(box_with(page, "Build three rows"))  # a second panel asks nothing more
    assert len(_inspects(sent)) == 1
    await box.get_by_role("button", name=TOGGLE).click()
    assert len(_inspects(sent)) == 1  # one panel is still open
    await box_with(page, "Build three rows").get_by_role("button", name=TOGGLE).click()
    await eventually(lambda: _inspects(sent) == [first, {"on": False}], what="inspect off after the last panel closed")

    # Open again, then lose the connection: the new socket is asked again.
    await open_panel(box)
    await eventually(lambda: len(_inspects(sent)) == 3, what="inspect on again")
    await page.evaluate("() => window.engineRuntime.socket.io.engine.close()")
    await eventually(lambda: len(_inspects(sent)) == 4, what="inspect on, re-sent after the reconnect", timeout=10)
    assert _inspects(sent)[-1]["on"] is True
    await expect(box.locator("[data-rx-status]")).to_have_text("live")
    await box.get_by_role("button", name="Add one").click()
    await wait_lanes(box, lambda f: len(events_lane(f)["holds"]) >= 1, "the click after the reconnect")

    # Instant navigation away from the open panel turns the inspector off.
    await page.get_by_role("navigation").get_by_role("link", name="Background tasks", exact=True).first.click()
    await expect(page).to_have_url(re.compile(r"/background-tasks/$"))
    await eventually(lambda: _inspects(sent)[-1] == {"on": False}, what="inspect off after navigating away")
    assert await page.evaluate("() => window.engineRuntime.inspecting") is None
    # The new page's boxes have their toggles too, closed.
    counter = page.locator('[data-rx-demo="demos.background_tasks:background_task_example"]')
    await expect(counter.get_by_role("button", name=TOGGLE)).to_have_attribute("aria-expanded", "false")


async def test_a_state_that_did_not_opt_in_never_sends_a_backend_var_inspector_open_or_not(
    new_context: Any, server: DocServer
) -> None:
    context = await new_context()
    page = await context.new_page()
    _, received = await _record_frames(page)
    await open_live(page, server, LAB)
    watch = box_with(page, "Open a reader window")
    async with context.expect_page() as opened:  # pairing sets LabWatchState._code, a backend var
        await watch.get_by_role("button", name="Open a reader window").click()
    await (await opened.value).close()
    await expect(watch.locator("p").first).to_have_text("Waiting for the reader window to start its task.")

    await open_panel(watch)
    guarded = page.locator("[data-rx-demo]").filter(has=page.get_by_role("spinbutton", name="Limit"))
    await open_panel(guarded)
    async with context.expect_page() as opened:  # a new pairing, with the inspector open
        await watch.get_by_role("button", name="Open a reader window").click()
    await (await opened.value).close()
    await guarded.get_by_role("button", name="Start").click()
    await expect(panel_of(guarded).locator(N_TASKS)).to_have_text("1")
    await guarded.get_by_role("button", name="Stop").click()
    traces = [frame for frame in received if '"trace"' in frame]
    assert traces and any("state.lab_watch_state" in frame for frame in traces)
    assert any('"_n_tasks"' in frame for frame in traces)  # the opted-in guard is shown...
    assert not any("_code" in frame for frame in received)  # ...LabWatchState's backend var never is
    rows = await panel_of(watch).locator("[data-lab-rows] tr[data-var]").evaluate_all(
        "rows => rows.map(r => r.dataset.var)"
    )
    assert rows == ["state.lab_watch_state.report"]


async def test_panels_pass_axe_open_and_full_on_a_phone_in_light_and_dark(
    new_context: Any, server: DocServer
) -> None:
    for scheme in ("light", "dark"):
        page = await open_lab(new_context, server, viewport=PHONE, color_scheme=scheme)
        box = box_with(page, "Do it right")
        await open_panel(box)
        await box.get_by_role("button", name="Add outside the block").click()
        await wait_lanes(box, lambda f: any(lane["errors"] for lane in task_lanes(f, "add_outside")),
                         "an error on the timeline")
        box_selector = "[data-rx-demo='demos.lab_immutable:immutable_example']"
        assert await axe_problems(page, box_selector) == []
        assert await axe_problems(page, box_selector + " + [data-lab-panel]") == []
        # The timeline scrolls inside the box, not the page.
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


# -- diagrams --------------------------------------------------------------------------------------------

OPEN_SHADOW_ROOTS = """(() => {
    // The theme draws each diagram into a closed shadow root; open them so the test can look inside.
    const attach = Element.prototype.attachShadow;
    Element.prototype.attachShadow = function (init) { return attach.call(this, {...init, mode: "open"}); };
})()"""


@pytest.mark.parametrize("path", sorted(DIAGRAM_PAGES))
async def test_mermaid_diagrams_render_to_svg_and_no_request_leaves_the_site(
    new_context: Any, server: DocServer, path: str
) -> None:
    context = await new_context(viewport=PHONE)
    await context.add_init_script(OPEN_SHADOW_ROOTS)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = await context.new_page()
    await page.goto(server.url + path)
    diagrams = page.locator("div.mermaid")
    await expect(diagrams).to_have_count(DIAGRAM_PAGES[path], timeout=15_000)
    await expect(page.locator("pre.mermaid")).to_have_count(0)
    for i in range(DIAGRAM_PAGES[path]):
        diagram = diagrams.nth(i)
        size = await diagram.evaluate(
            "d => { const svg = d.shadowRoot.querySelector('svg'); const r = svg.getBoundingClientRect();"
            " return {w: r.width, h: r.height, texts: svg.querySelectorAll('text, foreignObject').length}; }"
        )
        assert size["w"] > 150 and size["h"] > 100 and size["texts"] > 3, size
        assert await diagram.get_attribute("tabindex") == "0"
        assert (await diagram.get_attribute("aria-label") or "Diagram") != "Diagram"
    assert page.url.startswith(server.url)
    outside = [url for url in requests if not url.startswith((server.url + "/", "data:", "blob:"))]
    assert outside == [], f"requests left the site: {outside}"
    assert any(url.endswith("/assets/engine/mermaid.min.js") for url in requests)


async def test_a_page_without_diagrams_does_not_load_mermaid(new_context: Any, server: DocServer) -> None:
    context = await new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = await context.new_page()
    await open_live(page, server, LAB)
    assert await page.evaluate("() => typeof window.mermaid.render") == "function"  # the stand-in, ready
    assert not any("mermaid.min.js" in url for url in requests)
    # Instant navigation to a page with a diagram draws it, still from this site.
    await page.get_by_role("navigation").get_by_role("link", name="Background tasks", exact=True).first.click()
    await expect(page.locator("div.mermaid")).to_have_count(DIAGRAM_PAGES["/background-tasks/"], timeout=15_000)
    assert [url for url in requests if "mermaid.min" in url] == [server.url + "/assets/engine/mermaid.min.js"]
