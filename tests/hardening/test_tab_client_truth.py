"""The test client tells the truth.

- Tabs entered at once (`asyncio.gather`) on one App share one server, and
  each connects to it (none to an empty URL while it starts).
- An update bigger than aiohttp's default 4 MiB message cap reaches the tab:
  the server puts no cap on what it sends, and neither does the tab.
- A connection the server closes is reported at once, in `tab.errors` and as
  a `ConnectionError` naming the reason from `send()` and `wait_for()`,
  instead of a silent wait ending in an empty timeout.

Through real sockets, on both managers.
"""

from __future__ import annotations

import asyncio
import time

import pytest

import engine as rx
from engine.testing import TabClient

pytestmark = pytest.mark.redis

BIG = 5 * 1024 * 1024  # over aiohttp's default cap of 4 MiB per message


class ClientTruthState(rx.State):
    n: int = 0
    blob: str = ""

    def bump(self):
        self.n += 1

    def grow(self, size: int):
        self.blob = "x" * size

    async def close_my_socket(self):
        """The server closes this tab's socket before it can acknowledge the event."""
        app = rx.get_app()
        await app.event_namespace.disconnect(app.event_namespace.token_to_sid[self.get_token()])
        await asyncio.sleep(0.2)


async def test_tabs_entered_at_once_share_one_server_and_all_connect(make_app):
    app = make_app()
    tabs = [TabClient(app, states=[ClientTruthState]) for _ in range(3)]
    await asyncio.gather(*(tab.__aenter__() for tab in tabs))
    try:
        assert len({tab.url for tab in tabs}) == 1 and tabs[0].url.startswith("http://127.0.0.1:")
        for tab in tabs:
            assert (await tab.send(ClientTruthState.bump)) == {"ok": True}
            await tab.wait_for(lambda t: t.state(ClientTruthState)["n"] == 1)
    finally:
        await asyncio.gather(*(tab.__aexit__(None, None, None) for tab in tabs))
    async with TabClient(app, states=[ClientTruthState]) as later:  # the last one out stopped it: a new one
        assert (await later.send(ClientTruthState.bump))["ok"]


async def test_an_update_over_four_mib_reaches_the_tab_and_so_does_a_full_copy_that_big(make_app):
    app = make_app(max_state_bytes=2 * BIG)  # (a 5 MiB state is past the default max_state_bytes)
    async with TabClient(app, states=[ClientTruthState]) as tab:
        assert (await tab.send(ClientTruthState.grow, BIG)) == {"ok": True}
        await tab.wait_for(lambda t: len(t.state(ClientTruthState)["blob"]) == BIG, timeout=10)
        await tab.reconnect()  # the full copy a tab gets on connecting is as big
        assert len(tab.state(ClientTruthState)["blob"]) == BIG
        assert (await tab.send(ClientTruthState.bump))["ok"]
        assert tab.errors == [] and tab.lost is None


async def test_a_connection_the_server_closes_is_reported_at_once_with_its_reason(make_app):
    app = make_app()
    async with TabClient(app, states=[ClientTruthState]) as tab:
        started = time.monotonic()
        with pytest.raises(ConnectionError, match="server's side of this tab's connection went away"):
            await tab.send(ClientTruthState.close_my_socket, timeout=20)
        assert time.monotonic() - started < 5  # not the 20 s the acknowledgement could have taken
        assert any("lost the connection to the server" in error for error in tab.errors), tab.errors
        with pytest.raises(ConnectionError, match="call reconnect"):
            await tab.wait_for(lambda t: t.state(ClientTruthState)["n"] == 1, timeout=20)
        await tab.reconnect()  # and the tab comes back
        assert (await tab.send(ClientTruthState.bump))["ok"]
        assert tab.lost is None
