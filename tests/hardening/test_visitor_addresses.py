"""Limits count visitors, not the proxy: each visitor is its TCP peer's address (or a trusted proxy's word).

The tests' clients connect from distinct loopback addresses (all of
127.0.0.0/8 is this machine), so each is another visitor, as on the
public server. python-engineio's ASGI driver writes 127.0.0.1 as every
socket's REMOTE_ADDR; a server that read it counted the whole world as
one visitor, and trusted every forwarded header when 127.0.0.1 was a
configured proxy.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.testing import TabClient

from .states import HardLedgerState

LEDGER = [HardLedgerState]


def _visitor(n: int) -> str:
    """The loopback address of visitor n (1..64000): 127.0.x.y, never 127.0.0.1 (the proxy's, in some tests)."""
    return f"127.0.{n // 250}.{n % 250 + 2}"


async def test_300_visitors_from_300_addresses_all_get_in_and_are_served(make_app):
    # With the defaults: 30 sockets, 120 new tabs a minute and 100 events a second per address. Counted
    # as one visitor, the 31st socket would be refused, and the events would share one allowance.
    app = make_app()
    visitors = 300
    began = time.monotonic()
    async with TabClient(app, states=LEDGER, local_address=_visitor(0)) as first:
        tabs = [TabClient(url=first.url, states=LEDGER, local_address=_visitor(n)) for n in range(1, visitors)]
        try:
            for batch in range(0, len(tabs), 50):
                await asyncio.gather(*(tab.connect() for tab in tabs[batch:batch + 50]))
            everyone = [first, *tabs]
            acks = await asyncio.gather(*(tab.send(HardLedgerState.apply, f"hello{n}")
                                          for n, tab in enumerate(everyone)))
            refused = [ack for ack in acks if not ack["ok"]]
            assert not refused, refused[:3]
            assert len({tab.token for tab in everyone}) == visitors
            assert all(tab.state(HardLedgerState)["applied"] == [f"hello{n}"] for n, tab in enumerate(everyone))
        finally:
            await asyncio.gather(*(tab.disconnect() for tab in tabs))
    assert time.monotonic() - began < 60


async def test_one_address_over_its_socket_limit_is_refused_at_once_with_the_reason(make_app):
    app = make_app(max_connections_per_client=3)
    crowd = [TabClient(app, states=LEDGER, local_address="127.0.0.5") for _ in range(3)]
    for tab in crowd:
        await tab.__aenter__()
    try:
        began = time.monotonic()
        with pytest.raises(ConnectionRefusedError, match=r"setting max_connections_per_client=3"):
            async with TabClient(app, states=LEDGER, local_address="127.0.0.5"):
                pass
        assert time.monotonic() - began < 3, "the refusal should be raised at once, not after a timeout"
        async with TabClient(app, states=LEDGER, local_address="127.0.0.6") as neighbour:  # another visitor
            assert (await neighbour.send(HardLedgerState.apply, "next door"))["ok"]
    finally:
        for tab in crowd:
            await tab.__aexit__(None, None, None)


async def test_one_address_over_its_new_tab_rate_is_refused_and_another_is_not(make_app):
    app = make_app(new_tabs_per_client_per_minute=4)
    async with TabClient(app, states=LEDGER, local_address="127.0.1.9") as first:
        for _ in range(3):
            again = TabClient(url=first.url, states=LEDGER, local_address="127.0.1.9")
            await again.connect()
            await again.disconnect()
        with pytest.raises(ConnectionRefusedError, match=r"setting new_tabs_per_client_per_minute=4"):
            await TabClient(url=first.url, states=LEDGER, local_address="127.0.1.9").connect()
        async with TabClient(url=first.url, states=LEDGER, local_address="127.0.1.10") as other:
            assert (await other.send(HardLedgerState.apply, "fine"))["ok"]


async def test_a_forged_forwarded_header_from_an_untrusted_peer_is_ignored(make_app):
    # 127.0.0.1 is a trusted proxy; the attacker connects from 127.0.0.7 and names a new "client" each time.
    app = make_app(trusted_proxies=("127.0.0.1",), max_connections_per_client=2)

    def forged(n: int, url: str | None = None) -> TabClient:
        return TabClient(app, url=url, states=LEDGER, local_address="127.0.0.7",
                         headers={"X-Forwarded-For": f"10.9.9.{n}"})

    async with forged(0) as first:
        second = forged(1, first.url)
        await second.connect()
        try:
            with pytest.raises(ConnectionRefusedError, match=r"setting max_connections_per_client=2"):
                await forged(2, first.url).connect()  # the third socket of 127.0.0.7, whatever its header says
        finally:
            await second.disconnect()


async def test_a_trusted_proxys_forwarded_header_is_honoured(make_app):
    proxy = "127.0.0.9"
    app = make_app(trusted_proxies=(proxy,), max_connections_per_client=1)

    def behind_proxy(client: str) -> TabClient:
        return TabClient(app, states=LEDGER, local_address=proxy, headers={"X-Forwarded-For": client})

    async with behind_proxy("10.1.1.1") as one, behind_proxy("10.1.1.2") as two:  # two visitors, one proxy
        assert (await one.send(HardLedgerState.apply, "one"))["ok"]
        assert (await two.send(HardLedgerState.apply, "two"))["ok"]
        with pytest.raises(ConnectionRefusedError, match=r"setting max_connections_per_client=1"):
            async with behind_proxy("10.1.1.1"):  # the first visitor's second socket
                pass
