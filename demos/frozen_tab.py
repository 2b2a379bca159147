"""The problem background tasks solve, live: a regular handler that waits holds its whole tab."""

from demos import pace

# --8<-- [start:frozen]
import asyncio

import engine as rx

WAIT = 3  # seconds the slow work takes


class FrozenTabState(rx.State):
    clicks: int = 0
    waits_done: int = 0

    async def wait_in_handler(self):
        # A regular handler has the tab to itself until it returns:
        # every other click of this tab waits behind it
        await asyncio.sleep(WAIT)
        self.waits_done += 1

    @rx.event(background=True, concurrency="skip")
    async def wait_in_task(self):
        # A background task waits without the tab: clicks run meanwhile
        await asyncio.sleep(WAIT)
        async with self:
            self.waits_done += 1

    def add_one(self):
        self.clicks += 1
# --8<-- [end:frozen]


# --8<-- [start:ui]
def frozen_tab_example():
    return rx.vstack(
        rx.hstack(
            rx.button("Wait 3 s in a handler", on_click=FrozenTabState.wait_in_handler),
            rx.button("Wait 3 s in a task", on_click=FrozenTabState.wait_in_task),
            rx.button("Add one", on_click=FrozenTabState.add_one),
        ),
        rx.text("Clicks: ", FrozenTabState.clicks, ", waits done: ", FrozenTabState.waits_done),
        rx.text("Task: ", FrozenTabState.wait_in_task.status),
    )
# --8<-- [end:ui]


# The tests run this pause faster (DEMO_PACE, demos/pace.py); the site runs it as written.
WAIT = pace.scaled(WAIT)
