"""Lab: changing state outside `async with self` raises ImmutableStateError, and nothing is sent."""

# --8<-- [start:state]
import asyncio

import engine as rx


class LabImmutableState(rx.State):
    count: int = 0

    @rx.event(background=True)
    async def add_outside(self):
        await asyncio.sleep(0.5)
        # Wrong: no `async with self` around the change
        self.count += 1

    @rx.event(background=True)
    async def add_inside(self):
        await asyncio.sleep(0.5)
        async with self:
            self.count += 1
# --8<-- [end:state]


# --8<-- [start:ui]
def immutable_example():
    return rx.vstack(
        rx.text("count = ", LabImmutableState.count, class_name="rx-counter"),
        rx.hstack(
            rx.button("Add one outside the block", on_click=LabImmutableState.add_outside),
            rx.button("Add one inside the block", on_click=LabImmutableState.add_inside),
        ),
        # The message the engine raised, kept by the task's own `error` var
        rx.text("Last error: ", LabImmutableState.add_outside.error),
    )
# --8<-- [end:ui]
