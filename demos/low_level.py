"""The fetch demo: a plain asyncio task that updates state through the low-level API."""

import os

# --8<-- [start:fetch]
import asyncio

import httpx

import engine as rx

my_tasks = set()


async def _fetch_data(app, token):
    quote = None
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(quote_url())
        quote = response.text
    finally:
        # Fetched or failed, the tab must stop showing "busy"
        async with app.modify_state(token) as state:
            substate = state.get_substate(
                LowLevelState.get_full_name().split("."),
            )
            substate.loading = False
            if quote is not None:
                substate.result = quote


class LowLevelState(rx.State):
    result: str = ""
    loading: bool = False

    def fetch_data(self):
        if self.loading:
            # One fetch at a time: clicks while it runs change nothing
            return
        self.loading = True
        task = asyncio.create_task(
            _fetch_data(
                app=rx.get_app(),
                token=self.get_token(),
            ),
        )
        # Always save a reference to your tasks until they are done
        my_tasks.add(task)
        task.add_done_callback(my_tasks.discard)
# --8<-- [end:fetch]


# --8<-- [start:ui]
def low_level_example():
    return rx.vstack(
        # Screen readers read each new quote out
        rx.text(LowLevelState.result, aria_live="polite"),
        rx.button(
            "Fetch Data",
            on_click=LowLevelState.fetch_data,
            busy=LowLevelState.loading,
        ),
    )
# --8<-- [end:ui]


def quote_url() -> str:
    """Where the quotes endpoint lives: the docs server sets this to its own address."""
    return os.environ.get("DEMO_QUOTE_URL", "http://127.0.0.1:8000/api/quote")
