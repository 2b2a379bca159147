"""States for the multi-process Redis tests, imported by the test and by every server process.

`ScaleState.drive(token, ...)` lets a tab connected to one worker make *that*
worker change another tab's state (background tasks started for that tab and
`app.modify_state` blocks), which is how the tests act on one tab "from both
sides".
"""

from __future__ import annotations

import asyncio
import os

import engine as rx

_helpers: set[asyncio.Task[None]] = set()


class ScaleState(rx.State):
    count: int = 0
    held: bool = False
    pid: int = 0
    seen: bool = False
    _touches: int = 0

    def add(self, n: int):
        self.count += n
        self._touches += 1

    def whoami(self):
        self.pid = os.getpid()

    @rx.event(background=True)
    async def add_many(self, n: int):
        for _ in range(n):
            async with self:
                self.count += 1
                self._touches += 1

    @rx.event(background=True)
    async def count_on(self, interval: float):
        """A running counter: one block adding one to `count`, then `interval` s outside the lock; forever."""
        while True:
            async with self:
                self.count += 1
            await asyncio.sleep(interval)

    @rx.event(background=True)
    async def hold_lock(self, seconds: float):
        """Change `held` and keep the tab's lock for `seconds` before committing it."""
        async with self:
            self.held = True
            await asyncio.sleep(seconds)

    def drive(self, token: str, n: int, tasks: int):
        """From this worker: `tasks` background tasks adding `n` each to `token`'s count,
        plus `n` `modify_state` blocks adding one each."""
        app = rx.get_app()
        for _ in range(tasks):
            app.start_background(token, ScaleState.add_many(n))
        helper = asyncio.create_task(_modify_many(app, token, n))
        _helpers.add(helper)
        helper.add_done_callback(_helpers.discard)

    def probe(self, token: str):
        """Whether this worker's `token_to_sid` knows `token` (connected to any worker)."""
        self.seen = token in rx.get_app().event_namespace.token_to_sid


async def _modify_many(app: rx.App, token: str, n: int) -> None:
    path = ScaleState.get_full_name().split(".")
    for _ in range(n):
        async with app.modify_state(token) as root:
            root.get_substate(path).count += 1


class TickState(rx.State):
    """A log of ticks: a commit lost leaves a gap, one applied twice a repeat."""

    ticks: list[int] = []

    @rx.event(background=True)
    async def tick_on(self, interval: float):
        while True:
            async with self:
                self.ticks.append(len(self.ticks))
            await asyncio.sleep(interval)


class MarkState(rx.State):
    """Each copy of `mark_on` writes its own name at every tick: two copies at once show as two names."""

    marks: list[str] = []

    @rx.event(background=True)
    async def mark_on(self, interval: float):
        me = f"{os.getpid()}:{id(asyncio.current_task()):x}"
        while True:
            async with self:
                self.marks.append(me)
            await asyncio.sleep(interval)


class ResumeMarkState(rx.State):
    """`MarkState`'s log from a handler that opts in to `resume=True`: a copy lost with its worker starts
    again where the tab is served, under a new name."""

    marks: list[str] = []

    @rx.event(background=True, resume=True)
    async def mark_on(self, interval: float):
        me = f"{os.getpid()}:{id(asyncio.current_task()):x}"
        while True:
            async with self:
                self.marks.append(me)
            await asyncio.sleep(interval)
