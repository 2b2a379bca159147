"""Tabs and the wire: tokens, reconnects, duplicated tabs, deltas, errors."""

from __future__ import annotations

import asyncio
import base64
import logging
import re

import pytest

import engine as rx
from engine import protocol
from engine.testing import TabClient
from tests.engine.server_side import server_values
from tests.support.polling import eventually
from tests.support.tabs import RecordingTab


class SpecWireState(rx.State):
    a: int = 0
    b: int = 0
    maybe: list[int] | None = None
    anything: dict[str, list[int]] | None = None
    _hidden: int = 0

    def change_a_other_and_hidden(self):
        self.a += 1
        self._hidden += 1
        return SpecWireOtherState.set_x(2)

    async def change_two_states(self):
        self.a = 5
        other = await self.get_state(SpecWireOtherState)
        other.x = 6

    def nothing(self):
        pass

    def same_value(self):
        self.a = self.a
        self.b = 0 if self.b == 0 else self.b

    def grow_maybe(self, value: int):
        if self.maybe is None:
            self.maybe = []
        self.maybe.append(value)

    def grow_anything(self, key: str, value: int):
        if self.anything is None:
            self.anything = {}
        self.anything.setdefault(key, []).append(value)

    def grow_maybe_then_fail(self, value: int):
        self.maybe.append(value)
        raise RuntimeError("after an in-place change")

    def explode(self):
        self.a = 100
        return 1 / 0

    @rx.event(background=True)
    async def explode_later(self):
        await asyncio.sleep(0)
        raise KeyError("missing")


class SpecWireOtherState(rx.State):
    x: int = 0
    y: int = 0


# -- tokens -----------------------------------------------------------------------------------------


async def test_a_tab_token_is_random_and_has_at_least_128_bits(app):
    tokens = []
    for _ in range(5):
        async with TabClient(app) as tab:
            assert re.fullmatch(r"[A-Za-z0-9_-]+", tab.token)
            assert len(base64.urlsafe_b64decode(tab.token + "=" * (-len(tab.token) % 4))) * 8 >= 128
            assert tab.ticket != tab.token  # what the tab keeps is a signed ticket
            tokens.append(tab.token)
    assert len(set(tokens)) == len(tokens)


async def test_a_forged_or_tampered_ticket_gets_a_fresh_tab(app):
    async with TabClient(app) as tab:
        await tab.send(SpecWireState.set_a, 3)
        ticket, token = tab.ticket, tab.token
    for forged in [token, ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB"), "x.y.z"]:
        async with TabClient(app, ticket=forged) as other:
            assert other.token != token
            assert other.state(SpecWireState)["a"] == 0


async def test_the_token_survives_a_reconnect(app):
    async with TabClient(app) as tab:
        token = tab.token
        await tab.send(SpecWireState.set_a, 3)
        old_sid = app.event_namespace.token_to_sid[token]

        await tab.reconnect()

        assert tab.token == token
        assert tab.state(SpecWireState)["a"] == 3
        assert app.event_namespace.token_to_sid[token] != old_sid
        assert await tab.send(SpecWireState.set_a, 4) == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecWireState)["a"] == 4)


async def test_a_reloaded_tab_presenting_its_ticket_gets_its_state_back(app):
    async with TabClient(app) as tab:
        await tab.send(SpecWireState.set_a, 4)
        await tab.disconnect()
        await eventually(lambda: tab.token not in app.event_namespace.token_to_sid, what="the disconnect")

        async with TabClient(app, ticket=tab.ticket) as reloaded:
            assert reloaded.token == tab.token
            assert reloaded.state(SpecWireState)["a"] == 4


async def test_a_second_connection_with_a_live_ticket_gets_a_fresh_token(app):
    async with TabClient(app) as original:
        await original.send(SpecWireState.set_a, 5)
        async with TabClient(app, ticket=original.ticket) as duplicate:
            assert duplicate.token != original.token
            assert duplicate.state(SpecWireState)["a"] == 0
            sids = app.event_namespace.token_to_sid
            assert original.token in sids and duplicate.token in sids

            await duplicate.send(SpecWireState.set_a, 6)
            await original.send(SpecWireState.set_b, 1)
            await duplicate.wait_for(lambda t: t.state(SpecWireState)["a"] == 6)
            await original.wait_for(lambda t: t.state(SpecWireState)["b"] == 1)
            assert original.state(SpecWireState)["a"] == 5
            assert duplicate.state(SpecWireState)["b"] == 0


