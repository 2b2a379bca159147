"""The Controlling tasks page's demos (demos/task_control.py), driven through TabClient on both managers."""

from __future__ import annotations

import itertools

import demos.task_control as demo
from demos.task_control import RatesState, ReportBuilderState, SkipCounterState, WordSearchState
from engine.testing import TabClient
from tests.engine.pauses import as_written
from tests.engine.server_side import server_values, tasks_finished
from tests.support.tabs import RecordingTab


def _times_of(tab: RecordingTab, state, var: str) -> list[tuple[float, object]]:
    """(arrival time, value) of each update that changed `var`."""
    name = state.get_full_name()
    return [
        (arrival, update["delta"][name][var])
        for update, arrival in zip(tab.updates, tab.arrivals, strict=True)
        if var in update.get("delta", {}).get(name, {})
    ]


# -- a slow job: progress and Cancel -----------------------------------------------------------------


async def test_the_report_fills_its_bar_page_by_page_and_ends_done(app, monkeypatch):
    monkeypatch.setattr(demo, "SECONDS_PER_PAGE", 0.02)
    job = ReportBuilderState.build_report
    async with RecordingTab(app, states=[ReportBuilderState]) as tab:
        assert tab.task(job)["status"] == "idle"
        await tab.send(job)
        await tab.settle(timeout=10)

        assert tab.task(job) == {"status": "done", "running": False, "progress": 1.0, "error": ""}
        assert tab.state(ReportBuilderState)["pages_done"] == demo.PAGES
        progress = [value for _, value in _times_of(tab, ReportBuilderState, "build_report@progress")]
        # An empty bar first, then one step per page.
        assert progress == [0.0, *[page / demo.PAGES for page in range(1, demo.PAGES + 1)]]


async def test_cancel_stops_the_report_half_way_with_status_cancelled(app):
    job = ReportBuilderState.build_report
    async with TabClient(app, states=[ReportBuilderState]) as tab:
        await tab.send(job)
        await tab.wait_for(lambda t: t.state(ReportBuilderState)["pages_done"] >= 1, timeout=5)
        assert tab.task(job)["status"] == "running"

        await tab.send(job.cancel)
        await tab.settle(timeout=5)
        stopped = tab.state(ReportBuilderState)["pages_done"]
        assert tab.task(job)["status"] == "cancelled"
        assert 1 <= stopped < demo.PAGES
        assert tab.task(job)["progress"] == stopped / demo.PAGES
        await tasks_finished(app, tab.token)
        assert (await server_values(app, tab.token, ReportBuilderState))["pages_done"] == stopped

        # A new click builds the report again from page one.
        await tab.send(job)
        await tab.wait_for(lambda t: t.task(job)["progress"] == 0.0 and t.task(job)["running"])
        await tab.send(job.cancel)
        await tab.settle(timeout=5)


async def test_a_second_click_while_the_report_builds_is_ignored(app, monkeypatch):
    monkeypatch.setattr(demo, "SECONDS_PER_PAGE", 0.05)
    job = ReportBuilderState.build_report
    async with RecordingTab(app, states=[ReportBuilderState]) as tab:
        await tab.send(job)
        await tab.wait_for(lambda t: t.state(ReportBuilderState)["pages_done"] >= 2, timeout=5)
        await tab.send(job)  # skipped: a second copy would start over from page 0
        await tab.settle(timeout=10)

        pages = tab.values_of(ReportBuilderState, "pages_done")
        assert pages == list(range(1, demo.PAGES + 1)), f"pages went {pages}"
        assert tab.task(job)["status"] == "done"


# -- search as you type: replace ---------------------------------------------------------------------


async def test_new_text_cancels_the_older_search_and_only_the_latest_shows(app):
    search = WordSearchState.search
    async with RecordingTab(app, states=[WordSearchState]) as tab:
        await tab.send(search, "ca")
        await tab.wait_for(lambda t: t.task(search)["running"])
        await tab.send(search, "cab")
        await tab.settle(timeout=10)

        state = tab.state(WordSearchState)
        assert state["results"] == "Words starting with “cab”: cabin, cable"
        assert state["runs"].splitlines() == ["“cab”: done, 2 found", "“ca”: cancelled"]
        # The older search never wrote its results, not even for a moment.
        assert tab.values_of(WordSearchState, "results") == ["Words starting with “cab”: cabin, cable"]
        assert tab.task(search)["status"] == "done"


