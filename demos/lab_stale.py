"""Lab: what a background task reads outside `async with self` is a snapshot that can go stale."""

from demos import pace

# --8<-- [start:state]
import asyncio

import engine as rx

PAUSE_SECONDS = 3  # how long the task goes without the lock


class LabStaleState(rx.State):
    value: int = 1
    read_outside: int | None = None  # what the task read between its blocks
    read_inside: int | None = None  # what it read inside the next block

    def add_one(self):
        self.value += 1

    @rx.event(background=True)
    async def read_twice(self):
        async with self:
            self.read_outside = self.read_inside = None
        # Three seconds without the lock: the tab's events run meanwhile
        await asyncio.sleep(PAUSE_SECONDS)
        # Outside a block: the copy the task kept when its last block ended
        stale = self.value
        async with self:
            # Inside a block: the value as the tab holds it now
            self.read_outside = stale
            self.read_inside = self.value
# --8<-- [end:state]


# --8<-- [start:ui]
def stale_read_example():
    return rx.vstack(
        rx.hstack(
            rx.text("value = ", LabStaleState.value, class_name="rx-counter"),
            rx.button("Add one", on_click=LabStaleState.add_one),
            rx.button("Read it twice", on_click=LabStaleState.read_twice),
        ),
        rx.text("Read outside the block: ", LabStaleState.read_outside),
        rx.text("Read inside the next block: ", LabStaleState.read_inside),
    )
# --8<-- [end:ui]


# The tests run these pauses faster (DEMO_PACE, demos/pace.py); the site runs them as written.
PAUSE_SECONDS = pace.scaled(PAUSE_SECONDS)
