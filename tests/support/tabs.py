"""`RecordingTab`: a `TabClient` that keeps every `update` it was sent, to check what a reader saw and when."""

from __future__ import annotations

import copy
import time
from typing import Any

import engine as rx
from engine.testing import TabClient


class RecordingTab(TabClient):
    """A `TabClient` that also keeps every `update` message, in arrival order, with its arrival time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.updates: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.applied: list[bool] = []  # per update: whether the tab applied it (not old, no gap)

    async def _on_update(self, data: dict[str, Any]) -> None:
        self.updates.append(copy.deepcopy(data))
        self.arrivals.append(time.monotonic())
        seq = self.seq
        await super()._on_update(data)
        self.applied.append(self.seq != seq or "full" in data)

    def fulls(self) -> list[dict[str, Any]]:
        """The updates that replaced the tab's whole state."""
        return [update for update in self.updates if "full" in update]

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

    def sent(self, state: str, var: str) -> list[Any]:
        """Every value of `state`'s `var` the tab was sent, full updates included, in the order it was sent."""
        return self._values_of(state, var, applied_only=False)

    def shown(self, state: str, var: str) -> list[Any]:
        """Every value of `state`'s `var` the tab showed: the updates it applied (an update that arrives
        before the tab's full copy, or older than it, is not shown), in order."""
        return self._values_of(state, var, applied_only=True)

    def _values_of(self, state: str, var: str, *, applied_only: bool) -> list[Any]:
        values = []
        for update, applied in zip(self.updates, self.applied, strict=True):
            changed = update.get("full") or update.get("delta") or {}
            if var in changed.get(state, {}) and (applied or not applied_only):
                values.append(changed[state][var])
        return values


def _without_task_status(delta: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kept = {name: {key: value for key, value in values.items() if "@" not in key} for name, values in delta.items()}
    return {name: values for name, values in kept.items() if values}
