"""The inspector: a tab that asks for it is shown what the server does with its lock, live.

A tab sends `inspect` with `{"on": true, "states": [...]}`; from then on
its socket receives `trace` messages: the runner's observations for that tab
only (a task started, a lane waiting for the lock, taking it, leaving a block
with update seq N, releasing it, a cancel, an error, a task's end) and, after
each commit, the values of the states it asked for as the server holds them.

Backend vars (`_n_tasks`) never leave the server, except for the state
classes a teaching page explicitly opts in with `rx.show_backend_vars(...)`.
An inspector costs nothing until a tab turns it on; it holds at most
`MAX_PENDING` observations between two sends and drops the oldest (counting
them) when its tab does not keep up, so a tab that never reads cannot grow
server memory.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .codec import to_wire
from .errors import UnknownStateError
from .runner import Kind, Observation, Observers
from .state import State

__all__ = ["FLUSH_EVERY", "MAX_PENDING", "Inspector", "show_backend_vars", "shown_values"]

MAX_PENDING = 400  # observations held for one inspecting tab between two sends
FLUSH_EVERY = 0.05  # seconds: observations are sent in small batches, at most this late

_SHOWN_BACKEND: set[type[State]] = set()
_COMMITS = frozenset({Kind.BLOCK_LEFT, Kind.CHECKPOINT})


def show_backend_vars(*state_classes: type[State]) -> None:
    """Let the inspector show these states' backend vars (`_n_tasks`): for teaching pages only.

    Backend vars are the server's own; they are never sent to a tab otherwise.
    """
    for state_cls in state_classes:
        if not (isinstance(state_cls, type) and issubclass(state_cls, State)) or state_cls is State:
            raise TypeError(f"show_backend_vars takes State subclasses, got {state_cls!r}")
        _SHOWN_BACKEND.add(state_cls)


def shown_values(root: State, names: list[str]) -> dict[str, dict[str, Any]]:
    """The values of these states the inspector may show: public vars, and opted-in backend vars."""
    shown: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            state_cls = State.find_class(name)
        except UnknownStateError:
            continue
        node = root.existing_substate(state_cls)
        values = node._rx_values if node is not None else None
        fields = state_cls._rx_fields
        table: dict[str, Any] = {}
        for var, field in fields.items():
            if field.backend and (field.internal or state_cls not in _SHOWN_BACKEND):
                continue
            table[var] = to_wire(values[var] if values is not None else field.default)
        shown[name] = table
    return shown


class Inspector:
    """One inspecting tab's subscription: buffer the observations, send them in batches."""

    def __init__(
        self,
        observers: Observers,
        token: str,
        states: list[str],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.token = token
        self.states = states
        self._send = send
        self._began = time.monotonic()
        self._pending: deque[dict[str, Any]] = deque(maxlen=MAX_PENDING)
        self._values: dict[str, dict[str, Any]] | None = None
        self._dropped = 0
        self._flushing: asyncio.Task[None] | None = None
        self._unsubscribe = observers.subscribe(self.observe, token)

    def observe(self, observation: Observation) -> None:
        """A runner observation of this tab (called synchronously, under the tab's lock for commits)."""
        detail = dict(observation.detail)
        root = detail.pop("root", None)
        if observation.kind in _COMMITS and isinstance(root, State):
            self._values = shown_values(root, self.states)
        if len(self._pending) == MAX_PENDING:
            self._dropped += 1
        self._pending.append({
            "t": round(observation.at - self._began, 4),
            "kind": observation.kind,
            "lane": observation.lane,
            "detail": detail,
        })
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush(), name="engine:inspector")

    def show(self, values: dict[str, dict[str, Any]]) -> None:
        """Send these values with the next batch (the first table, read when the inspector opens)."""
        self._values = values
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush(), name="engine:inspector")

    async def _flush(self) -> None:
        """Send a batch every FLUSH_EVERY seconds while there is something to send.

        Observations made while a batch is being sent go in the next one, so
        a task's last events are never left waiting for an observation that
        may not come.
        """
        while self._pending or self._values is not None or self._dropped:
            await asyncio.sleep(FLUSH_EVERY)
            events, self._pending = list(self._pending), deque(maxlen=MAX_PENDING)
            values, self._values = self._values, None
            dropped, self._dropped = self._dropped, 0
            message: dict[str, Any] = {"events": events, "dropped": dropped}
            if values is not None:
                message["values"] = values
            await self._send(message)

    def close(self) -> None:
        self._unsubscribe()
        if self._flushing is not None:
            self._flushing.cancel()
