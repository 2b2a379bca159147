"""The lab page's demos behave as the page says, on both managers, seen through the inspector.

Each test drives a demo the way its box does (TabClient sends what the
buttons send) and checks both what the tab is shown and what the timeline
would draw: the lanes and markers of the `trace` messages.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import pytest

import demos.background_tasks
import demos.lab_duplicates
import engine as rx
from demos.background_tasks import MyTaskState
from demos.lab_chain import LabChainState
from demos.lab_duplicates import LabUnguardedState
from demos.lab_immutable import LabImmutableState
from demos.lab_stale import LabStaleState
from demos.lab_tab_gone import LabReaderState, LabWatchState, _pairs
from demos.lab_waiting import PAUSE_SECONDS, LabWaitingState
from demos.low_level import LowLevelState
from engine.runner import Kind
from engine.testing import TabClient, serve
from tests.engine.pauses import as_written
from tests.engine.server_side import tasks_finished
from tests.support.polling import eventually

OUTSIDE_MESSAGE = (
    "cannot set LabImmutableState.count outside `async with self`; "
    "use `async with self:` in the background task to change state"
)


def lanes_of(tab: TabClient, handler: str) -> list[str]:
    """The lanes (task copies) the inspector showed for one background handler, in start order."""
    return [e["lane"] for e in tab.traced(Kind.TASK_STARTED) if e["detail"]["handler"] == handler]


def lane(tab: TabClient, name: str) -> list[dict[str, Any]]:
    return [e for e in tab.traced() if e["lane"] == name]


def updates_in(events: list[dict[str, Any]]) -> list[int]:
    """The seqs of the updates a lane's blocks sent (its markers on the timeline)."""
    return [e["detail"]["seq"] for e in events if e["kind"] == Kind.BLOCK_LEFT and e["detail"]["seq"] is not None]


def ended(tab: TabClient, name: str) -> str | None:
    ends = [e["detail"]["status"] for e in lane(tab, name) if e["kind"] == Kind.TASK_ENDED]
    return ends[-1] if ends else None


async def test_stale_read_the_task_keeps_its_old_copy_until_the_next_block(app: rx.App) -> None:
    async with TabClient(app, states=[LabStaleState]) as tab:
        await tab.inspect()
        await tab.send(LabStaleState.read_twice)
        (copy,) = await _started(tab, "LabStaleState.read_twice")
        await tab.wait_for(lambda t: len(updates_in(lane(t, copy))) >= 1)  # its first block is over
        await tab.send(LabStaleState.add_one)
        await tab.send(LabStaleState.add_one)
        await tab.settle(timeout=10)
        assert tab.state(LabStaleState) == {"value": 3, "read_outside": 1, "read_inside": 3}

        # On the timeline: the two clicks ran in the events lane between the task's two blocks.
        await tab.wait_for(lambda t: ended(t, copy) == "done", timeout=5)
        task = lane(tab, copy)
        taken = [e["t"] for e in task if e["kind"] == Kind.LOCK_TAKEN]
        released = [e["t"] for e in task if e["kind"] == Kind.LOCK_RELEASED]
        clicks = [e["t"] for e in tab.traced(Kind.EVENT_STARTED) if e["detail"]["handler"] == "LabStaleState.add_one"]
        assert len(clicks) == 2
        first_block_end = released[1]  # [0] is the admission, [1] the block that cleared the readings
        last_block = [t for t in taken if t > max(clicks)]
        assert all(first_block_end < t for t in clicks) and last_block, (taken, clicks)


async def test_immutable_the_change_outside_raises_the_engines_message_and_sends_nothing(app: rx.App) -> None:
    async with TabClient(app, states=[LabImmutableState]) as tab:
        await tab.inspect()
        await tab.send(LabImmutableState.add_outside)
        await tab.settle()
        assert tab.errors == [OUTSIDE_MESSAGE]  # told to the box, word for word
        assert tab.task(LabImmutableState.add_outside)["error"] == OUTSIDE_MESSAGE
        assert tab.state(LabImmutableState)["count"] == 0

        (copy,) = lanes_of(tab, "LabImmutableState.add_outside")
        await tab.wait_for(lambda t: ended(t, copy) == "failed")
        events = lane(tab, copy)
        kinds = [e["kind"] for e in events]
        error_at = kinds.index(Kind.ERROR)
        assert events[error_at]["detail"]["message"] == OUTSIDE_MESSAGE
        admission = kinds.index(Kind.LOCK_RELEASED)
        # Between being admitted and failing, the task never took the lock: no update was sent for the change.
        assert Kind.LOCK_TAKEN not in kinds[admission + 1 : error_at]

        await tab.send(LabImmutableState.add_inside)
        await tab.wait_for(lambda t: t.state(LabImmutableState)["count"] == 1, timeout=5)
        (right,) = lanes_of(tab, "LabImmutableState.add_inside")
        await tab.wait_for(lambda t: ended(t, right) == "done")
        assert len(updates_in(lane(tab, right))) >= 2  # admission, then the block with the change


