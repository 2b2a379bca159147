"""Lab: a task that sleeps inside its block keeps the tab's other events waiting."""

from demos import pace

# --8<-- [start:state]
import asyncio

import engine as rx

PAUSE_SECONDS = 1  # how long each round waits


class LabWaitingState(rx.State):
    ticks: int = 0
    clicks: int = 0

    @rx.event(background=True)
    async def sleep_inside(self):
        for _ in range(3):
            async with self:
                self.ticks += 1
                # Wrong: the lock is held while nothing happens
                await asyncio.sleep(PAUSE_SECONDS)

    @rx.event(background=True)
    async def sleep_outside(self):
        for _ in range(3):
            async with self:
                self.ticks += 1
            # Right: wait with the lock given back
            await asyncio.sleep(PAUSE_SECONDS)

    def click(self):
        self.clicks += 1
# --8<-- [end:state]


# --8<-- [start:ui]
def waiting_example():
    return rx.vstack(
        rx.hstack(
            rx.button("Sleep inside the block", on_click=LabWaitingState.sleep_inside),
            rx.button("Sleep outside the block", on_click=LabWaitingState.sleep_outside),
        ),
        rx.text("ticks = ", LabWaitingState.ticks),
        rx.hstack(
            rx.button("Click me meanwhile", on_click=LabWaitingState.click),
            rx.text("clicks = ", LabWaitingState.clicks, aria_live="polite"),
        ),
    )
# --8<-- [end:ui]


# The tests run these pauses faster (DEMO_PACE, demos/pace.py); the site runs them as written.
PAUSE_SECONDS = pace.scaled(PAUSE_SECONDS)
