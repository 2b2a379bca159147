"""The block guarantee as a property: random background tasks keep references, run helpers, yield, fail, get cancelled.

Each example runs one task program on a fresh tab. A program is a list of
steps: blocks that take a reference (a list, a nested list, a dict entry,
another state, another state's list, the parent state) and change state
through it, sometimes raising inside; writes through the last reference
*after* its block; helpers gathered side by side, each with its own block;
yields of regular events. The test may cancel the task after a random
number of loop turns. Whatever happened, afterwards:

- every write made outside a block raised `ImmutableStateError`;
- the state the server holds equals what the tab shows;
- no lock of the tab is held.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine as rx
from engine.testing import TabClient
from tests.engine.server_side import server_values
from tests.support.polling import eventually

_outside: dict[str, list[bool]] = {}  # per tab: for each write outside a block, whether it raised

REFS = ["rows", "cell", "entry", "other", "other_items", "parent"]


class PropParentState(rx.State):
    parent_total: int = 0


class PropState(PropParentState):
    total: int = 0
    rows: list[int] = []
    grid: list[list[int]] = [[0], [0]]
    table: dict[str, list[int]] = {"k": []}
    bumps: int = 0

    def bump(self):
        self.bumps += 1

    async def _take(self, ref: str) -> Any:
        if ref == "rows":
            return self.rows
        if ref == "cell":
            return self.grid[1]
        if ref == "entry":
            return self.table["k"]
        if ref in ("other", "other_items"):
            other = await self.get_state(PropOtherState)
            return other if ref == "other" else other.items
        return self.parent_state

    @staticmethod
    def _write(ref: str, target: Any, value: int) -> None:
        if ref in ("other", "parent"):
            name = "n" if ref == "other" else "parent_total"
            setattr(target, name, getattr(target, name) + value)
        else:
            target.append(value)

    async def _helper(self, value: int):
        async with self:
            self.total += value

    @rx.event(background=True)
    async def run(self, program: list[list[Any]]):
        token = self.get_token()
        kept: tuple[str, Any] | None = None
        for step, (kind, ref, value) in enumerate(program):
            if kind == "block" or kind == "raise":
                try:
                    async with self:
                        target = await self._take(ref)
                        self._write(ref, target, value)
                        kept = (ref, target)
                        if kind == "raise":
                            raise ValueError(f"step {step} fails on purpose")
                except ValueError:
                    pass
            elif kind == "after" and kept is not None:
                try:
                    self._write(kept[0], kept[1], value)
                except rx.ImmutableStateError:
                    _outside.setdefault(token, []).append(True)
                else:
                    _outside.setdefault(token, []).append(False)
            elif kind == "helpers":
                await asyncio.gather(*(self._helper(value) for _ in range(1 + value % 3)))
            elif kind == "yield":
                for _ in range(value):
                    yield PropState.bump
            await asyncio.sleep(0)


class PropOtherState(rx.State):
    n: int = 0
    items: list[int] = []


STEP = st.one_of(
    st.tuples(st.sampled_from(["block", "raise", "after"]), st.sampled_from(REFS), st.integers(1, 9)),
    st.tuples(st.sampled_from(["helpers", "yield"]), st.just(""), st.integers(1, 4)),
)
PROGRAM = st.lists(STEP, min_size=1, max_size=12)
CANCEL_AFTER = st.one_of(st.none(), st.integers(0, 40))  # loop turns before the task is cancelled
STATES = [PropState, PropOtherState, PropParentState]


async def _run(app: rx.App, program: list[tuple[str, str, int]], cancel_after: int | None) -> None:
    async with TabClient(app, states=STATES) as tab:
        assert await tab.send(PropState.run, [list(step) for step in program]) == {"ok": True}
        handles = app.tasks.for_tab(tab.token)
        if cancel_after is not None and handles:
            for _ in range(cancel_after):
                await asyncio.sleep(0)
            handles[0].cancel()
        await eventually(lambda: not app.tasks.for_tab(tab.token), 10, "the task's end")

        assert all(_outside.get(tab.token, [])), f"a write outside a block went through: {_outside[tab.token]}"
        for state in STATES:  # (server_values waits for the lock: queued bumps run first)
            held = await server_values(app, tab.token, state)
            public = {name: value for name, value in held.items() if not name.startswith("_")}
            public = {k: sorted(v) if isinstance(v, set) else v for k, v in public.items()}
            await tab.wait_for(lambda t, s=state, p=public: t.state(s) == p, timeout=5)
        assert tab.errors == []
        manager = app.state_manager
        await eventually(lambda: not manager.locked(tab.token), 2, "the local lock's release")
        if hasattr(manager, "is_locked"):
            for _ in range(100):
                if not await manager.is_locked(tab.token):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the tab's Redis lock is still held")


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=PROGRAM, cancel_after=CANCEL_AFTER)
async def test_random_tasks_never_change_state_outside_a_block_and_the_tab_shows_what_is_stored(
    manager_kind, request, program, cancel_after
):
    redis_url = request.getfixturevalue("redis_server").url if manager_kind == "redis" else None
    app = rx.App(redis_url=redis_url) if redis_url else rx.App()
    try:
        async with asyncio.timeout(30):
            await _run(app, program, cancel_after)
    finally:
        await app.shutdown(timeout=2)