async def test_after_a_reconnect_the_tab_receives_its_full_current_state(app):
    async with RecordingTab(app) as tab:
        await tab.send(SpecWireState.set_a, 1)
        await tab.disconnect()
        async with app.modify_state(tab.token) as root:  # changes the tab cannot hear about
            root.get_substate(SpecWireState.get_full_name().split(".")).b = 7
            root.get_substate(SpecWireOtherState.get_full_name().split(".")).y = 8
        assert tab.state(SpecWireState)["b"] == 0

        await tab.connect()

        assert "full" in tab.updates[-1]
        assert tab.state(SpecWireState)["a"] == 1
        assert tab.state(SpecWireState)["b"] == 7
        assert tab.state(SpecWireOtherState)["y"] == 8


# -- deltas ---------------------------------------------------------------------------------------


async def test_a_delta_holds_only_the_changed_public_vars_of_each_state(app):
    async with RecordingTab(app) as tab:
        await tab.send(SpecWireState.change_two_states)
        await tab.wait_for(lambda t: t.state(SpecWireOtherState)["x"] == 6)
        assert tab.deltas() == [
            {SpecWireState.get_full_name(): {"a": 5}, SpecWireOtherState.get_full_name(): {"x": 6}}
        ]

        await tab.send(SpecWireState.change_a_other_and_hidden)  # and a chained setter of the other state
        await tab.wait_for(lambda t: t.state(SpecWireOtherState)["x"] == 2)
        assert tab.deltas()[1:] == [
            {SpecWireState.get_full_name(): {"a": 6}},
            {SpecWireOtherState.get_full_name(): {"x": 2}},
        ]


async def test_nothing_is_sent_when_nothing_changed(app):
    async with RecordingTab(app) as tab:
        seq, updates = tab.seq, len(tab.updates)
        for handler in (SpecWireState.nothing, SpecWireState.same_value):
            assert await tab.send(handler) == {"ok": True}
        assert await tab.send(SpecWireState.set_a, 0) == {"ok": True}
        async with app.modify_state(tab.token):
            pass

        await tab.send(SpecWireState.set_b, 1)
        await tab.wait_for(lambda t: t.state(SpecWireState)["b"] == 1)
        assert len(tab.updates) == updates + 1
        assert tab.seq == seq + 1


async def test_an_in_place_change_to_an_optional_container_var_is_sent(app):
    async with TabClient(app) as tab:
        await tab.send(SpecWireState.grow_maybe, 1)
        await tab.send(SpecWireState.grow_maybe, 2)
        await tab.send(SpecWireState.grow_anything, "k", 1)
        await tab.send(SpecWireState.grow_anything, "k", 2)
        await tab.wait_for(lambda t: t.state(SpecWireState)["anything"] == {"k": [1, 2]})
        assert tab.state(SpecWireState)["maybe"] == [1, 2]
        held = await server_values(app, tab.token, SpecWireState)
        assert (held["maybe"], held["anything"]) == ([1, 2], {"k": [1, 2]})


async def test_an_in_place_change_to_an_optional_container_var_is_undone_when_the_handler_fails(app):
    async with TabClient(app) as tab:
        await tab.send(SpecWireState.grow_maybe, 1)
        ack = await tab.send(SpecWireState.grow_maybe_then_fail, 2)
        assert ack["ok"] is False
        assert (await server_values(app, tab.token, SpecWireState))["maybe"] == [1]


async def test_updates_arrive_in_order_without_gaps(app):
    async with RecordingTab(app) as tab:
        await asyncio.gather(*(tab.send(SpecWireState.set_a, i) for i in range(1, 21)))
        await tab.wait_for(lambda t: t.state(SpecWireState)["a"] == 20)
        assert tab.values_of(SpecWireState, "a") == list(range(1, 21))
        seqs = [update["seq"] for update in tab.updates]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert tab.resyncs == 0


