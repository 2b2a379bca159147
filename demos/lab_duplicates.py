"""Lab: the counter without its `_n_tasks` guard, so a quick Stop and Start leaves two copies counting."""

from demos import pace

# --8<-- [start:state]
import asyncio

import engine as rx

TICK = 0.5  # seconds between two counts


class LabUnguardedState(rx.State):
    counter: int = 0
    running: bool = False

    @rx.event(background=True)
    async def my_task(self):
        # No guard: every Start runs one more copy of this loop
        while True:
            async with self:
                if not self.running:
                    return
                self.counter += 1
            await asyncio.sleep(TICK)

    def toggle_running(self):
        self.running = not self.running
        if self.running:
            return LabUnguardedState.my_task

    def clear_counter(self):
        self.counter = 0
# --8<-- [end:state]


# --8<-- [start:ui]
def unguarded_example():
    return rx.hstack(
        rx.text(LabUnguardedState.counter, class_name="rx-counter"),
        rx.button(
            rx.cond(~LabUnguardedState.running, "Start", "Stop"),
            on_click=LabUnguardedState.toggle_running,
        ),
        rx.button("Reset", on_click=LabUnguardedState.clear_counter),
    )
# --8<-- [end:ui]


def _show_the_guard() -> None:
    """The lab's state table shows the guarded counter's `_n_tasks` (teaching only)."""
    from demos.background_tasks import MyTaskState

    rx.show_backend_vars(MyTaskState)


_show_the_guard()


# The tests run these pauses faster (DEMO_PACE, demos/pace.py); the site runs them as written.
TICK = pace.scaled(TICK)
