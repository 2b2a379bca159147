"""One visitor must not spoil the site for everyone (limits per client address, hosts, caps)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import socketio

import engine as rx
from engine.protocol import NAMESPACE
from engine.testing import TabClient, serve
from tests.engine.server_side import server_values
from tests.hardening.states import HardLedgerState
from tests.support.env import load

LEDGER = [HardLedgerState]
PROXY = ("127.0.0.1",)  # the tests' sockets come from here: behind it, X-Forwarded-For names the client


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def _raw_connect(url: str, headers: dict[str, str], auth: dict[str, Any]) -> tuple[list[str], bool, Any]:
    """Connect a bare client; returns the errors it was told, whether it is connected, and the client."""
    client = socketio.AsyncClient(reconnection=False)
    errors: list[str] = []
    client.on("error", lambda data: errors.append(data["message"]), namespace=NAMESPACE)
    try:
        await client.connect(url, namespaces=[NAMESPACE], transports=["websocket"], auth=auth, headers=headers,
                             wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        pass
    for _ in range(100):
        if errors or client.connected:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    return errors, client.connected, client


@pytest.mark.load
async def test_the_tab_limit_cannot_be_exhausted_by_opening_and_dropping_tabs(memory_apps):
    app = memory_apps(max_tabs=20, trusted_proxies=PROXY, new_tabs_per_client_per_minute=10**9)
    async with TabClient(app, states=LEDGER, headers=_from("10.0.0.1")) as victim:
        assert victim.url is not None
        for _ in range(load(60)):  # three times the limit, no socket kept: every new tab evicts an idle state
            churn = TabClient(url=victim.url, states=LEDGER, headers=_from("10.6.6.6"))
            await churn.connect()
            await churn.disconnect()
        async with TabClient(url=victim.url, states=LEDGER, headers=_from("10.0.0.2")) as newcomer:
            assert (await newcomer.send(HardLedgerState.apply, "welcome"))["ok"]
        assert (await victim.send(HardLedgerState.apply, "still here"))["ok"]  # a connected tab is never evicted
        assert app.state_manager.stats()["tabs"] <= 20
        assert app.state_manager.stats()["evicted_for_room"] >= load(60) - 20


async def test_new_tabs_per_address_per_minute_are_limited_and_another_address_is_not(memory_apps):
    app = memory_apps(trusted_proxies=PROXY, new_tabs_per_client_per_minute=5)
    async with TabClient(app, states=LEDGER, headers=_from("10.0.0.9")) as first:
        assert first.url is not None
        for _ in range(4):
            again = TabClient(url=first.url, states=LEDGER, headers=_from("10.0.0.9"))
            await again.connect()
            await again.disconnect()
        errors, connected, client = await _raw_connect(first.url, _from("10.0.0.9"), {"states": []})
        await client.disconnect()
        assert not connected and errors and "setting new_tabs_per_client_per_minute=5" in errors[0]
        async with TabClient(url=first.url, states=LEDGER, headers=_from("10.0.0.10")) as other:
            assert (await other.send(HardLedgerState.apply, "fine"))["ok"]


async def test_sockets_per_address_are_limited(memory_apps):
    app = memory_apps(trusted_proxies=PROXY, max_connections_per_client=3)
    tabs = [TabClient(app, states=LEDGER, headers=_from("10.0.1.1")) for _ in range(3)]
    for tab in tabs:
        await tab.__aenter__()
    try:
        assert tabs[0].url is not None
        errors, connected, client = await _raw_connect(tabs[0].url, _from("10.0.1.1"), {"states": []})
        await client.disconnect()
        assert not connected and "setting max_connections_per_client=3" in errors[0]
        await tabs[0].disconnect()  # one goes: one may come
        errors, connected, client = await _raw_connect(tabs[0].url, _from("10.0.1.1"), {"states": []})
        await client.disconnect()
        assert connected and not errors
    finally:
        for tab in tabs:
            await tab.__aexit__(None, None, None)


async def test_events_per_address_are_summed_over_sockets_and_reconnecting_does_not_reset_them(memory_apps):
    # A low rate (2 events/s, a burst of 4), so that the time a reconnect takes on a loaded machine refills
    # less than a burst: a reconnect that reset the allowance would let a whole burst through at once.
    app = memory_apps(trusted_proxies=PROXY, client_events_per_second=2, events_per_second=1000,
                      max_bad_events=10_000)
    sockets = [TabClient(app, states=LEDGER, headers=_from("10.0.2.2")) for _ in range(4)]
    for tab in sockets:
        await tab.__aenter__()
    try:
        began = time.monotonic()
        acks = await asyncio.gather(*(tab.send(HardLedgerState.apply, f"op{i}-{n}")
                                      for n, tab in enumerate(sockets) for i in range(10)))
        accepted = sum(1 for ack in acks if ack["ok"])
        elapsed = time.monotonic() - began
        assert accepted <= 4 + 2 * elapsed + 1, (accepted, elapsed)  # burst (2x) plus the rate, not 4x that
        assert any("setting client_events_per_second=2" in ack.get("error", "") for ack in acks)
        spent = time.monotonic()
        await sockets[0].reconnect()
        again = await asyncio.gather(*(sockets[0].send(HardLedgerState.apply, f"again{i}") for i in range(4)))
        waited = time.monotonic() - spent
        assert waited < 1.5, f"the reconnect took {waited:.2f}s: too long to tell a reset allowance from a refilled one"
        # the allowance is the address's: only what refilled since the burst gets through, not a fresh burst of 4
        assert sum(1 for ack in again if ack["ok"]) <= 2 * waited + 1, (again, waited)
    finally:
        for tab in sockets:
            await tab.__aexit__(None, None, None)


@pytest.mark.load
async def test_a_flooding_client_gets_only_its_allowance_of_work_while_another_client_is_served(memory_apps):
    """Twenty sockets from one address flood events; a visitor from another address is served all along.

    What the flooder can make the server do is counted, not timed (times are
    the bench's): its events that ran while the quiet visitor sent 40 stay
    within its address's allowance (`client_events_per_second`, a burst of
    twice that), every other one is refused, and every event of the quiet
    visitor runs.
    """
    sockets = min(load(20), 400)
    rate = 50
    app = memory_apps(trusted_proxies=PROXY, max_connections_per_client=sockets, client_events_per_second=rate)
    ran: list[float] = []  # when each flooder event that the server ran was answered
    refused = 0

    async with TabClient(app, states=LEDGER, headers=_from("10.0.3.1")) as quiet:
        assert quiet.url is not None
        joined = [TabClient(url=quiet.url, states=LEDGER, headers=_from("10.6.6.7")) for _ in range(sockets)]
        for tab in joined:
            await tab.connect()
        _errors, connected, extra = await _raw_connect(quiet.url, _from("10.6.6.7"), {"states": []})
        await extra.disconnect()
        assert not connected  # the flooder gets no more than its sockets
        stop = asyncio.Event()

        async def hammer(tab: TabClient) -> None:
            nonlocal refused
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    event = {"id": f"f{n}", "name": HardLedgerState.apply.full_name, "args": [f"f{n}"]}
                    ack = await tab.send_raw(event, timeout=5)
                except Exception:  # closed for sending too many refused events: that is the point
                    return
                if ack.get("ok"):
                    ran.append(time.monotonic())
                else:
                    refused += 1

        hammers = [asyncio.create_task(hammer(tab)) for tab in joined]
        await asyncio.sleep(0.3)
        began = time.monotonic()
        for i in range(40):
            assert (await quiet.send(HardLedgerState.apply, f"rt{i}"))["ok"]
        ended = time.monotonic()
        stop.set()
        await asyncio.gather(*hammers)
        for tab in joined:
            await tab.disconnect()
        values = await server_values(app, quiet.token, HardLedgerState)
    during = [t for t in ran if began <= t <= ended]
    assert len(during) <= 2 * rate + rate * (ended - began) + 1, (len(during), ended - began)
    assert len(ran) <= 2 * rate + rate * (ended - began + 0.3 + 5) + 1  # over the whole flood, too
    assert refused > 0  # the flood did reach the limit
    assert values["applied"] == [f"rt{i}" for i in range(40)]  # the quiet visitor's tab: all of its events, in order


async def _page(scope: Any, receive: Any, send: Any) -> None:
    """The rest of a site behind the engine's ASGI app: one plain page."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"a page"})