async def test_immutable_an_old_list_and_a_nested_block_are_refused_with_their_messages(app: rx.App) -> None:
    async with TabClient(app, states=[LabImmutableState]) as tab:
        await tab.send(LabImmutableState.append_later)
        await tab.settle()
        assert tab.errors == [
            "cannot change LabImmutableState.names through a reference taken inside `async with self`, "
            "which has ended; take it again inside the block that changes it"
        ]
        await tab.send(LabImmutableState.nest)
        await tab.settle()
        assert tab.errors[1] == (
            f"`async with self` is already open for tab {tab.token[:8]} in this task; blocks cannot be nested "
            "(the inner one would wait for the outer forever). Take the lock in each helper separately, "
            "outside the block"
        )
        assert tab.state(LabImmutableState) == {"count": 0, "names": []}


async def _started(tab: TabClient, handler: str, copies: int = 1) -> list[str]:
    await tab.wait_for(lambda t: len(lanes_of(t, handler)) >= copies, timeout=5)
    return lanes_of(tab, handler)


async def _stop_and_start_quickly(tab: TabClient, state: type[rx.State], toggle: Any) -> None:
    """Start, let it tick, then Stop and Start again while the first copy still sleeps."""
    name = state.get_full_name()
    await tab.send(toggle)
    await tab.wait_for(lambda t: t.state(name)["counter"] >= 1, timeout=5)
    seq = tab.seq
    await tab.wait_for(lambda t: t.seq > seq)  # just after a tick: the copy sleeps for a whole tick
    await tab.send(toggle)  # Stop
    await tab.send(toggle)  # Start, before the first copy wakes up


