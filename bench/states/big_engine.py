"""The engine's side of the big-state workloads (`bench.states.big`): its state, and an update's size at a socket."""

from __future__ import annotations

import copy
import json
import statistics
from typing import Any

import engine as rx
from engine.testing import TabClient

from . import big

__all__ = ["BigBenchState", "BigEngineSide"]

PROBE_BLOCKS = 7


class BigBenchState(rx.State):
    """Every var the big workloads use; a run fills only its own."""

    lines: list[str] = []
    rows: list[dict[str, str]] = []
    messages: list[dict[str, str]] = []
    counter: int = 0

    @rx.event(background=True)
    async def grow(self, kind: str, n: int):
        for i in range(n):
            async with self:
                big.step(self, kind, i)


class _SizedTab(TabClient):
    """A tab that notes the size of each `update` that changes the big state (as compact JSON, as it came)."""

    def __init__(self, *args: Any, var: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.var = var
        self.sizes: list[int] = []

    async def _on_update(self, data: dict[str, Any]) -> None:
        name = BigBenchState.get_full_name()
        changed = [(data.get(part) or {}).get(name, {}) for part in ("ops", "delta")]
        if "full" not in data and any(self.var in part for part in changed):
            self.sizes.append(len(json.dumps(data, separators=(",", ":"))))
        await super()._on_update(data)


class BigEngineSide:
    """Mixed into `EngineSide`: it has `self.app`."""

    app: Any

    async def big_fill(self, token: str, kind: str, items: int) -> None:
        async with self.app.modify_state(token) as root:
            state = root.get_substate(BigBenchState.get_full_name().split("."))
            for var, value in big.initial(kind, items).items():
                setattr(state, var, value)

    async def big_blocks(self, token: str, kind: str, n: int) -> None:
        await self.app.start_background(token, rx.EventSpec(BigBenchState.grow, (kind, n)))

    async def big_modify(self, token: str, kind: str, n: int) -> None:
        """n `modify_state` blocks from outside any handler, one change each."""
        app, path = self.app, BigBenchState.get_full_name().split(".")
        for i in range(n):
            async with app.modify_state(token) as root:
                big.step(root.get_substate(path), kind, i)

    async def big_read(self, token: str) -> Any:
        async with self.app.modify_state(token) as root:
            state = root.get_substate(BigBenchState.get_full_name().split("."))
            return _Snapshot({var: copy.deepcopy(getattr(state, var)) for var in big.VARS})

    async def big_update_bytes(self, kind: str, items: int, via: str = "task") -> float | None:
        """The median size of one block's update, as a tab connected through a real socket receives it."""
        var = big.KINDS[kind][1]
        async with _SizedTab(self.app, states=[BigBenchState], var=var) as tab:
            await self.big_fill(tab.token, kind, items)
            name = BigBenchState.get_full_name()
            await tab.wait_for(lambda t: len(t.state(name).get("rows" if kind == "counter" else var) or []) == items,
                               timeout=60)
            tab.sizes.clear()
            await (self.big_blocks if via == "task" else self.big_modify)(tab.token, kind, PROBE_BLOCKS)
            await tab.settle()
            final = getattr(await self.big_read(tab.token), var)
            await tab.wait_for(lambda t: t.state(name).get(var) == final, timeout=30)
            if len(tab.sizes) == PROBE_BLOCKS:  # (one update per block: the tab kept up)
                return statistics.median(tab.sizes)
            # A tab that fell behind got some blocks merged into one update (engine/socket/behind.py):
            # what it received, per block.
            return sum(tab.sizes) / PROBE_BLOCKS


class _Snapshot:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
