"""Random mixes of background tasks and regular events on one or several tabs.

Each example starts a fresh App on the manager under test, opens one to three
tabs (each its own TabClient), and on every tab at once sends a random list
of operations: regular increments (sync, or async with a pause), background
tasks that increment in several `async with self` blocks with random pauses
between them, and increments made from outside through `app.modify_state`.
Every increment also records a label naming its tab and operation, so a lost
update, a doubled one or one applied to the wrong tab all show.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine as rx
from engine.testing import TabClient
from tests.engine.server_side import server_values, tasks_finished


class SpecMixState(rx.State):
    total: int = 0
    applied: list[str] = []

    def increment(self, label: str, amount: int):
        self.total += amount
        self.applied.append(label)

    async def increment_after(self, label: str, amount: int, pause: float):
        seen = self.total
        await asyncio.sleep(pause)  # a read-modify-write across an await: the tab lock protects it
        self.total = seen + amount
        self.applied.append(label)

    @rx.event(background=True)
    async def increment_in_blocks(self, label: str, times: int, pauses: list[float]):
        for i in range(times):
            async with self:
                seen = self.total
                await asyncio.sleep(0)
                self.total = seen + 1
                self.applied.append(f"{label}.{i}")
            await asyncio.sleep(pauses[i % len(pauses)])


PAUSES = st.sampled_from([0.0, 0.001, 0.003, 0.006])
OPERATION = st.one_of(
    st.tuples(st.just("event"), st.integers(1, 5)),
    st.tuples(st.just("slow event"), st.integers(1, 5), PAUSES),
    st.tuples(st.just("task"), st.integers(1, 4), st.lists(PAUSES, min_size=1, max_size=3)),
    st.tuples(st.just("outside"), st.integers(1, 5)),
)
SCENARIO = st.lists(st.lists(OPERATION, min_size=1, max_size=6), min_size=1, max_size=3)


def _expected(tab_index: int, operations: list[tuple[Any, ...]]) -> tuple[int, Counter[str], list[str]]:
    """The tab's final total, every label it must hold, and its regular events in the order sent."""
    total, labels, regular = 0, Counter[str](), []
    for op_index, (kind, amount, *_) in enumerate(operations):
        label = f"tab{tab_index}.op{op_index}"
        if kind == "task":
            labels.update(f"{label}.{i}" for i in range(amount))
        else:
            labels[label] += 1
            if kind != "outside":
                regular.append(label)
        total += amount
    return total, labels, regular


async def _operate(app: rx.App, tab: TabClient, tab_index: int, operations: list[tuple[Any, ...]]) -> None:
    path = SpecMixState.get_full_name().split(".")

    async def outside(label: str, amount: int) -> None:
        async with app.modify_state(tab.token) as root:
            state = root.get_substate(path)
            seen = state.total
            await asyncio.sleep(0)
            state.total = seen + amount
            state.applied.append(label)

    sends = []
    for op_index, (kind, amount, *rest) in enumerate(operations):
        label = f"tab{tab_index}.op{op_index}"
        if kind == "event":
            sends.append(tab.send(SpecMixState.increment, label, amount))
        elif kind == "slow event":
            sends.append(tab.send(SpecMixState.increment_after, label, amount, rest[0]))
        elif kind == "task":
            sends.append(tab.send(SpecMixState.increment_in_blocks, label, amount, rest[0]))
        else:
            sends.append(outside(label, amount))
    acks = await asyncio.gather(*sends)
    assert all(ack in (None, {"ok": True}) for ack in acks), acks


async def _run_scenario(app: rx.App, scenario: list[list[tuple[Any, ...]]]) -> None:
    tabs = [TabClient(app, states=[SpecMixState]) for _ in scenario]
    for tab in tabs:
        await tab.__aenter__()
    try:
        pairs = list(enumerate(zip(tabs, scenario, strict=True)))
        await asyncio.gather(*(_operate(app, tab, i, operations) for i, (tab, operations) in pairs))
        for i, (tab, operations) in pairs:
            total, labels, regular = _expected(i, operations)
            await tasks_finished(app, tab.token, timeout=10)
            await tab.wait_for(lambda t, total=total: t.state(SpecMixState)["total"] == total, timeout=10)

            held = await server_values(app, tab.token, SpecMixState)
            assert held["total"] == total
            assert Counter(held["applied"]) == labels
            assert [label for label in held["applied"] if label in regular] == regular
            await tab.wait_for(lambda t, held=held: t.state(SpecMixState) == held, timeout=5)
            assert tab.errors == []
        counts = app.tasks.counts
        assert counts["failed"] == counts["cancelled"] == 0
        assert counts["started"] == counts["done"] == sum(op[0] == "task" for ops in scenario for op in ops)
    finally:
        for tab in reversed(tabs):
            await tab.__aexit__(None, None, None)


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=SCENARIO)
async def test_random_mixes_of_tasks_and_events_lose_and_misroute_no_update(manager_kind, request, scenario):
    redis_url = request.getfixturevalue("redis_server").url if manager_kind == "redis" else None
    app = rx.App(redis_url=redis_url) if redis_url else rx.App()
    try:
        async with asyncio.timeout(30):
            await _run_scenario(app, scenario)
    finally:
        await app.shutdown(timeout=2)