@pytest.mark.parametrize("host,allowed", [("evil.example:8000", False), ("127.0.0.1:8000", True),
                                          ("localhost", True), ("[::1]:8000", True)])
async def test_only_the_servers_own_host_names_are_answered(host, allowed):
    app = rx.App()
    try:
        async with serve(app.asgi(_page)) as url:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"{url}/", headers={"Host": host, "Origin": f"http://{host}"})
            assert (response.status_code == 200) == allowed, response.text
            if not allowed:
                assert "allowed_hosts" in response.text
            _errors, connected, client = await _raw_connect(url, {"Host": host, "Origin": f"http://{host}"},
                                                           {"states": []})
            await client.disconnect()
            assert connected == allowed
    finally:
        await app.shutdown(timeout=1)


async def test_allowed_hosts_adds_names_and_a_star_allows_any():
    app = rx.App(allowed_hosts=("docs.example.org",))
    anywhere = rx.App(allowed_hosts=("*",))
    try:
        async with serve(app.asgi(_page)) as url, serve(anywhere.asgi(_page)) as open_url, \
                httpx.AsyncClient() as client:
            assert (await client.get(url, headers={"Host": "docs.example.org"})).status_code == 200
            assert (await client.get(url, headers={"Host": "localhost"})).status_code == 400
            assert (await client.get(open_url, headers={"Host": "anything.example"})).status_code == 200
    finally:
        await anywhere.shutdown(timeout=1)
        await app.shutdown(timeout=1)


async def test_a_client_id_longer_than_the_cap_is_not_kept(memory_apps):
    app = memory_apps()
    async with TabClient(app, states=LEDGER) as tab:
        assert tab.url is not None
        errors, connected, client = await _raw_connect(tab.url, {}, {"client": "x" * 60_000, "states": []})
        assert connected and not errors
        bound = [binding for binding in app.event_namespace.token_to_sid.entries.values() if binding.client]
        assert all(len(binding.client or "") <= 64 for binding in bound)
        await client.disconnect()


async def test_the_same_page_reconnecting_closes_its_old_socket(memory_apps):
    app = memory_apps()
    async with TabClient(app, states=LEDGER) as tab:
        old = tab._sio
        assert old is not None
        tab._sio = None  # the page opens a new socket before the server noticed the old one go
        await tab.connect()
        for _ in range(100):
            if not old.connected:
                break
            await asyncio.sleep(0.02)
        assert not old.connected
        assert len(app.event_namespace._connections) == 1
        assert (await tab.send(HardLedgerState.apply, "on the new socket"))["ok"]


async def test_an_engineio_close_packet_closes_the_socket(memory_apps):
    app = memory_apps()
    async with TabClient(app, states=LEDGER) as tab:
        assert tab._sio is not None
        await tab._sio.eio._send_packet(__import__("engineio").packet.Packet(1))  # CLOSE
        for _ in range(100):
            if not app.event_namespace._connections:
                break
            await asyncio.sleep(0.02)
        assert not app.event_namespace._connections
