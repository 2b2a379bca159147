"""Lab: a background task yields regular events, then chains a second task."""

from demos import pace

# --8<-- [start:state]
import asyncio

import engine as rx

ROW_SECONDS = 0.6  # how long making one row takes


class LabChainState(rx.State):
    log: str = ""
    rows: int = 0

    @rx.event(background=True)
    async def build(self):
        for n in range(1, 4):
            await asyncio.sleep(ROW_SECONDS)  # the slow part, with no lock held
            # A regular event: it joins the tab's queue and runs under the lock
            yield LabChainState.add_row(n)
        # Chaining: yielding a background handler starts another task
        yield LabChainState.summarize

    def add_row(self, n: int):
        self.rows += 1
        self.log += f"row {n} added by a queued event\n"

    @rx.event(background=True)
    async def summarize(self):
        async with self:
            self.log += f"summarize, the chained task, counted {self.rows} rows\n"

    def clear(self):
        self.log = ""
        self.rows = 0
# --8<-- [end:state]


# --8<-- [start:ui]
def chain_example():
    return rx.vstack(
        rx.hstack(
            rx.button("Build three rows", on_click=LabChainState.build),
            rx.button("Clear", on_click=LabChainState.clear),
        ),
        rx.text(LabChainState.log, aria_live="polite"),
    )
# --8<-- [end:ui]


# The tests run these pauses faster (DEMO_PACE, demos/pace.py); the site runs them as written.
ROW_SECONDS = pace.scaled(ROW_SECONDS)
