"""States for the SIGTERM test, loaded into a real `python -m docsite serve` process.

The test starts the server with `DOCSITE_EXTRA_MODULES=tests.hardening.shutdown_states`,
starts one short and one long background task, and sends SIGTERM. Each task
logs when it finishes or when its `finally` block runs, so the test can read
what happened from the server's log.
"""

from __future__ import annotations

import asyncio
import logging

import engine as rx

logger = logging.getLogger("engine.tests.shutdown")


class HardShutdownState(rx.State):
    short_done: bool = False
    long_ticks: int = 0

    @rx.event(background=True)
    async def short_task(self, seconds: float):
        await asyncio.sleep(seconds)
        async with self:
            self.short_done = True
        logger.info("short task finished")

    @rx.event(background=True)
    async def long_task(self):
        try:
            while True:
                async with self:
                    self.long_ticks += 1
                await asyncio.sleep(0.05)
        finally:
            logger.info("long task finally ran")
