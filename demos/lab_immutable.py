"""Lab: changing state outside `async with self` raises ImmutableStateError, and nothing is sent."""

from demos import pace

# --8<-- [start:state]
import asyncio

import engine as rx

WORK_SECONDS = 0.5  # how long each task works before it changes the state


class LabImmutableState(rx.State):
    count: int = 0
    names: list[str] = []

    @rx.event(background=True)
    async def add_outside(self):
        await asyncio.sleep(WORK_SECONDS)
        # Wrong: no `async with self` around the change
        self.count += 1

    @rx.event(background=True)
    async def append_later(self):
        async with self:
            names = self.names
        await asyncio.sleep(WORK_SECONDS)
        # Wrong: `names` belongs to the block that ended
        names.append(f"name {len(names) + 1}")

    @rx.event(background=True)
    async def nest(self):
        async with self:
            # Wrong: the inner block would wait for the outer one forever
            async with self:
                self.count += 1

    @rx.event(background=True)
    async def add_inside(self):
        await asyncio.sleep(WORK_SECONDS)
        async with self:
            self.count += 1
            self.names.append(f"name {len(self.names) + 1}")
# --8<-- [end:state]


# --8<-- [start:ui]
def immutable_example():
    return rx.vstack(
        rx.text("count = ", LabImmutableState.count, ", names = ", LabImmutableState.names),
        rx.hstack(
            rx.button("Add outside the block", on_click=LabImmutableState.add_outside),
            rx.button("Append to an old list", on_click=LabImmutableState.append_later),
            rx.button("Nest two blocks", on_click=LabImmutableState.nest),
        ),
        rx.button("Do it right", on_click=LabImmutableState.add_inside),
    )
# --8<-- [end:ui]


# The tests run these pauses faster (DEMO_PACE, demos/pace.py); the site runs them as written.
WORK_SECONDS = pace.scaled(WORK_SECONDS)
