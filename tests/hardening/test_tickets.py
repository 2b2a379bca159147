"""Defence 2: tab tickets are signed and aged; a bad one gets a fresh tab, never someone else's."""

from __future__ import annotations

import time

import pytest
import socketio

from engine.protocol import NAMESPACE
from engine.socket import TicketSigner
from engine.testing import TabClient
from tests.hardening.ledger import Ledger
from tests.hardening.states import HardLedgerState

STATES = [HardLedgerState]


async def _victim(app, ledger: Ledger) -> TabClient:
    """A tab with some state of its own (count = 3), still connected."""
    tab = TabClient(app, states=STATES)
    await tab.__aenter__()
    for _ in range(3):
        await ledger.send(tab)
    assert tab.state(HardLedgerState)["count"] == 3
    return tab


def _forgeries(app, token: str) -> dict[str, object]:
    now = time.time()
    real = app.tickets.issue(token)
    tab_id, issued, signature = real.split(".")
    return {
        "missing": None,
        "garbage": "not a ticket",
        "bare token": token,
        "forged signature": f"{tab_id}.{issued}.{'A' * len(signature)}",
        "other key": TicketSigner("someone else's key", app.settings.token_max_age).issue(token),
        "expired": app.tickets.issue(token, now=now - app.settings.token_max_age - 5),
        "from the future": app.tickets.issue(token, now=now + 3600),
        "re-dated": f"{tab_id}.{format(int(now) + 1, 'x')}.{signature}",
        "non-ascii": f"{tab_id}.{issued}.{signature[:-1]}é",
        "not a string": {"token": real},
        "too long": real + "." * 200,
    }


async def test_forged_expired_or_missing_tickets_get_a_fresh_tab(make_app):
    app = make_app()
    ledger = Ledger(app)
    victim = await _victim(app, ledger)
    try:
        for label, ticket in _forgeries(app, victim.token).items():
            async with TabClient(app, states=STATES, ticket=ticket) as intruder:  # type: ignore[arg-type]
                assert intruder.token != victim.token, label
                assert intruder.state(HardLedgerState)["count"] == 0, label
                await ledger.send(intruder)  # it can only act on its own fresh state
        await ledger.verify([victim])
        assert (await ledger.server_values(victim.token))["count"] == 3
        assert victim.errors == []
    finally:
        await victim.__aexit__(None, None, None)


async def test_an_expired_ticket_of_a_gone_tab_does_not_bring_its_state_back(make_app):
    app = make_app(token_max_age=60)
    ledger = Ledger(app)
    victim = await _victim(app, ledger)
    token = victim.token
    await victim.__aexit__(None, None, None)
    old = app.tickets.issue(token, now=time.time() - 61)
    async with TabClient(app, states=STATES, ticket=old) as late:
        assert late.token != token and late.state(HardLedgerState)["count"] == 0
    fresh = app.tickets.issue(token)  # the same tab with a valid ticket: its state is still there
    async with TabClient(app, states=STATES, ticket=fresh) as back:
        assert back.token == token and back.state(HardLedgerState)["count"] == 3


async def test_a_second_client_reusing_a_live_ticket_gets_a_fresh_tab(make_app):
    app = make_app()
    ledger = Ledger(app)
    victim = await _victim(app, ledger)
    try:
        # Another page (a duplicated browser tab, or someone who copied the ticket).
        async with TabClient(app, states=STATES, ticket=victim.ticket) as copy:
            assert copy.token != victim.token
            assert copy.state(HardLedgerState)["count"] == 0
            await ledger.send(copy)
            await ledger.verify([victim, copy])
        # The original tab is untouched and still bound to its socket.
        await ledger.send(victim)
        await ledger.verify([victim])
        assert (await ledger.server_values(victim.token))["count"] == 4
    finally:
        await victim.__aexit__(None, None, None)


async def test_the_same_page_reconnecting_keeps_its_tab(make_app):
    # The positive control for the test above: the same page (same client id) gets its tab back.
    app = make_app()
    ledger = Ledger(app)
    tab = await _victim(app, ledger)
    try:
        token = tab.token
        await tab.reconnect()
        assert tab.token == token and tab.state(HardLedgerState)["count"] == 3
    finally:
        await tab.__aexit__(None, None, None)


async def test_a_token_inside_an_event_payload_is_ignored(make_app):
    app = make_app()
    ledger = Ledger(app)
    victim = await _victim(app, ledger)
    try:
        async with TabClient(app, states=STATES) as attacker:
            op = ledger.new_op(attacker)
            payload = {
                "id": "x1", "name": HardLedgerState.apply.full_name, "args": [op],
                "token": victim.token, "ticket": victim.ticket, "tab": victim.token, "sid": victim.token,
            }
            ledger.record(op, await attacker.send_raw(payload))
            applied = await ledger.verify([victim, attacker])
            assert applied[attacker.token] == [op]  # it acted on its own tab only
        assert victim.errors == []
    finally:
        await victim.__aexit__(None, None, None)


@pytest.mark.parametrize("auth", [None, "a string", ["a", "list"], {"token": 7, "states": "x", "client": 1}])
async def test_malformed_auth_still_gets_a_fresh_tab(memory_app, auth):
    from engine.testing import serve

    async with serve(memory_app.asgi()) as url:
        client = socketio.AsyncClient(reconnection=False)
        hello: list[dict] = []
        client.on("hello", lambda data: hello.append(data), namespace=NAMESPACE)
        await client.connect(url, namespaces=[NAMESPACE], transports=["websocket"], auth=auth, wait_timeout=5)
        try:
            for _ in range(100):
                if hello:
                    break
                await client.sleep(0.02)
            assert hello and memory_app.tickets.verify(hello[0]["token"]) is not None
        finally:
            await client.disconnect()