# -- failures ---------------------------------------------------------------------------------------


async def test_a_failing_handler_is_logged_reported_to_the_tab_and_the_server_keeps_serving(app, caplog):
    async with TabClient(app) as tab:
        with caplog.at_level(logging.ERROR, logger="engine"):
            ack = await tab.send(SpecWireState.explode)

        message = "SpecWireState.explode failed: ZeroDivisionError: division by zero"
        assert ack == {"ok": False, "error": message}
        assert tab.errors == [ack["error"]]
        logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ZeroDivisionError]
        assert len(logged) == 1
        assert "SpecWireState.explode" in logged[0].getMessage()
        assert "Traceback" in caplog.text and "1 / 0" in caplog.text
        assert (await server_values(app, tab.token, SpecWireState))["a"] == 0  # its change was discarded

        assert await tab.send(SpecWireState.set_a, 1) == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecWireState)["a"] == 1)
        async with TabClient(app) as another:
            assert await another.send(SpecWireState.set_a, 2) == {"ok": True}


async def test_a_failing_background_task_is_logged_and_reported_to_the_tab(app, caplog):
    async with TabClient(app) as tab:
        with caplog.at_level(logging.ERROR, logger="engine"):
            assert await tab.send(SpecWireState.explode_later) == {"ok": True}
            await tab.wait_for(lambda t: t.errors)

        assert tab.errors == ["SpecWireState.explode_later failed: KeyError: 'missing'"]
        assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
        assert await tab.send(SpecWireState.set_a, 1) == {"ok": True}


async def test_an_unknown_event_is_refused_with_a_clear_error(app):
    async with TabClient(app) as tab:
        ack = await tab.send_raw({"id": "e1", "name": "state.spec_wire_state.no_such_handler", "args": []})
        assert ack["ok"] is False and "no_such_handler" in ack["error"]
        ack = await tab.send_raw({"id": "e2", "name": "state.no_such_state.set_a", "args": []})
        assert ack["ok"] is False and "no_such_state" in ack["error"]
        ack = await tab.send_raw({"id": "e3", "name": "state.spec_wire_state.get_token", "args": []})
        assert ack["ok"] is False
        assert len(tab.errors) == 3
        assert await tab.send(SpecWireState.set_a, 1) == {"ok": True}


# -- how many states a tab shows ---------------------------------------------------------------

MANY_STATES = [type(f"SpecWireManyState{i}", (rx.State,), {"__annotations__": {"n": int}, "n": i}) for i in range(80)]


async def test_a_tab_showing_eighty_states_receives_every_one(app):
    """A page of many demos (or a test process with many states) gets all its states, not the first 64."""
    async with TabClient(app, states=[*MANY_STATES, SpecWireState]) as tab:
        assert [tab.state(cls)["n"] for cls in MANY_STATES] == list(range(80))
        assert tab.state(SpecWireState)["a"] == 0


async def test_a_tab_naming_more_states_than_the_limit_is_refused_and_says_so(app):
    names = [f"state.not_a_state_{i}" for i in range(protocol.MAX_STATES + 1)]
    with pytest.raises(ConnectionRefusedError, match=rf"at most {protocol.MAX_STATES} states at once.*named 1001"):
        async with TabClient(app, states=names):
            pass
    async with TabClient(app, states=[SpecWireState]) as tab:  # nothing was spoiled for the next tab
        assert tab.state(SpecWireState)["a"] == 0


async def test_a_resync_naming_too_many_states_is_refused_and_the_tab_keeps_its_states(app):
    async with TabClient(app, states=[SpecWireState]) as tab:
        names = [SpecWireState.get_full_name()] * (protocol.MAX_STATES + 1)
        await tab._sio.emit(protocol.RESYNC, {"states": names}, namespace=protocol.NAMESPACE)  # as a broken page would
        await tab.wait_for(lambda t: t.errors)
        assert "at most 1000 states" in tab.errors[0]
        assert await tab.send(SpecWireState.set_a, 9) == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecWireState)["a"] == 9)
