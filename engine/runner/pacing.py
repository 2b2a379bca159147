"""Background blocks take turns when the event loop is saturated, so that clicks are served first.

asyncio runs every ready callback of a loop turn before it looks at the
sockets again. With thousands of background tasks waking at once, one turn
holds thousands of blocks, and a click needs several turns (its frame read,
its handler, its acknowledgement written): it waits seconds behind work
nobody is looking at. So when the loop falls behind, background blocks
(`async with self`, `modify_state`) queue here, first come first served,
and each turn admits a budget of them (a block that finds nobody queued and
the turn's budget not spent goes at once, so a few busy tasks never wait;
a block never passes one that queued, even one let go that has not run yet);
the budget follows how much CPU time the last turn took (it shrinks when a
turn took more than half of `pacing_lag`, and grows back when it took
less). Every task still makes progress, in order,
and a click waits a few short turns instead of a few long ones. Regular
events and the engine's own bookkeeping never wait here.

On by default (`pacing_lag=0.01`; 0 turns it off): in the bench's overload
section, 5,000 counter tabs on one process, it answered Stop within 0.11 s
at the 99th percentile instead of 2.3 s, and delivered more ticks, not
fewer (docs/performance.md). Whether the loop is behind is measured by a
heartbeat timer (every half of `pacing_lag`): when it fires later than
`pacing_lag`, pacing begins; it ends once the heartbeat has been on time
for a while with no more blocks waiting than a turn admits. Until then a
block pays one attribute read (`gate`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

__all__ = ["Pacer"]

_START_BUDGET = 32.0  # blocks admitted in a turn when pacing begins
_MIN_BUDGET = 8.0  # every turn admits at least this many: background work never stops
_MAX_BUDGET = 512.0
_CALM_BEATS = 8  # heartbeats on time with nothing waiting before pacing ends


def _cpu_time() -> float:
    """This thread's CPU time, or the process's where there is no per-thread clock (Emscripten: Pyodide).

    (`time.thread_time` is not on every platform; without it, a turn's admission raised in a loop callback
    and every block waiting for its turn waited for ever.)
    """
    clock = getattr(time, "thread_time", None)
    return clock() if clock is not None else time.process_time()


class Pacer:
    """`if pacer.gate and not pacer.goes_now(): await pacer.turn()` before a background block takes its tab's lock."""

    def __init__(self, lag: float) -> None:
        self.lag = lag
        self.gate = lag > 0  # whether blocks must call turn(): before the heartbeat runs, and while pacing
        self.engaged = False  # pacing now: blocks wait for their turn
        self.waited = 0  # blocks that waited for a turn, ever (for tests and the lab)
        self.engagements = 0  # times pacing began
        self._loop: asyncio.AbstractEventLoop | None = None
        self._beat: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._calm = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._admitting: asyncio.Handle | None = None
        self._budget = _START_BUDGET
        self._turn_began: float | None = None
        self._free = 0  # blocks this loop turn may still let through without queueing (the budget's rest)
        self._admitted = 0  # blocks let go that have not run yet: nobody passes them without queueing
        self._refill: asyncio.Handle | None = None
        self._stopped = False

    @property
    def budget(self) -> int:
        """Background blocks the next turn admits."""
        return int(self._budget)

    def goes_now(self) -> bool:
        """Whether this block may go at once (counted as going if so); if not, it must `await turn()`.
        (The usual answer needs no coroutine: a block asks this first.)"""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._start(loop)
        if not self.engaged:
            return True
        if self._free and not self._waiting and not self._admitted:  # (room left: a few busy tasks never wait)
            self._free -= 1
            if self._refill is None:
                self._refill = loop.call_soon(self._new_turn)
            return True
        return False

    async def turn(self) -> None:
        """Wait for this block's turn while the loop is behind (at once otherwise)."""
        if self.goes_now():
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting.append(waiter)
        self.waited += 1
        if self._admitting is None:
            self._admitting = loop.call_soon(self._admit)
        try:
            await waiter
        finally:
            if waiter.done() and not waiter.cancelled() and self._admitted:
                self._admitted -= 1

    def stop(self) -> None:
        """No more pacing (the server is stopping): whoever waits goes now."""
        self._stopped = True
        self.gate = self.engaged = False
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        self._release_all()

    # -- the heartbeat ----------------------------------------------------------------------
    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._release_all()
        self._admitted = 0  # (blocks of another loop are not this loop's to wait for)
        if self._beat is not None:
            self._beat.cancel()
        self._loop = loop
        self.engaged = False
        self.gate = False
        if self._stopped or self.lag <= 0:
            return
        self._schedule(loop)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        interval = self.lag / 2
        self._due = loop.time() + interval
        self._beat = loop.call_later(interval, self._on_beat)

    def _on_beat(self) -> None:
        loop = self._loop
        assert loop is not None
        late = loop.time() - self._due
        if late > self.lag:
            self._calm = 0
            if not self.engaged:
                self.engaged = self.gate = True
                self.engagements += 1
                self._budget = _START_BUDGET
                self._free = int(_START_BUDGET)
        elif self.engaged:
            # Calm: the beat is on time and whoever waits fits in one turn's budget, so pacing holds nobody
            # back (a steady crowd smaller than the budget always has someone queued at the beat; waiting
            # for an empty queue kept pacing on for good after one late beat, at a cost in throughput).
            holding_back = len(self._waiting) > self._budget
            self._calm = self._calm + 1 if not holding_back and late < self.lag / 2 else 0
            if self._calm >= _CALM_BEATS:
                self.engaged = self.gate = False
                self._calm = 0
                self._release_all()
        self._schedule(loop)

    # -- the turns ----------------------------------------------------------------------------
    def _new_turn(self) -> None:
        """A new loop turn: the budget is free again for blocks that find nobody queued."""
        self._refill = None
        self._free = int(self._budget)

    def _admit(self) -> None:
        """Once a turn while blocks wait: let the budget of them go, and fit the budget to the last turn."""
        self._admitting = None
        loop = self._loop
        assert loop is not None
        # The turn is measured in this thread's CPU time, not on the clock: on a shared machine the
        # process is also descheduled, and that time says nothing about how much work a turn holds.
        now = _cpu_time()
        if self._turn_began is not None:
            took = now - self._turn_began
            if took > self.lag / 2:
                self._budget = max(_MIN_BUDGET, self._budget * 0.7)
            else:
                self._budget = min(_MAX_BUDGET, self._budget * 1.1 + 1)
        room = int(self._budget)
        waiting = self._waiting
        while room and waiting:
            waiter = waiting.popleft()
            if not waiter.done():  # (a cancelled block no longer waits)
                waiter.set_result(None)
                self._admitted += 1
                room -= 1
        if waiting:
            self._admitting = loop.call_soon(self._admit)
            self._turn_began = now
        else:
            self._turn_began = None

    def _release_all(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._admitted += 1
        if self._admitting is not None:
            self._admitting.cancel()
            self._admitting = None
        if self._refill is not None:
            self._refill.cancel()
            self._refill = None
        self._turn_began = None
