"""The states the hardening tests drive (names start with `Hard` so they collide with nobody's).

Every handler that changes state takes an operation id, so the ledger
(ledger.py) can tell which attempted operations were applied, and how often.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import engine as rx

# Tokens whose looping task ran its `finally` block (HardLoopState.spin).
FINALLY_RAN: list[str] = []
# Gates a test opens to move a background task past an await point.
GATES: dict[str, asyncio.Event] = {}
# The task running HardLedgerState.pair for each op id (for tests that cancel it).
HANDLER_TASKS: dict[str, asyncio.Task[Any] | None] = {}


class HardLedgerState(rx.State):
    """Every change is recorded: `applied` lists op ids in the order they were applied."""

    applied: list[str] = []
    count: int = 0
    a: int = 0
    b: int = 0
    _secret: int = 0

    def apply(self, op_id: str):
        self.applied.append(op_id)
        self.count += 1

    def apply_then_fail(self, op_id: str):
        self.applied.append(op_id)
        self.count += 1
        raise RuntimeError(f"operation {op_id} failed on purpose")

    async def apply_slowly(self, op_id: str, seconds: float):
        self.applied.append(op_id)
        await asyncio.sleep(seconds)
        self.count += 1

    async def pair(self, op_id: str):
        """A regular handler with an await between two changes: all or nothing."""
        HANDLER_TASKS[op_id] = asyncio.current_task()
        self.a += 1
        await asyncio.sleep(0)
        self.applied.append(op_id)
        await asyncio.sleep(0)
        self.b += 1

    @rx.event(background=True)
    async def pair_in_task(self, op_id: str):
        """`async with self` with awaits inside: all or nothing."""
        async with self:
            self.a += 1
            await asyncio.sleep(0)
            self.applied.append(op_id)
            await asyncio.sleep(0)
            self.b += 1

    @rx.event(background=True)
    async def pair_then_fail(self, op_id: str):
        async with self:
            self.a += 1
            self.applied.append(op_id)
            raise ValueError(f"operation {op_id} failed inside async with self")

    @rx.event(background=True)
    async def apply_in_task(self, op_id: str):
        async with self:
            self.applied.append(op_id)
            self.count += 1

    @rx.event(background=True)
    async def hold(self, seconds: float):
        """Holds the tab's lock for a while (to test lock_timeout)."""
        async with self:
            await asyncio.sleep(seconds)

    def bump_secret(self):
        self._secret += 1


class HardHostileState(rx.State):
    """The target of hostile events: nothing here may change unless a valid event says so."""

    count: int = 0
    label: str = "start"
    items: list[int] = []
    _n_tasks: int = 0
    _hidden: str = "backend"

    def add(self, amount: int):
        self.count += amount

    def set_both(self, count: int, label: str):
        self.count = count
        self.label = label

    def extend(self, values: list[int]):
        self.items.extend(values)

    def _private(self):
        self.count = -1

    @rx.event(background=True)
    async def slow(self):
        await asyncio.sleep(0.1)


class HardLoopState(rx.State):
    """A background task that loops forever and never checks whether its tab is still there."""

    ticks: int = 0

    @rx.event(background=True)
    async def spin(self, pause: float):
        try:
            while True:
                async with self:
                    self.ticks += 1
                await asyncio.sleep(pause)
        finally:
            FINALLY_RAN.append(self.get_token())

    @rx.event(background=True)
    async def stubborn(self):
        """Loses its first cancellation, as asyncio.wait_for can on Python 3.11."""
        lost = False
        try:
            while True:
                try:
                    await asyncio.sleep(0.02)
                except asyncio.CancelledError:
                    if lost:
                        raise
                    lost = True
        finally:
            FINALLY_RAN.append(self.get_token())

    @rx.event(background=True)
    async def finish(self, seconds: float):
        await asyncio.sleep(seconds)
        async with self:
            self.ticks += 1000

    @rx.event(background=True)
    async def fail(self):
        raise ZeroDivisionError("on purpose")

    @rx.event(background=True)
    async def wait_gate(self, name: str):
        try:
            await GATES[name].wait()
        finally:
            FINALLY_RAN.append(self.get_token())


class HardChainState(rx.State):
    steps: int = 0

    def again(self):
        self.steps += 1
        return HardChainState.again


class HardFloodState(rx.State):
    """Big, fast updates for a tab that stops reading."""

    n: int = 0
    blob: str = ""

    @rx.event(background=True)
    async def flood(self, count: int, size: int):
        for i in range(count):
            async with self:
                self.n = i + 1
                self.blob = str(i % 10) * size
            await asyncio.sleep(0)

    def fill(self, size: int):
        """One big update, from a click (never merged: each is sent as it is)."""
        self.n += 1
        self.blob = str(self.n % 10) * size


class HardBlockingState(rx.State):
    naps: int = 0

    def nap(self, seconds: float):
        time.sleep(seconds)  # what a handler must never do: the watchdog names it
        self.naps += 1

    @rx.event(background=True)
    async def busy_but_polite(self, seconds: float, steps: int):
        """Many of these at once saturate the loop without any one of them blocking it."""
        for _ in range(steps):
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                pass
            await asyncio.sleep(0)


class HardMarkupState(rx.State):
    html: str = "<img src=x onerror=alert(1)>"
    quote: str = '"><script>alert(2)</script>'


def markup_demo() -> Any:
    return rx.vstack(
        rx.heading(HardMarkupState.html),
        rx.text("literal <b>text</b> ", HardMarkupState.quote),
        rx.number_input(value=HardMarkupState.quote, on_change=HardMarkupState.set_quote),
        rx.button(HardMarkupState.html, on_click=HardMarkupState.set_html),
    )