async def test_duplicates_without_the_guard_two_copies_count_and_with_it_the_second_leaves_at_once(
    app: rx.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both counters tick as written: their rate is compared with the tick.
    as_written(monkeypatch, demos.background_tasks, "TICK")
    tick = as_written(monkeypatch, demos.lab_duplicates, "TICK")
    async with TabClient(app, states=[LabUnguardedState, MyTaskState]) as tab:
        await tab.inspect()
        await _stop_and_start_quickly(tab, LabUnguardedState, LabUnguardedState.toggle_running)
        first, second = await _started(tab, "LabUnguardedState.my_task", copies=2)
        # Both copies keep counting: the counter moves at double speed.
        await tab.wait_for(lambda t: min(len(updates_in(lane(t, first))), len(updates_in(lane(t, second)))) >= 4,
                           timeout=5)
        assert ended(tab, first) is None and ended(tab, second) is None
        before, at = tab.state(LabUnguardedState)["counter"], time.monotonic()
        await asyncio.sleep(3.2 * tick)
        ticks = tab.state(LabUnguardedState)["counter"] - before
        assert ticks >= 5, f"{ticks} ticks in {time.monotonic() - at:.2f}s: not two copies"
        await tab.send(LabUnguardedState.toggle_running)  # Stop: both copies leave
        await tab.wait_for(lambda t: ended(t, first) == ended(t, second) == "done", timeout=5)

        await tab.send(MyTaskState.set_max_counter, 100)
        await _stop_and_start_quickly(tab, MyTaskState, MyTaskState.toggle_running)
        counting, short = await _started(tab, "MyTaskState.my_task", copies=2)
        await tab.wait_for(lambda t: ended(t, short) == "done", timeout=5)
        short_lane = lane(tab, short)
        # The second copy found the guard taken and left in its first block: a short lane.
        assert short_lane[-1]["t"] - short_lane[0]["t"] < tick / 2
        assert ended(tab, counting) is None
        seq = tab.seq
        await tab.wait_for(lambda t: len([s for s in updates_in(lane(t, counting)) if s > seq]) >= 2, timeout=5)
        tables = [trace["values"][MyTaskState.get_full_name()] for trace in tab.traces if "values" in trace]
        assert {table["_n_tasks"] for table in tables} <= {0, 1}  # opted in: the table shows the guard
        assert any(table["_n_tasks"] == 1 for table in tables)
        await tab.send(MyTaskState.toggle_running)
        await tasks_finished(app, tab.token)


async def test_waiting_a_task_that_sleeps_inside_its_block_keeps_the_tabs_click_waiting(app: rx.App) -> None:
    async with TabClient(app, states=[LabWaitingState]) as tab:
        await tab.inspect()
        await tab.send(LabWaitingState.sleep_inside)
        (copy,) = await _started(tab, "LabWaitingState.sleep_inside")
        await tab.wait_for(lambda t: _holds(t, copy, block=1))  # inside its first block, asleep
        began = time.monotonic()
        await tab.send(LabWaitingState.click)
        waited = time.monotonic() - began
        assert waited >= PAUSE_SECONDS / 2, f"the click was answered after {waited:.2f}s although the lock was held"
        await tasks_finished(app, tab.token)
        await tab.wait_for(lambda t: _clicks_traced(t) == 1)
        click = _click_wait(tab)
        assert click >= PAUSE_SECONDS / 2  # the events lane shows a long wait for the lock

        tab.traces.clear()
        await tab.send(LabWaitingState.sleep_outside)
        await tab.wait_for(lambda t: t.state(LabWaitingState)["ticks"] == 4)
        began = time.monotonic()
        await tab.send(LabWaitingState.click)
        assert time.monotonic() - began < PAUSE_SECONDS * 0.4
        await tab.wait_for(lambda t: _clicks_traced(t) == 1)
        assert _click_wait(tab) < PAUSE_SECONDS * 0.2
        await tasks_finished(app, tab.token)
        assert tab.state(LabWaitingState) == {"ticks": 6, "clicks": 2}


def _holds(tab: TabClient, copy: str, block: int) -> bool:
    """The task copy holds the tab's lock in its `block`-th block (the timeline draws that bar open-ended)."""
    kinds = [e["kind"] for e in lane(tab, copy)]
    taken = kinds.count(Kind.LOCK_TAKEN)  # the first one is the task's admission
    return taken == block + 1 and taken > kinds.count(Kind.LOCK_RELEASED)


def _clicks_traced(tab: TabClient) -> int:
    return len([e for e in tab.traced(Kind.EVENT_ENDED) if e["detail"]["handler"] == "LabWaitingState.click"])


def _click_wait(tab: TabClient) -> float:
    """How long the last click waited for the lock, as its events-lane bar shows."""
    events = [e for e in tab.traced() if e["lane"] == "events"]
    start = max(i for i, e in enumerate(events) if e["kind"] == Kind.EVENT_STARTED
                and e["detail"]["handler"] == "LabWaitingState.click")
    waiting = next(e["t"] for e in events[start:] if e["kind"] == Kind.LOCK_WAITING)
    taken = next(e["t"] for e in events[start:] if e["kind"] == Kind.LOCK_TAKEN)
    return float(taken - waiting)


async def test_tab_gone_the_reader_windows_task_stops_once_its_tab_disconnects(app: rx.App) -> None:
    code = secrets.token_hex(16)
    async with TabClient(app, states=[LabWatchState]) as lab, TabClient(app, states=[LabReaderState]) as reader:
        await lab.inspect()
        await lab.send(LabWatchState.pair, code)
        assert lab.state(LabWatchState)["report"] == "Waiting for the reader window to start its task."
        await reader.send(LabReaderState.count_until_gone, code)
        await lab.wait_for(lambda t: "step 2." in t.state(LabWatchState)["report"], timeout=5)
        assert reader.state(LabReaderState)["steps"] >= 2
        reader_token = reader.token

        await reader.disconnect()  # the reader closes the small window
        began = time.monotonic()
        await lab.wait_for(lambda t: t.state(LabWatchState)["report"].endswith("its tab is gone."), timeout=5)
        await eventually(lambda: not app.tasks.for_tab(reader_token), 2, "the reader's task to end")
        # Long before the engine's own tab_grace would have cancelled it.
        assert time.monotonic() - began < min(3.0, app.settings.tab_grace)

        # The lab tab's timeline: a lane for the other tab's task, writing through modify_state.
        foreign = {e["lane"] for e in lab.traced(Kind.BLOCK_LEFT)} - {"events"}
        (other,) = foreign
        assert other.startswith("count_until_gone#")
        assert lab.traced(Kind.TASK_STARTED) == []  # the task is not the lab tab's own
        # Each step's report, and the last one: its tab is gone.
        await lab.wait_for(lambda t: len(updates_in(lane(t, other))) >= 3)
        # Neither tab was ever given the other's token.
        assert reader_token not in repr(lab.traces) + repr(lab.state(LabWatchState))
        assert lab.token not in repr(reader.state(LabReaderState))
        assert _pairs[code] == lab.token


async def test_tab_gone_a_code_that_was_never_paired_changes_no_other_tab(app: rx.App) -> None:
    async with TabClient(app, states=[LabReaderState, LabWatchState]) as reader:
        await reader.send(LabReaderState.count_until_gone, secrets.token_hex(16))
        await reader.wait_for(lambda t: t.state(LabReaderState)["steps"] >= 2)
        assert reader.state(LabWatchState)["report"] == "No reader window yet."
        refused = await reader.send(LabWatchState.pair, "not-a-code")
        assert refused["ok"] is False
    await tasks_finished(app, reader.token)


async def test_chain_yielded_events_run_in_the_events_lane_then_the_chained_task_starts(app: rx.App) -> None:
    async with TabClient(app, states=[LabChainState]) as tab:
        await tab.inspect()
        await tab.send(LabChainState.build)
        await tab.wait_for(lambda t: "summarize" in t.state(LabChainState)["log"], timeout=5)
        assert tab.state(LabChainState)["log"] == (
            "row 1 added by a queued event\nrow 2 added by a queued event\nrow 3 added by a queued event\n"
            "summarize, the chained task, counted 3 rows\n"
        )
        (build,) = await _started(tab, "LabChainState.build")
        (summarize,) = await _started(tab, "LabChainState.summarize")
        await tab.wait_for(lambda t: ended(t, build) == ended(t, summarize) == "done", timeout=5)
        rows = [e for e in tab.traced(Kind.EVENT_STARTED) if e["detail"]["handler"] == "LabChainState.add_row"]
        assert len(rows) == 3
        started = {e["lane"]: e["t"] for e in tab.traced(Kind.TASK_STARTED)}
        assert started[build] < rows[0]["t"] and rows[-1]["t"] <= started[summarize]
        # The yielding task itself never waited for the lock between its rows.
        build_lane = lane(tab, build)
        assert not [e for e in build_lane if e["kind"] == Kind.LOCK_TAKEN and rows[0]["t"] < e["t"] < rows[-1]["t"]]


async def _quote_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"A quote from a test server."})


