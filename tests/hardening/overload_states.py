"""States for the overload tests: a task that commits faster than its tab's socket can send."""

from __future__ import annotations

import asyncio

import engine as rx


class OverloadState(rx.State):
    n: int = 0
    log: list[int] = []
    clicks: int = 0
    pad: str = ""

    @rx.event(background=True)
    async def burst(self, rounds: int, per_round: int, pad: int = 0):
        """`per_round` blocks in one step of the loop (nothing in between is sent), `rounds` times.

        Each block counts, appends to a list (sent as an operation) and, with
        `pad`, sets a text that long (so that a socket's buffers fill quickly).
        """
        for _ in range(rounds):
            for _ in range(per_round):
                async with self:
                    self.n += 1
                    self.log.append(self.n)
                    if pad:
                        self.pad = f"{self.n:>{pad}}"
            await asyncio.sleep(0)

    def click(self):
        self.clicks += 1
