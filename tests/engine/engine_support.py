"""Helpers for the engine's specification tests: a recording tab, gates, polling.

Handlers under test run in the same event loop as the test, so a test and a
handler can meet at a `Gate` (keyed by the tab's token, so tests on several
managers never share one) to hold a handler at a precise point.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from typing import Any

import engine as rx
from engine.testing import TabClient


class RecordingTab(TabClient):
    """A `TabClient` that also keeps every `update` message, in arrival order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.updates: list[dict[str, Any]] = []
        self.arrivals: list[float] = []

    async def _on_update(self, data: dict[str, Any]) -> None:
        self.updates.append(copy.deepcopy(data))
        self.arrivals.append(time.monotonic())
        await super()._on_update(data)

    def deltas(self, state: type[rx.State] | None = None, *, task_status: bool = False) -> list[dict[str, Any]]:
        """Every delta received so far, or only `state`'s part of those that touch it.

        The engine's task-status vars (`my_task@status`...) are left out unless `task_status`.
        """
        deltas = [update["delta"] for update in self.updates if "delta" in update]
        if not task_status:
            deltas = [kept for kept in (_without_task_status(delta) for delta in deltas) if kept]
        if state is None:
            return deltas
        name = state.get_full_name()
        return [delta[name] for delta in deltas if name in delta]

    def values_of(self, state: type[rx.State], var: str) -> list[Any]:
        """Each value `var` took in the deltas, in order."""
        return [part[var] for part in self.deltas(state) if var in part]


def _without_task_status(delta: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kept = {name: {key: value for key, value in values.items() if "@" not in key} for name, values in delta.items()}
    return {name: values for name, values in kept.items() if values}


class Gate:
    """A point where a handler waits: it sets `entered`, then waits for `open()`."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def wait_here(self) -> None:
        self.entered.set()
        await self.opened.wait()

    def open(self) -> None:
        self.opened.set()

    async def reached(self, timeout: float = 5) -> None:
        await asyncio.wait_for(self.entered.wait(), timeout)


_gates: dict[tuple[str, str], Gate] = {}


def gate(token: str, name: str = "main") -> Gate:
    """The gate `name` of one tab (created on first use by the test or the handler)."""
    key = (token, name)
    if key not in _gates:
        _gates[key] = Gate()
    return _gates[key]


async def eventually(predicate: Callable[[], bool], timeout: float = 5, what: str = "condition") -> None:
    """Poll `predicate` until it holds; fail with `what` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        await asyncio.sleep(0.005)


async def server_values(app: rx.App, token: str, state_cls: type[rx.State]) -> dict[str, Any]:
    """Every var of one state (backend vars included) as the server holds it, read under the lock."""
    async with app.modify_state(token) as root:
        state = root.get_substate(state_cls.get_full_name().split("."))
        return {name: copy.deepcopy(getattr(state, name)) for name in state_cls.var_fields()}


async def tasks_finished(app: rx.App, token: str, timeout: float = 5) -> None:
    """Wait until no background task of this tab is running."""
    await eventually(lambda: not app.tasks.for_tab(token), timeout, f"the end of tab {token[:8]}'s tasks")
