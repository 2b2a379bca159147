"""The counter demo: a background task that ticks while the page stays live."""

from demos import pace

# --8<-- [start:my_task]
import asyncio

import engine as rx

TICK = 0.5  # seconds between two counts


class MyTaskState(rx.State):
    counter: int = 0
    max_counter: int = 10
    running: bool = False
    _n_tasks: int = 0

    # resume=True: a deploy that stops the server starts the task again for the tab
    @rx.event(background=True, resume=True)
    async def my_task(self):
        async with self:
            # The latest state values are always available inside the context
            if self._n_tasks > 0:
                # only allow 1 concurrent task
                return

            # State mutation is only allowed inside context block
            self._n_tasks += 1

        try:
            while True:
                async with self:
                    # Check for stopping conditions inside context
                    if self.counter >= self.max_counter:
                        self.running = False
                    if not self.running:
                        return

                    self.counter += 1

                # Await long operations outside the context to avoid blocking UI
                await asyncio.sleep(TICK)
        finally:
            # Returned, failed or cancelled: give the guard back in every case
            async with self:
                self._n_tasks -= 1

    def toggle_running(self):
        self.running = not self.running
        if self.running:
            if self.counter >= self.max_counter:
                # Already at the limit: start over rather than stop at once
                self.counter = 0
            if not self.my_task.running:
                # No copy runs (one may have died with a server that was killed
                # before its finally could run): nothing holds the guard
                self._n_tasks = 0
            return MyTaskState.my_task

    def clear_counter(self):
        self.counter = 0
# --8<-- [end:my_task]


# --8<-- [start:ui]
def background_task_example():
    return rx.hstack(
        # Figures of fixed width (demo.css): nothing moves from 9 to 10
        rx.text(MyTaskState.counter, " /", class_name="rx-counter"),
        rx.number_input(
            value=MyTaskState.max_counter,
            on_change=MyTaskState.set_max_counter,
            min=1,
            max=100,
            aria_label="Limit",
            width="8em",
        ),
        rx.button(
            rx.cond(~MyTaskState.running, "Start", "Stop"),
            on_click=MyTaskState.toggle_running,
        ),
        rx.button(
            "Reset",
            on_click=MyTaskState.clear_counter,
        ),
    )
# --8<-- [end:ui]


# The tests run these pauses faster (DEMO_PACE, demos/pace.py); the site runs them as written.
TICK = pace.scaled(TICK)
