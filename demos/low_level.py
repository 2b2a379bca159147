"""The fetch demo: a task of its own that updates state through the low-level API, `app.modify_state`."""

import asyncio
import os

import httpx

# --8<-- [start:fetch]
import engine as rx


async def _fetch_data(app, token):
    quote = None
    try:
        # One HTTP client for every fetch (see quote_client below): no new connection pool per click
        response = await quote_client().get(quote_url())
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
        app = rx.get_app()
        # The engine holds the task, counts it against the limits, and
        # cancels it if the tab goes away (asyncio.create_task would not)
        app.create_task(
            self.get_token(),
            _fetch_data(app=app, token=self.get_token()),
        )
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


_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}


def quote_client() -> httpx.AsyncClient:
    """The one HTTP client every fetch shares (one per event loop: a client belongs to its loop)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        for old in [known for known in _clients if known.is_closed()]:
            del _clients[old]
        client = _clients[loop] = httpx.AsyncClient(timeout=5)
    return client