async def test_fetch_the_coroutine_that_calls_modify_state_has_a_lane_of_its_own(
    app: rx.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve(_quote_app) as url:
        monkeypatch.setenv("DEMO_QUOTE_URL", f"{url}/api/quote")
        async with TabClient(app, states=[LowLevelState]) as tab:
            await tab.inspect()
            await tab.send(LowLevelState.fetch_data)
            await tab.wait_for(lambda t: t.state(LowLevelState)["result"] == "A quote from a test server.", timeout=5)
            # fetch_data starts it with app.create_task: a lane of its own, named after the coroutine.
            (coroutine,) = await _started(tab, "_fetch_data")
            await tab.wait_for(lambda t: ended(t, coroutine) == "done")
            kinds = [e["kind"] for e in lane(tab, coroutine)]
            assert kinds == [Kind.TASK_STARTED, Kind.LOCK_WAITING, Kind.LOCK_TAKEN, Kind.BLOCK_LEFT,
                             Kind.LOCK_RELEASED, Kind.TASK_ENDED]
            assert len(updates_in(lane(tab, coroutine))) == 1  # one modify_state block, one update
            started = tab.traced(Kind.EVENT_STARTED)
            (fetch,) = [e for e in started if e["detail"]["handler"] == "LowLevelState.fetch_data"]
            assert fetch["t"] <= lane(tab, coroutine)[0]["t"]


async def test_only_the_opted_in_counter_shows_a_backend_var_in_the_lab(app: rx.App) -> None:
    states = [LabWatchState, MyTaskState, LabStaleState, LabUnguardedState]
    async with TabClient(app, states=states) as tab:
        received: list[Any] = []
        assert tab._sio is not None
        tab._sio.on("update", lambda data: received.append(data), namespace="/engine")
        await tab.send(LabWatchState.pair, secrets.token_hex(16))  # sets LabWatchState._code
        await tab.inspect()
        await tab.send(LabWatchState.pair, secrets.token_hex(16))
        await tab.send(LabStaleState.add_one)
        await tab.wait_for(lambda t: any("values" in trace for trace in t.traces))
        await tab.wait_for(lambda t: any(e["kind"] == Kind.EVENT_ENDED for e in t.traced()))
        await tab.inspect(on=False)
        await tab.send(LabWatchState.pair, secrets.token_hex(16))
    tables = [trace["values"] for trace in tab.traces if "values" in trace]
    backend = {f"{state}.{var}" for table in tables for state, row in table.items() for var in row if var[0] == "_"}
    assert backend == {f"{MyTaskState.get_full_name()}._n_tasks"}
    assert "_code" not in repr(received) + repr(tab.traces)
