"""Reflex 0.10.1's side of the big-state workloads (`bench.states.big`), step for step like `big_engine`.

Import it only in a Reflex worker process (after `bench.states.worker` set Reflex's environment).
The size of an update is Reflex's `StateUpdate` as its Socket.IO server would encode it
(`reflex.app._sio_dumps`, the JSON its server is built with): with no tab connected it sends
nothing, so the probe catches the update at `emit_update`, where it would be sent.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

import reflex as rx
from reflex.app import _sio_dumps
from reflex.istate.manager.token import BaseStateToken
from reflex_base.event import Event

from . import big

__all__ = ["BigReflexSide", "TwinBigBenchState"]

PROBE_BLOCKS = 7


class TwinBigBenchState(rx.State):
    """Twin of bench.states.big_engine.BigBenchState."""

    lines: list[str] = []
    rows: list[dict[str, str]] = []
    messages: list[dict[str, str]] = []
    counter: int = 0

    @rx.event(background=True)
    async def grow(self, kind: str, n: int):
        for i in range(n):
            async with self:
                big.step(self, kind, i)


class BigReflexSide:
    """Mixed into `ReflexSide`: it has `self.app`."""

    app: Any

    def _key(self, token: str) -> BaseStateToken:
        return BaseStateToken(ident=token, cls=TwinBigBenchState)

    async def big_fill(self, token: str, kind: str, items: int) -> None:
        async with self.app.modify_state(self._key(token)) as root:
            state = await root.get_state(TwinBigBenchState)
            for var, value in big.initial(kind, items).items():
                setattr(state, var, value)

    async def big_blocks(self, token: str, kind: str, n: int) -> None:
        name = f"{TwinBigBenchState.get_full_name()}.grow"
        future = await self.app.event_processor.enqueue(token, Event(name=name, payload={"kind": kind, "n": n}))
        await future

    async def big_modify(self, token: str, kind: str, n: int) -> None:
        """n `modify_state` blocks from outside any handler, one change each."""
        app, key = self.app, self._key(token)
        for i in range(n):
            async with app.modify_state(key) as root:
                big.step(await root.get_state(TwinBigBenchState), kind, i)

    async def big_read(self, token: str) -> Any:
        async with self.app.modify_state(self._key(token)) as root:
            state = await root.get_state(TwinBigBenchState)
            values = {var: json.loads(json.dumps(getattr(state, var), default=_plain)) for var in big.VARS}
        return _Snapshot(values)

    async def big_update_bytes(self, kind: str, items: int, via: str = "task") -> float | None:
        """The median size of one block's update, caught where Reflex would send it to the tab."""
        token = f"probe-{kind}-{items}-{via}"
        await self.big_fill(token, kind, items)
        namespace = self.app.event_namespace
        sizes: list[int] = []

        async def record(update: Any, token: str) -> None:
            sizes.append(len(_sio_dumps(update)))

        namespace.emit_update = record  # (an instance attribute: the class's method is back after the probe)
        try:
            await (self.big_blocks if via == "task" else self.big_modify)(token, kind, PROBE_BLOCKS)
        finally:
            del namespace.emit_update
        return statistics.median(sizes) if sizes else None


def _plain(value: Any) -> Any:
    """Reflex's proxies of lists and dicts, as plain values."""
    wrapped = getattr(value, "__wrapped__", value)
    return dict(wrapped) if isinstance(wrapped, dict) else list(wrapped)


class _Snapshot:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