async def test_searches_never_overlap_and_the_history_keeps_the_latest_few(app):
    search = WordSearchState.search
    typed = ["c", "ch", "che", "cher", "cherr", "cherry", "cr"]
    async with RecordingTab(app, states=[WordSearchState]) as tab:
        for text in typed:
            await tab.send(search, text)
            # Each run is under way (the one before it has ended) before the next text arrives.
            assert sum(1 for handle in app.tasks.for_tab(tab.token) if handle.admitted) <= 1
        await tab.settle(timeout=10)

        runs = tab.state(WordSearchState)["runs"].splitlines()
        assert len(runs) == demo.KEEP_RUNS
        assert runs[0] == "“cr”: done, 4 found"
        assert runs[1:] == [f"“{text}”: cancelled" for text in reversed(typed[-demo.KEEP_RUNS : -1])]
        assert tab.state(WordSearchState)["results"] == "Words starting with “cr”: crane, crater, cricket, crystal"


# -- the counter with skip ---------------------------------------------------------------------------


async def test_stop_and_start_quickly_does_not_count_twice_as_fast(app, monkeypatch):
    tick = as_written(monkeypatch, demo, "TICK")  # the gaps between counts are compared with it
    async with RecordingTab(app, states=[SkipCounterState]) as tab:
        await tab.send(SkipCounterState.set_max_counter, "6")
        await tab.send(SkipCounterState.toggle_running)  # Start
        await tab.wait_for(lambda t: t.state(SkipCounterState)["counter"] == 1)
        for _ in range(2):  # Stop, Start: the counting copy is asleep when the second trigger comes
            await tab.send(SkipCounterState.toggle_running)
        await tab.wait_for(lambda t: t.state(SkipCounterState)["counter"] == 6, timeout=10)
        await tab.settle(timeout=5)

        counts = _times_of(tab, SkipCounterState, "counter")
        assert [value for _, value in counts] == [1, 2, 3, 4, 5, 6]
        gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(counts)]
        # One copy counts once per tick; two would put some counts much closer together.
        assert min(gaps) > tick * 0.7, f"counts came {gaps} s apart"
        assert tab.task(SkipCounterState.count)["status"] == "done"
        assert tab.state(SkipCounterState)["running"] is False


async def test_the_skip_counter_starts_again_once_its_copy_has_ended(app):
    async with TabClient(app, states=[SkipCounterState]) as tab:
        await tab.send(SkipCounterState.set_max_counter, "2")
        await tab.send(SkipCounterState.toggle_running)
        await tab.wait_for(lambda t: t.state(SkipCounterState)["counter"] == 2, timeout=5)
        await tab.settle(timeout=5)

        await tab.send(SkipCounterState.toggle_running)  # at the limit: starts over from zero
        await tab.wait_for(lambda t: t.task(SkipCounterState.count)["running"])
        await tab.settle(timeout=5)
        assert tab.state(SkipCounterState)["counter"] == 2
        assert tab.task(SkipCounterState.count)["status"] == "done"


# -- a task that fails -------------------------------------------------------------------------------

REFUSED = "RatesState.fetch_rates failed: ConnectionRefusedError: the rates service refused the connection"


async def test_the_rates_task_fails_after_its_tries_and_shows_why(app):
    fetch = RatesState.fetch_rates
    async with TabClient(app, states=[RatesState]) as tab:
        await tab.send(fetch)
        await tab.wait_for(lambda t: t.task(fetch)["status"] == "failed", timeout=10)

        assert tab.task(fetch) == {"status": "failed", "running": False, "progress": None, "error": REFUSED}
        assert tab.state(RatesState) == {"tries": demo.TRIES, "rates": ""}
        assert REFUSED in tab.errors  # the box's message line is told too

        # A new run clears the error while it tries again.
        await tab.send(fetch)
        assert tab.task(fetch)["error"] == "" and tab.task(fetch)["status"] == "running"
        await tab.wait_for(lambda t: t.task(fetch)["status"] == "failed", timeout=10)
        assert tab.task(fetch)["error"] == REFUSED


def test_every_demo_of_the_page_renders_with_its_default_values():
    from docsite.fences import render_demo

    for name, shows in [
        ("report_example", ["Build report", "Cancel", "Report: ", "idle", "Report progress"]),
        ("search_example", ["Search words", "Nothing searched yet.", "Recent searches:"]),
        ("skip_counter_example", ["Start", "Reset", "Counting task: ", "value=\"10\""]),
        ("rates_example", ["Fetch rates", "Status: ", "idle"]),
    ]:
        html = render_demo(f"demos.task_control:{name}")
        for text in shows:
            assert text in html, f"{name} does not show {text!r}"
