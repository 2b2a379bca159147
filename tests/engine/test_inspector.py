"""The engine's side of the lab: the inspector streams a tab's own observations and state table."""

from __future__ import annotations

import asyncio
from typing import Any

import engine as rx
from engine.inspector import MAX_PENDING, Inspector
from engine.runner import Kind, Observation, Observers
from engine.testing import TabClient
from tests.engine.gates import gate
from tests.engine.server_side import tasks_finished


class LabShownState(rx.State):
    counter: int = 0
    _copies: int = 0

    @rx.event(background=True)
    async def tick(self, times: int):
        async with self:
            self._copies += 1
        for _ in range(times):
            async with self:
                self.counter += 1
            await asyncio.sleep(0)
        async with self:
            self._copies -= 1

    @rx.event(background=True)
    async def hold_a_copy(self):
        async with self:
            self._copies += 1
        await gate(self.get_token(), "lab").wait_here()
        async with self:
            self._copies -= 1

    def bump(self):
        self.counter += 1


class LabHiddenState(rx.State):
    value: int = 0
    _secret: str = "never on the wire"

    def change(self):
        self.value += 1
        self._secret = "still never on the wire"


rx.show_backend_vars(LabShownState)


def _backend_keys(values: dict[str, dict[str, Any]]) -> set[str]:
    return {f"{state}.{var}" for state, table in values.items() for var in table if var.startswith("_")}


async def test_the_inspector_streams_one_lane_per_task_copy_and_the_events_lane(app):
    async with TabClient(app, states=[LabShownState]) as tab:
        await tab.inspect()
        await tab.send(LabShownState.tick, 2)
        await tab.send(LabShownState.bump)
        await tasks_finished(app, tab.token)
        await tab.wait_for(lambda t: any(e["kind"] == Kind.TASK_ENDED for e in t.traced()), timeout=5)

        (started,) = tab.traced(Kind.TASK_STARTED)
        lane = started["lane"]
        assert lane.startswith("tick#") and started["detail"]["handler"] == "LabShownState.tick"
        kinds = [e["kind"] for e in tab.traced() if e["lane"] == lane]
        assert kinds[0] == Kind.TASK_STARTED and kinds[-1] == Kind.TASK_ENDED
        assert kinds.count(Kind.LOCK_TAKEN) == kinds.count(Kind.LOCK_RELEASED) >= 4  # admission, 4 blocks, release
        assert tab.traced(Kind.TASK_ENDED)[-1]["detail"]["status"] == "done"
        updates = [e["detail"]["seq"] for e in tab.traced(Kind.BLOCK_LEFT) if e["detail"]["seq"] is not None]
        assert updates == sorted(updates) and max(updates) == tab.seq  # the markers carry the updates' seqs
        events = [e for e in tab.traced() if e["lane"] == "events"]
        assert [e["kind"] for e in events][:3] == [Kind.EVENT_STARTED, Kind.LOCK_WAITING, Kind.LOCK_TAKEN]
        times = [e["t"] for e in tab.traced()]
        assert times == sorted(times)


async def test_the_inspector_shows_the_state_table_with_backend_vars_only_for_states_that_opted_in(app):
    async with TabClient(app, states=[LabShownState, LabHiddenState]) as tab:
        messages: list[Any] = []
        assert tab._sio is not None
        tab._sio.on("update", lambda data: messages.append(data), namespace="/engine")
        await tab.inspect()
        await tab.send(LabHiddenState.change)
        await tab.send(LabShownState.tick, 1)
        await tab.send(LabShownState.hold_a_copy)
        await gate(tab.token, "lab").reached()
        await tab.wait_for(lambda t: any(trace.get("values", {}).get(LabShownState.get_full_name(), {})
                                         .get("_copies") == 1 for trace in t.traces), timeout=5)
        gate(tab.token, "lab").open()
        await tasks_finished(app, tab.token)
        await tab.wait_for(lambda t: len(t.traced(Kind.TASK_ENDED)) == 2, timeout=5)

        tables = [trace["values"] for trace in tab.traces if "values" in trace]
        assert tables[-1][LabHiddenState.get_full_name()] == {"value": 1}  # public vars only
        assert tables[-1][LabShownState.get_full_name()]["counter"] == 1
        shown = set().union(*(_backend_keys(table) for table in tables))
        assert shown == {f"{LabShownState.get_full_name()}._copies"}
        assert any(table[LabShownState.get_full_name()]["_copies"] == 1 for table in tables)  # seen while it ran
    everything = [*messages, *tab.traces]
    assert "_secret" not in repr(everything) and "never on the wire" not in repr(everything)


async def test_a_tab_is_shown_only_its_own_observations(app):
    async with TabClient(app, states=[LabShownState]) as watched, TabClient(app, states=[LabShownState]) as other:
        await watched.inspect()
        await other.send(LabShownState.tick, 3)
        await tasks_finished(app, other.token)
        await watched.send(LabShownState.bump)
        await watched.wait_for(lambda t: bool(t.traced(Kind.EVENT_ENDED)), timeout=5)
        assert watched.traced(Kind.TASK_STARTED) == []
        assert {e["lane"] for e in watched.traced()} == {"events"}


async def test_the_inspector_costs_nothing_until_a_tab_turns_it_on_and_stops_with_it(app):
    observers = app.runner.parts.observers
    async with TabClient(app, states=[LabShownState]) as tab:
        await tab.send(LabShownState.bump)
        assert observers.active is False and tab.traces == []
        await tab.inspect()
        assert observers.active and observers.watching(tab.token)
        await tab.inspect(on=False)
        assert observers.active is False
        await tab.inspect()
    await asyncio.sleep(0.05)
    assert observers.active is False  # closing the tab ends its inspector


async def test_an_inspector_holds_a_bounded_number_of_observations_and_counts_what_it_dropped():
    observers = Observers()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    inspector = Inspector(observers, "token-of-a-slow-tab", [], send)
    for i in range(MAX_PENDING + 250):  # all before the first batch can go
        inspector.observe(Observation(float(i), "token-of-a-slow-tab", Kind.LOCK_TAKEN, "events", {}))
    assert len(inspector._pending) == MAX_PENDING
    await asyncio.sleep(0.2)
    ((message,),) = [sent]
    assert len(message["events"]) == MAX_PENDING and message["dropped"] == 250
    inspector.close()
    assert not observers.active


async def test_an_observation_made_while_a_batch_is_being_sent_goes_out_in_the_next_one():
    """A cancelled task's last event must reach the panel even when nothing follows it."""
    sent: list[dict[str, Any]] = []

    async def slow_send(message: dict[str, Any]) -> None:  # a socket emit that takes a moment
        await asyncio.sleep(0.1)
        sent.append(message)

    inspector = Inspector(Observers(), "tab", [], slow_send)
    inspector.observe(Observation(1.0, "tab", Kind.LOCK_RELEASED, "my_task#1", {}))
    await asyncio.sleep(0.08)  # the first batch is on its way now
    inspector.observe(Observation(2.0, "tab", Kind.TASK_ENDED, "my_task#1", {"status": "cancelled"}))
    await asyncio.sleep(0.5)
    assert [[event["kind"] for event in message["events"]] for message in sent] == [
        [Kind.LOCK_RELEASED], [Kind.TASK_ENDED]
    ]
    inspector.close()
